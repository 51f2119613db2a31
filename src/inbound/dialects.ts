// Entry point of the inbound core: request in, one InboundMessage out (or an InboundError).
//
// Detection (first match wins; `?format=<dialect>` skips it, `?format=auto` is the default):
//   1. apprise      — `version` is a string and `message` is present, no `text`
//   2. matterbridge — `Extra` or `gateway` present (always in Matterbridge API messages)
//   3. nextbridge   — `channel` is an object (NextBridge passes the rule's channel dict)
//   4. discord      — `content` present, or `embeds` without `text`
//   5. rocketchat   — a key only Rocket.Chat reads: tmid, roomId, msg, alias, avatar, emoji,
//                     customFields, parseUrls, groupable
//   6. slack        — thread_ts, icon_emoji, blocks, mrkdwn, unfurl_links, unfurl_media,
//                     link_names or reply_broadcast present
//   7. rocketchat   — `text` or `attachments` present
//   otherwise 400 "unrecognized payload".
// Form-wrapped bodies (`payload=<json>`, `payload_json`) are unwrapped first, then detected.

import { InboundError } from './errors';
import { decodeBody } from './body';
import { FieldReader, hasOwn, isPlainObject, ownValue, ParseContext, readId } from './values';
import { firstDefined, parseDestination, ParsedMessage } from './dialects/common';
import { parseRocketChat } from './dialects/rocketchat';
import { parseSlack } from './dialects/slack';
import { parseDiscord } from './dialects/discord';
import { parseNextBridge } from './dialects/nextbridge';
import { parseMatterbridge } from './dialects/matterbridge';
import { parseApprise } from './dialects/apprise';
import { DEFAULT_LIMITS, DIALECTS } from './types';
import type { InboundRequest } from './request';
import type { Dialect, InboundDestination, InboundLimits, InboundMessage } from './types';

/** PUT/PATCH carry an edit, DELETE a removal; the endpoint decides what they mean. */
const ALLOWED_METHODS = ['post', 'put', 'patch', 'delete'];
const ROCKETCHAT_ONLY_KEYS = ['tmid', 'roomId', 'msg', 'alias', 'avatar', 'emoji', 'customFields', 'parseUrls', 'groupable'];
const SLACK_KEYS = ['thread_ts', 'icon_emoji', 'blocks', 'mrkdwn', 'unfurl_links', 'unfurl_media', 'link_names', 'reply_broadcast'];

const PARSERS: Record<Dialect, (fields: FieldReader, req: InboundRequest) => ParsedMessage> = {
    rocketchat: parseRocketChat,
    slack: parseSlack,
    discord: parseDiscord,
    nextbridge: parseNextBridge,
    matterbridge: parseMatterbridge,
    apprise: parseApprise,
};

/** Which dialect an (unwrapped) body is, by the documented rules; undefined when none fits. */
export function detectDialect(body: unknown): Dialect | undefined {
    if (!isPlainObject(body)) {
        return undefined;
    }
    const present = (key: string) => hasOwn(body, key) && body[key] !== null && body[key] !== undefined;
    if (typeof ownValue(body, 'version') === 'string' && hasOwn(body, 'message') && !present('text')) {
        return 'apprise';
    }
    if (hasOwn(body, 'Extra') || present('gateway')) {
        return 'matterbridge';
    }
    if (isPlainObject(ownValue(body, 'channel'))) {
        return 'nextbridge';
    }
    if (present('content') || (present('embeds') && !present('text'))) {
        return 'discord';
    }
    if (ROCKETCHAT_ONLY_KEYS.some(present)) {
        return 'rocketchat';
    }
    if (SLACK_KEYS.some(present)) {
        return 'slack';
    }
    if (present('text') || present('attachments')) {
        return 'rocketchat';
    }
    return undefined;
}

/** The dialect forced with `?format=`, undefined for auto-detection. */
export function forcedDialect(req: InboundRequest): Dialect | undefined {
    const format = ownValue(req.query, 'format');
    if (format === undefined || format === '' || format === 'auto') {
        return undefined;
    }
    const name = typeof format === 'string' ? format.toLowerCase() : '';
    if ((DIALECTS as string[]).indexOf(name) < 0) {
        throw new InboundError(400, `must be one of auto, ${DIALECTS.join(', ')}`, 'query.format');
    }
    return name as Dialect;
}

/**
 * Parses an inbound request into one InboundMessage. Throws only InboundError: 400 for a bad or
 * unrecognized payload, 405 for a method other than POST/PUT/PATCH/DELETE, 413 for anything over
 * `limits`, 415 for an unsupported content type, 422 for a well-formed event that is not a message.
 * DELETE may have an empty body and never needs text.
 */
