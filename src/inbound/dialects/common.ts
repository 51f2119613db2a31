// Pieces several dialects share: Rocket.Chat destination grammar, Rocket.Chat attachment
// validation, avatar/emoji selection. A dialect parser returns a ParsedMessage; dialects.ts adds
// `dialect`, `warnings`, and the final limits.

import { InboundError } from '../errors';
import { safeAvatarUrl } from '../avatar';
import { childPath, FieldReader, ParseContext, readId } from '../values';
import type { InboundDestination, InboundMessage, RcAttachment, RcAttachmentField } from '../types';

export type ParsedMessage = Omit<InboundMessage, 'dialect' | 'warnings'>;

/** Most destinations one message may name (Rocket.Chat posts once per destination). */
export const MAX_DESTINATIONS = 25;
/** Most fields in one attachment/embed (Discord allows 25). */
export const MAX_ATTACHMENT_FIELDS = 25;

export function emptyMessage(): ParsedMessage {
    return { text: '', destinations: [], attachments: [], rcAttachments: [] };
}

/** `#name` → room name, `@user` → DM, anything else → id or name (Rocket.Chat tries both). */
export function parseDestination(value: string, path: string, bareMeansId: boolean): InboundDestination {
    const prefix = value[0];
    const rest = value.slice(1).trim();
    if (prefix === '#' || prefix === '@') {
        if (rest === '') {
            throw new InboundError(400, `"${value}" names no room or user`, path);
        }
        return prefix === '#' ? { roomName: rest } : { username: rest };
    }
    return bareMeansId ? { roomId: value } : { nameOrId: value };
}

/** Reads `channel`/`roomId`-style fields: a string or an array of strings. */
export function readDestinations(fields: FieldReader, key: string, bareMeansId: boolean): InboundDestination[] {
    const value = fields.raw(key);
    if (value === undefined) {
        return [];
    }
    const path = fields.pathOf(key);
    const items = Array.isArray(value) ? value : [value];
    if (items.length > MAX_DESTINATIONS) {
        throw new InboundError(413, `more than ${MAX_DESTINATIONS} destinations`, path);
    }
    const out: InboundDestination[] = [];
    for (let i = 0; i < items.length; i++) {
        const itemPath = Array.isArray(value) ? childPath(path, i) : path;
        if (typeof items[i] !== 'string') {
            throw new InboundError(400, 'must be a string', itemPath);
        }
        const id = readId(items[i], itemPath, fields.ctx);
        if (id !== undefined) {
            out.push(parseDestination(id.trim(), itemPath, bareMeansId));
        }
    }
    return out;
}

/** Rocket.Chat avatar rule: an avatar URL wins over an emoji; an unusable URL is dropped, not fatal. */
export function chooseAvatar(message: ParsedMessage, ctx: ParseContext, avatar: { url?: string; path: string }, emoji: { value?: string; path: string }): void {
    if (avatar.url !== undefined) {
        const safe = safeAvatarUrl(avatar.url);
        if (safe !== undefined) {
            message.avatarUrl = safe;
            return;
        }
        ctx.warnings.push(`${avatar.path}: avatar ignored (must be a public https URL)`);
    }
    if (emoji.value !== undefined) {
        const normalized = normalizeEmoji(emoji.value);
        if (normalized !== undefined) {
            message.emoji = normalized;
        } else {
            ctx.warnings.push(`${emoji.path}: emoji ignored (expected :name:)`);
        }
    }
}

/** `:name:` as Rocket.Chat wants it; a bare `name` gets its colons. */
export function normalizeEmoji(value: string): string | undefined {
    const trimmed = value.trim();
    if (/^:[A-Za-z0-9_+-]+:$/.test(trimmed)) {
        return trimmed;
    }
    return /^[A-Za-z0-9_+-]+$/.test(trimmed) ? `:${trimmed}:` : undefined;
}

const RC_TEXT_KEYS: Array<keyof RcAttachment> = ['text', 'pretext'];
const RC_LINE_KEYS: Array<keyof RcAttachment> = ['color', 'author_name', 'title'];
const RC_URL_KEYS: Array<keyof RcAttachment> = ['thumb_url', 'message_link', 'author_link', 'author_icon', 'title_link', 'image_url', 'audio_url', 'video_url'];
const RC_KNOWN_KEYS = ['msg', 'ts', 'collapsed', 'title_link_download', 'fields', 'fallback'].concat(RC_TEXT_KEYS, RC_LINE_KEYS, RC_URL_KEYS);

