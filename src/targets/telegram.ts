// Telegram through the Bot API (`POST {api_url}/bot{token}/{method}`), text as HTML
// (`parse_mode: "HTML"`). A bot has no per-message identity: the name starts the text
// (`<b>Name</b>: …`), on every part of a split message.
//
// Files with bytes go up as multipart `sendPhoto` (JPEG/PNG/WebP up to 10 MB) or `sendDocument`
// (up to 50 MB); the first one carries the text as its caption when it fits the 1024-character
// caption limit, otherwise the text goes first as messages. Other files are links in the text.
//
// Threads: forum topics come from the rule channel's (or the instance's) `message_thread_id`;
// a Rocket.Chat thread reply answers the mapped parent with `reply_parameters`.
//
// Remote id: "chatId/messageId", with "/caption" for an upload that carries the text and
// "/media" for other uploads, so edits use editMessageCaption or leave the file alone. Edits
// report no ids: the message map keeps every part, including files.

import { ConfigError } from '../core/errors';
import type { HttpResult, MultipartPart, OutboundRequest } from '../core/http';
import { parseJsonBody } from '../core/http';
import { escapeHtml, neutraliseMentions, splitText, toHtml, truncateText } from '../core/text';
import {
    fileMarkdown, decodeUrlPart, fitChunksToParts, isSuccessStatus, optionalBoolean, optionalString, originOf, pathSegments, queryValue,
    responseError,
    requestsForEvent,
} from './common';
import type { DeliveryInput, OutboundFile, TargetAdapter, UrlInstance } from '../core/adapter';

export interface TelegramConfig {
    /** `123456789:AA…` as BotFather gives it. */
    botToken: string;
    /**
     * Numeric chat id (groups are negative) or `@channelusername`; the rule channel's `chat_id`
     * wins. Undefined: every rule channel names one (a URL naming several chats fans out).
     */
    chatId?: string;
    /** Forum topic; the rule channel's `message_thread_id` wins. */
    messageThreadId?: string;
    /** Bot API server, default https://api.telegram.org (a local Bot API server also works). */
    apiUrl: string;
    /** false (the default, as Apprise): `link_preview_options.is_disabled`. */
    linkPreview: boolean;
    /** Sends with `disable_notification`. */
    silent: boolean;
}

const MAX_TEXT = 4096;
const MAX_CAPTION = 1024;
const MAX_NAME = 128;
const MAX_PHOTO_SIZE = 10 * 1024 * 1024;
const MAX_DOCUMENT_SIZE = 50 * 1024 * 1024;
const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp'];
const DEFAULT_API_URL = 'https://api.telegram.org';
const BOT_TOKEN = /^(?:bot)?(\d+:[\w-]+)$/;
const CHAT_ID = /^(?:-?\d{1,20}|@[A-Za-z]\w*)$/;
const TOPIC_ID = /^\d+$/;