export function parseInbound(req: InboundRequest, limits: Partial<InboundLimits> = {}): InboundMessage {
    try {
        return parseUnguarded(req, resolveLimits(limits));
    } catch (error) {
        if (error instanceof InboundError) {
            throw error;
        }
        // A bug, not the sender's fault; still never let a foreign exception escape.
        throw new InboundError(500, `internal error while parsing (${error instanceof Error ? error.name : 'unknown'})`);
    }
}

export function resolveLimits(limits: Partial<InboundLimits>): InboundLimits {
    const out: InboundLimits = { ...DEFAULT_LIMITS };
    for (const key of Object.keys(DEFAULT_LIMITS) as Array<keyof InboundLimits>) {
        const value = limits[key];
        if (typeof value === 'number' && value > 0) {
            out[key] = value;
        }
    }
    return out;
}

function parseUnguarded(req: InboundRequest, limits: InboundLimits): InboundMessage {
    const method = typeof req.method === 'string' ? req.method.toLowerCase() : '';
    if (ALLOWED_METHODS.indexOf(method) < 0) {
        throw new InboundError(405, `method ${method.toUpperCase() || '(none)'} is not allowed; use POST`);
    }
    const isDelete = method === 'delete';
    const forced = forcedDialect(req);
    const ctx: ParseContext = { limits, warnings: [] };
    if (isDelete && isEmptyBody(req.body)) {
        // DELETE usually names the message in the query only; there is nothing else to read.
        return { dialect: forced || 'rocketchat', text: '', destinations: [], attachments: [], rcAttachments: [], warnings: ctx.warnings };
    }
    const { body } = decodeBody(req, limits);
    const dialect = forced || detectDialect(body) || (isDelete ? 'rocketchat' : undefined);
    if (dialect === undefined) {
        throw new InboundError(400, 'unrecognized payload: expected a Rocket.Chat, Slack, Discord, NextBridge, Matterbridge or Apprise message', 'body');
    }
    const fields = new FieldReader(body, '', ctx);
    const parsed = PARSERS[dialect](fields, req);
    return finish(dialect, parsed, fields, req, ctx, !isDelete);
}

function isEmptyBody(body: unknown): boolean {
    return body === undefined || body === null || body === '' || (isPlainObject(body) && Object.keys(body).length === 0);
}

function finish(dialect: Dialect, parsed: ParsedMessage, fields: FieldReader, req: InboundRequest, ctx: ParseContext, requireContent: boolean): InboundMessage {
    const { limits } = ctx;
    const text = parsed.text.trim();
    if (text.length > limits.maxTextLength) {
        throw new InboundError(413, `${text.length} characters exceeds the limit of ${limits.maxTextLength}`, 'text');
    }
    if (parsed.attachments.length > limits.maxAttachments) {
        throw new InboundError(413, `more than ${limits.maxAttachments} files`, 'attachments');
    }
    if (parsed.rcAttachments.length > limits.maxAttachments) {
        throw new InboundError(413, `more than ${limits.maxAttachments} attachments`, 'attachments');
    }
    if (requireContent && text === '' && parsed.attachments.length === 0 && parsed.rcAttachments.length === 0) {
        throw new InboundError(400, 'message is empty: no text, attachments or files', 'text');
    }
    let destinations = parsed.destinations;
    // Senders that cannot put a room in the body (Apprise json://, plain Discord clients) may use ?channel=.
    const queryChannel = ownValue(req.query, 'channel');
    if (destinations.length === 0 && typeof queryChannel === 'string' && queryChannel !== '') {
        const id = readId(queryChannel, 'query.channel', ctx);
        destinations = id === undefined ? [] : [parseDestination(id.trim(), 'query.channel', false)];
    }
    const message: InboundMessage = {
        ...parsed,
        dialect,
        text,
        destinations: uniqueDestinations(destinations),
        // Any dialect may carry the sender's own id for later edits/deletes.
        externalId: parsed.externalId !== undefined ? parsed.externalId : firstDefined(fields.id('id'), fields.id('message_id')),
        warnings: ctx.warnings,
    };
    // Matterbridge's `event` means something else and is read by its own parser.
    const event = dialect === 'matterbridge' ? undefined : fields.raw('event');
    if (event === 'edited' || event === 'deleted') {
        message.event = event;
    }
    const token = fields.raw('token');
    if (typeof token === 'string') {
        message.token = readId(token, 'token', ctx);
    }
    for (const key of Object.keys(message) as Array<keyof InboundMessage>) {
        if (message[key] === undefined) {
            delete message[key];
        }
    }
    return message;
}

function uniqueDestinations(destinations: InboundDestination[]): InboundDestination[] {
    const seen: string[] = [];
    return destinations.filter((destination) => {
        const key = JSON.stringify(destination);
        if (seen.indexOf(key) >= 0) {
            return false;
        }
        seen.push(key);
        return true;
    });
}