/**
 * Validates Rocket.Chat (and Slack-compatible) message attachments and copies the known fields.
 * Anything else (`actions` buttons, nested attachments…) is dropped with a warning: buttons that
 * post messages as the clicking user are not something an outside sender should get to create.
 */
export function readRcAttachments(fields: FieldReader, key: string, convertText: (text: string) => string = (text) => text): RcAttachment[] {
    const items = fields.array(key);
    if (items === undefined) {
        return [];
    }
    const ctx = fields.ctx;
    const path = fields.pathOf(key);
    if (items.length > ctx.limits.maxAttachments) {
        throw new InboundError(413, `more than ${ctx.limits.maxAttachments} attachments`, path);
    }
    const out: RcAttachment[] = [];
    items.forEach((item, index) => {
        const itemPath = childPath(path, index);
        const attachment = FieldReader.of(item, itemPath, ctx);
        const copy: RcAttachment = {};
        for (const textKey of RC_TEXT_KEYS) {
            const value = attachment.text(textKey);
            if (value !== undefined) {
                (copy as Record<string, unknown>)[textKey] = convertText(value);
            }
        }
        // Rocket.Chat moves `msg` into `text`; Slack's `fallback` is the plain version of the same.
        if (copy.text === undefined) {
            const alternative = attachment.text('msg') || attachment.text('fallback');
            if (alternative !== undefined) {
                copy.text = convertText(alternative);
            }
        }
        for (const lineKey of RC_LINE_KEYS) {
            const value = attachment.line(lineKey);
            if (value !== undefined) {
                (copy as Record<string, unknown>)[lineKey] = value;
            }
        }
        for (const urlKey of RC_URL_KEYS) {
            const value = attachment.url(urlKey);
            if (value !== undefined) {
                (copy as Record<string, unknown>)[urlKey] = value;
            }
        }
        const ts = attachment.raw('ts');
        if (ts !== undefined) {
            // Slack sends epoch seconds (number or string), Rocket.Chat an ISO date.
            copy.ts = readId(ts, attachment.pathOf('ts'), ctx);
        }
        copy.collapsed = attachment.bool('collapsed');
        copy.title_link_download = attachment.bool('title_link_download');
        const fieldList = readAttachmentFields(attachment, 'fields', convertText);
        if (fieldList.length > 0) {
            copy.fields = fieldList;
        }
        for (const other of Object.keys(attachment.obj)) {
            if (RC_KNOWN_KEYS.indexOf(other) < 0 && attachment.has(other)) {
                ctx.warnings.push(`${attachment.pathOf(other)}: not supported, dropped`);
            }
        }
        out.push(removeUndefined(copy));
    });
    return out;
}

function readAttachmentFields(attachment: FieldReader, key: string, convertText: (text: string) => string): RcAttachmentField[] {
    const items = attachment.array(key);
    if (items === undefined) {
        return [];
    }
    const path = attachment.pathOf(key);
    if (items.length > MAX_ATTACHMENT_FIELDS) {
        throw new InboundError(413, `more than ${MAX_ATTACHMENT_FIELDS} fields`, path);
    }
    return items.map((item, index) => {
        const field = FieldReader.of(item, childPath(path, index), attachment.ctx);
        const out: RcAttachmentField = { title: field.line('title') || '', value: convertText(field.text('value') || '') };
        const short = field.bool('short');
        if (short !== undefined) {
            out.short = short;
        }
        return out;
    });
}

export function removeUndefined<T extends object>(value: T): T {
    for (const key of Object.keys(value)) {
        if ((value as Record<string, unknown>)[key] === undefined) {
            delete (value as Record<string, unknown>)[key];
        }
    }
    return value;
}

/** First defined value, for "this field, else that one" precedence rules. */
export function firstDefined<T>(...values: Array<T | undefined>): T | undefined {
    for (const value of values) {
        if (value !== undefined) {
            return value;
        }
    }
    return undefined;
}