function parseConfig(raw: Record<string, unknown>): TelegramConfig {
    const token = optionalString(raw, 'bot_token');
    const tokenMatch = token ? BOT_TOKEN.exec(token) : null;
    if (!tokenMatch) {
        throw new ConfigError('bot_token', token ? 'must look like 123456789:AAH… (as BotFather gives it)' : 'is required (from BotFather)');
    }
    const chatId = optionalString(raw, 'chat_id');
    if (chatId !== undefined && !CHAT_ID.test(chatId)) {
        throw new ConfigError('chat_id', `must be a numeric chat id or @channelusername, got "${chatId}"`);
    }
    const messageThreadId = optionalString(raw, 'message_thread_id');
    if (messageThreadId !== undefined && !TOPIC_ID.test(messageThreadId)) {
        throw new ConfigError('message_thread_id', `must be a numeric forum topic id, got "${messageThreadId}"`);
    }
    const apiUrl = (optionalString(raw, 'api_url') || DEFAULT_API_URL).replace(/\/+$/, '');
    // http only for loopback: a local Bot API server or a stand-in (tests, the local host's demo sinks).
    if (!/^(?:https:\/\/[^/?#@]+|http:\/\/(?:localhost|127\.0\.0\.1)(?::\d+)?)(?:\/[^?#]*)?$/.test(apiUrl)) {
        throw new ConfigError('api_url', `must be an https URL (http only for localhost), got "${apiUrl}"`);
    }
    const linkPreview = optionalBoolean(raw, 'link_preview');
    return {
        botToken: tokenMatch[1],
        chatId,
        messageThreadId,
        apiUrl,
        linkPreview: linkPreview === true,
        silent: optionalBoolean(raw, 'silent') || false,
    };
}

/** `-100123`, `@name` or Apprise's bare `name`, optionally with `:topic`. */
function splitChatTarget(target: string): { chatId: string; topic?: string } {
    const match = /^(-?\d+|@?[A-Za-z][\w]*)(?::(\d+))?$/.exec(target);
    if (!match) {
        throw new ConfigError('targets', `"${target}" is not a chat id or @channelusername`);
    }
    const chatId = /^-?\d+$/.test(match[1]) || match[1].charAt(0) === '@' ? match[1] : `@${match[1]}`;
    return { chatId, topic: match[2] };
}

/** A chat for every rule channel: its own `chat_id`, or the instance's. */
function checkChannel(config: TelegramConfig, channel: Record<string, string>): void {
    if (channel.chat_id !== undefined && !CHAT_ID.test(channel.chat_id)) {
        throw new ConfigError('chat_id', `must be a numeric chat id or @channelusername, got "${channel.chat_id}"`);
    }
    if (!channel.chat_id && !config.chatId) {
        throw new ConfigError('chat_id', 'is missing: the instance names no chat, so the rule channel must ({ "chat_id": "-100…" })');
    }
}

/**
 * tgram://[{botname}@]{bot_token}/{chat_id}[:topic][/{chat_id}…][?to=…&topic=…&silent=yes&preview=yes].
 * The token's `:` may stay (a non-numeric port is read as a token), be written %3A or as `/`, as
 * in Apprise. Several chats: one destination each. No chat: every rule channel names one
 * (Apprise would ask the Bot API for the bot owner's chat; we do not guess).
 */
function fromUrl(url: URL): UrlInstance {
    const host = decodeUrlPart(url.hostname);
    const segments = pathSegments(url);
    let token = host;
    if (host.indexOf(':') < 0 && segments.length > 0 && /^(?:bot)?\d+$/.test(host)) {
        token = `${host}:${segments.shift()}`;
    }
    if (!BOT_TOKEN.test(token)) {
        throw new ConfigError('bot_token', 'expected tgram://{bot_token}/{chat_id}, with the token\'s ":" written as %3A');
    }
    const extraTargets = queryValue(url, 'to');
    if (extraTargets) {
        extraTargets.split(/[\s,]+/).filter((target) => target).forEach((target) => segments.push(target));
    }
    const topic = queryValue(url, 'topic', 'thread');
    if (topic !== undefined && !TOPIC_ID.test(topic)) {
        throw new ConfigError('topic', `must be a numeric forum topic id, got "${topic}"`);
    }
    const content = queryValue(url, 'content');
    if (content !== undefined && ['before', 'after'].indexOf(content.toLowerCase()) < 0) {
        throw new ConfigError('content', `must be before or after, got "${content}"`);
    }
    const destinations = segments.map((segment) => {
        const target = splitChatTarget(segment);
        const destination: Record<string, string> = { chat_id: target.chatId };
        if (target.topic || topic) {
            destination.message_thread_id = (target.topic || topic) as string;
        }
        return destination;
    });
    const raw: Record<string, unknown> = { bot_token: token.replace(/^bot/, '') };
    const silent = queryValue(url, 'silent');
    if (silent !== undefined) {
        raw.silent = silent;
    }
    const preview = queryValue(url, 'preview');
    if (preview !== undefined) {
        raw.link_preview = preview;
    }
    return { config: raw, destinations };
}

// ---------------------------------------------------------------------------------------------
// Remote ids

export interface TelegramRemoteId {
    chatId: string;
    messageId: number;
    /** `text`: a message; `caption`: an upload carrying the text; `media`: another upload. */
    kind: 'text' | 'caption' | 'media';
}

export function decodeRemoteId(remoteId: string): TelegramRemoteId {
    const parts = remoteId.split('/');
    const kind = parts[2] === 'caption' || parts[2] === 'media' ? parts[2] : 'text';
    return { chatId: parts[0], messageId: Number(parts[1]), kind };
}

// ---------------------------------------------------------------------------------------------
// Requests

function chatFor(input: DeliveryInput<TelegramConfig>): string {
    return input.channel.chat_id || input.config.chatId || '';
}

/** Numeric ids as numbers, as the Bot API documents them; @usernames stay strings. */
function chatValue(chatId: string): number | string {
    return /^-?\d+$/.test(chatId) && Math.abs(Number(chatId)) <= Number.MAX_SAFE_INTEGER ? Number(chatId) : chatId;
}

function uploadMethod(file: OutboundFile): { method: 'sendPhoto' | 'sendDocument'; field: 'photo' | 'document' } | undefined {
    const size = file.bytes ? file.bytes.length : file.size;
    if (PHOTO_TYPES.indexOf(file.mimeType.toLowerCase()) >= 0 && size <= MAX_PHOTO_SIZE) {
        return { method: 'sendPhoto', field: 'photo' };
    }
    return size <= MAX_DOCUMENT_SIZE ? { method: 'sendDocument', field: 'document' } : undefined;
}

/** Uploaded when the bytes came along (for edits: could have, judged by size) and fit the limits. */
function isUpload(file: OutboundFile, needBytes: boolean): boolean {
    return (!needBytes || file.bytes !== undefined) && uploadMethod(file) !== undefined;
}

/** Rocket.Chat markdown of the text, with links for the files that are not uploaded. */
function sourceText(input: DeliveryInput<TelegramConfig>, needBytes: boolean): string {
    const links = input.files
        .filter((file) => !isUpload(file, needBytes))
        .map(fileMarkdown);
    return [neutraliseMentions(input.rendered.text)].concat(links).filter((line) => line.trim().length > 0).join('\n');
}

/** The name as shown, cut so that it always leaves room for text (and fits a caption). */
function nameOf(input: DeliveryInput<TelegramConfig>): string {
    return truncateText(input.rendered.alias.trim(), MAX_NAME);
}

function namePrefix(input: DeliveryInput<TelegramConfig>): { html: string; length: number } {
    const name = nameOf(input);
    return name ? { html: `<b>${escapeHtml(name)}</b>: `, length: name.length + 2 } : { html: '', length: 0 };
}

/** The caption of an upload that does not carry the text: just the name. */
function nameCaption(input: DeliveryInput<TelegramConfig>): string {
    const name = nameOf(input);
    return name ? `<b>${escapeHtml(name)}</b>` : '';
}

function commonFields(input: DeliveryInput<TelegramConfig>): Record<string, unknown> {
    const fields: Record<string, unknown> = { chat_id: chatValue(chatFor(input)) };
    const topic = input.channel.message_thread_id || input.config.messageThreadId;
    if (topic) {
        fields.message_thread_id = Number(topic);
    }
    if (input.remoteThreadId) {
        // Same target, same chat as the parent. A deleted parent must not make the reply fail.
        fields.reply_parameters = { message_id: decodeRemoteId(input.remoteThreadId).messageId, allow_sending_without_reply: true };
    }
    if (input.config.silent) {
        fields.disable_notification = true;
    }
    return fields;
}

function apiUrl(input: DeliveryInput<TelegramConfig>, method: string): string {
    return `${input.config.apiUrl}/bot${input.config.botToken}/${method}`;
}

function jsonPost(input: DeliveryInput<TelegramConfig>, method: string, payload: Record<string, unknown>): OutboundRequest {
    return { method: 'POST', url: apiUrl(input, method), headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload) };
}

function linkPreview(input: DeliveryInput<TelegramConfig>): Record<string, unknown> {
    return input.config.linkPreview ? {} : { link_preview_options: { is_disabled: true } };
}

function buildSent(input: DeliveryInput<TelegramConfig>): OutboundRequest[] {
    const uploads = input.files.filter((file) => isUpload(file, true));
    const source = sourceText(input, true);
    const prefix = namePrefix(input);
    const inCaption = uploads.length > 0 && source.trim().length > 0 && prefix.length + source.length <= MAX_CAPTION;
    const chunks = inCaption ? [] : splitText(source, MAX_TEXT - prefix.length);
    const fields = commonFields(input);
    const requests = chunks.map((chunk) => jsonPost(input, 'sendMessage', Object.assign({}, fields, {
        text: prefix.html + toHtml(chunk),
        parse_mode: 'HTML',
    }, linkPreview(input))));
    uploads.forEach((file, index) => {
        const upload = uploadMethod(file) as { method: string; field: string };
        const caption = inCaption && index === 0 ? prefix.html + toHtml(source) : nameCaption(input);
        const parts: MultipartPart[] = Object.keys(fields).map((name) => ({
            name,
            value: typeof fields[name] === 'object' ? JSON.stringify(fields[name]) : String(fields[name]),
        }));
        if (caption) {
            parts.push({ name: 'caption', value: caption }, { name: 'parse_mode', value: 'HTML' });
        }
        parts.push({
            name: upload.field,
            file: { filename: file.name, contentType: file.mimeType || 'application/octet-stream', bytes: file.bytes as Uint8Array },
        });
        requests.push({ method: 'POST', url: apiUrl(input, upload.method), headers: {}, multipart: parts });
    });
    return requests;
}

function buildEdited(input: DeliveryInput<TelegramConfig>): OutboundRequest[] {
    const parts = input.remoteIds.map(decodeRemoteId);
    const source = sourceText(input, false);
    const prefix = namePrefix(input);
    const captioned = parts.filter((part) => part.kind === 'caption')[0];
    if (captioned) {
        // Caption limit: an edit that grew past it is cut rather than split.
        return [jsonPost(input, 'editMessageCaption', {
            chat_id: chatValue(captioned.chatId),
            message_id: captioned.messageId,
            caption: prefix.html + toHtml(truncateText(source, MAX_CAPTION - prefix.length)),
            parse_mode: 'HTML',
        })];
    }
    const textParts = parts.filter((part) => part.kind === 'text');
    const chunks = fitChunksToParts(splitText(source, MAX_TEXT - prefix.length), textParts.length, MAX_TEXT - prefix.length);
    return textParts.map((part, index) => {
        const target = { chat_id: chatValue(part.chatId), message_id: part.messageId };
        return index < Math.max(chunks.length, 1)
            ? jsonPost(input, 'editMessageText', Object.assign(target, { text: prefix.html + toHtml(chunks[index] || ''), parse_mode: 'HTML' }, linkPreview(input)))
            // The text got shorter than the parts it once needed: the surplus parts go.
            : jsonPost(input, 'deleteMessage', target);
    });
}

function buildRequests(input: DeliveryInput<TelegramConfig>): OutboundRequest[] {
    return requestsForEvent(input, { sent: buildSent, edited: buildEdited, deleted: buildDeleted });
}

function buildDeleted(input: DeliveryInput<TelegramConfig>): OutboundRequest[] {
    return input.remoteIds.map(decodeRemoteId).map((part) =>
        jsonPost(input, 'deleteMessage', { chat_id: chatValue(part.chatId), message_id: part.messageId }));
}

function methodOf(request: OutboundRequest): string {
    return request.url.slice(request.url.lastIndexOf('/') + 1);
}

function readResponse(input: DeliveryInput<TelegramConfig>, request: OutboundRequest, response: HttpResult): { remoteId?: string } {
    const body = parseJsonBody(response);
    const method = methodOf(request);
    if (isSuccessStatus(response.status) && body && body.ok === true) {
        const result = body.result;
        if (input.message.event !== 'sent' || !result || typeof result.message_id !== 'number' || !result.chat) {
            return {}; // edits keep the ids they had; deleteMessage answers `true`
        }
        const remoteId = `${result.chat.id}/${result.message_id}`;
        if (!request.multipart) {
            return { remoteId };
        }
        const caption = request.multipart.filter((part) => part.name === 'caption')[0];
        return { remoteId: `${remoteId}/${caption && caption.value !== nameCaption(input) ? 'caption' : 'media'}` };
    }
    const description = body && typeof body.description === 'string' ? body.description : undefined;
    if (description && /message to delete not found/i.test(description)) {
        return {}; // already gone: the delete has happened
    }
    if (description && /message is not modified/i.test(description)) {
        return {}; // the edit changed nothing Telegram shows
    }
    const parameters = body && body.parameters ? body.parameters : {};
    const hint = parameters.migrate_to_chat_id !== undefined ? ` (the group is now a supergroup: set chat_id to ${parameters.migrate_to_chat_id})` : '';
    throw responseError(`Telegram ${method}`, response, description ? description + hint : undefined, parameters.retry_after);
}

function describe(config: TelegramConfig): string {
    const botId = config.botToken.split(':')[0];
    const host = config.apiUrl === DEFAULT_API_URL ? '' : ` via ${originOf(config.apiUrl)}`;
    return `telegram bot ${botId} chat ${config.chatId || '(from the rule channel)'}${config.messageThreadId ? ` topic ${config.messageThreadId}` : ''}${host}`;
}

const TELEGRAM_CHAT_LIMITS = [{ requests: 1, perMs: 1000 }];
const TELEGRAM_GROUP_LIMITS = [{ requests: 1, perMs: 1000 }, { requests: 20, perMs: 60000 }];

export const telegramTarget: TargetAdapter<TelegramConfig> = {
    type: 'telegram',
    schemes: ['tgram'],
    templates: 'webhook',
    capabilities: () => ({ edit: true, delete: true, threads: true, upload: true }),
    docs: {
        files: 'upload',
        filesHow: '`sendPhoto`/`sendDocument` per file',
        rows: [
            {
                target: 'Telegram bot',
                instance: '`tgram://[{botname}@]{bot_token}/{chat_id}[:{topic}][/{chat_id}…][?topic=…&preview=yes]` or `{ "type": "telegram", "bot_token": …, "chat_id": … }`; rule channel `{ "chat_id": …, "message_thread_id": … }`',
                identity: '`<b>Name</b>: ` before every part',
                notes: 'HTML, 4096 chars per message; files as `sendPhoto`/`sendDocument` (the text as caption up to 1024 chars); edits, deletes, thread replies via `reply_parameters`; `retry_after` honoured; link previews only with `preview=yes` (as Apprise); a URL without a chat needs one in every rule channel; `api_url` for a local Bot API server',
            },
        ],
    },
    parseConfig,
    endpoints: (config) => [config.apiUrl],
    checkChannel,
    fromUrl,
    describe,
    buildRequests,
    readResponse,
    // Telegram documents one message a second per chat and 20 a minute in a group (negative chat id).
    rateLimits: { published: (config, channel) => ((channel.chat_id || config.chatId || '').charAt(0) === '-' ? TELEGRAM_GROUP_LIMITS : TELEGRAM_CHAT_LIMITS) },
};
