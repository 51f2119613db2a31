// Discord through a channel webhook: per-message username and avatar, edits and deletes of the
// webhook's own messages, uploads as multipart (`payload_json` + `files[n]`).
//
// Threads: a Discord webhook cannot reply to a message. Messages go into the Discord thread named
// by the rule channel's `thread_id` (or the instance `thread_id`) when set; otherwise a Rocket.Chat
// thread reply is posted as a normal message starting with a quote line that links to the thread
// parent in Rocket.Chat. So `threads` is false: no parent mapping is needed.
//
// Remote id: the Discord message id. A long message is several Discord messages (one id per part);
// uploads ride on the last part.

import { ConfigError } from '../core/errors';
import type { HttpResult, MultipartPart, OutboundRequest } from '../core/http';
import { parseJsonBody } from '../core/http';
import type { RelayMessage } from '../core/message';
import { neutraliseMentions, splitText, toCommonMark } from '../core/text';
import {
    fileMarkdown, bodyExcerpt, decodeUrlPart, fitChunksToParts, isSuccessStatus, optionalPositiveInteger, optionalString, pathSegments, queryValue,
    responseError,
    requestsForEvent,
} from './common';
import type { DeliveryInput, OutboundFile, ReadResult, TargetAdapter } from '../core/adapter';
import { readRateLimitHeaders } from '../core/pacing';

export interface DiscordConfig {
    /** `https://discord.com/api/webhooks/{id}/{token}` (no query). */
    webhookUrl: string;
    webhookId: string;
    /** Username when the rendered alias is empty (Apprise `botname`). */
    botname?: string;
    /** Avatar when the message has none. */
    avatarUrl?: string;
    /** Default thread to post into; the rule channel's `thread_id` wins. */
    threadId?: string;
    /** Larger files are linked instead of uploaded. */
    maxFileSize: number;
    /** Discord message flags sent with every new message (Apprise `flags`, e.g. 4096: no notifications). */
    flags?: number;
    /**
     * Forum channels: a message outside a thread opens a post of this name (`thread_name`), as
     * a webhook into a forum must name a thread or create one.
     */
    threadName?: string;
}

const MAX_TEXT = 2000;
const MAX_FILES_PER_MESSAGE = 10;
// Uploads above this fail on servers without boosts (Discord's default limit is 10 MiB).
const DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024;
const MAX_USERNAME = 80;
const NATIVE_HOST = /^(?:(?:ptb|canary)\.)?discord(?:app)?\.com$/i;
const WEBHOOK_PATH = /^(.*\/webhooks)\/(\d+)\/([\w-]+)\/?$/;
const SNOWFLAKE = /^\d+$/;
const TOKEN = /^[\w-]+$/;
const MAX_THREAD_NAME = 100;
/** Carried value: the forum post the first part opened (the later parts go into it). */
const POST_KEY = 'post';

function parseConfig(raw: Record<string, unknown>): DiscordConfig {
    const url = optionalString(raw, 'webhook_url');
    let webhookUrl: string;
    let webhookId: string;
    if (url) {
        // http only for loopback: a local stand-in or proxy (tests, the local host's demo sinks).
        const match = /^(?:https:\/\/[^/?#]+|http:\/\/(?:localhost|127\.0\.0\.1)(?::\d+)?)(\/[^?#]*)$/.exec(url);
        const path = match ? WEBHOOK_PATH.exec(match[1]) : null;
        if (!match || !path) {
            throw new ConfigError('webhook_url', 'must look like https://discord.com/api/webhooks/{id}/{token}');
        }
        webhookUrl = url.replace(/\/+$/, '');
        webhookId = path[2];
    } else {
        webhookId = optionalString(raw, 'webhook_id') || '';
        const token = optionalString(raw, 'webhook_token') || '';
        if (!webhookId && !token) {
            throw new ConfigError('webhook_url', 'is required (or webhook_id and webhook_token)');
        }
        if (!SNOWFLAKE.test(webhookId)) {
            throw new ConfigError('webhook_id', `must be the numeric webhook id, got "${webhookId}"`);
        }
        if (!TOKEN.test(token)) {
            throw new ConfigError('webhook_token', 'must be the webhook token (letters, digits, - and _)');
        }
        webhookUrl = `https://discord.com/api/webhooks/${webhookId}/${token}`;
    }
    const threadId = optionalString(raw, 'thread_id');
    if (threadId !== undefined && !SNOWFLAKE.test(threadId)) {
        throw new ConfigError('thread_id', `must be a numeric Discord thread id, got "${threadId}"`);
    }
    const avatarUrl = optionalString(raw, 'avatar_url');
    if (avatarUrl !== undefined && !/^https?:\/\//i.test(avatarUrl)) {
        throw new ConfigError('avatar_url', 'must be an http(s) URL');
    }
    const flags = raw.flags === undefined || raw.flags === null || raw.flags === '' ? undefined : Number(raw.flags);
    if (flags !== undefined && !(typeof raw.flags === 'number' || /^\d+$/.test(String(raw.flags).trim())) || (flags !== undefined && !(flags >= 0 && Math.floor(flags) === flags))) {
        throw new ConfigError('flags', `must be a whole number of 0 or more (Discord message flags), got ${JSON.stringify(raw.flags)}`);
    }
    const threadName = optionalString(raw, 'thread_name');
    if (threadName !== undefined && threadName.length > MAX_THREAD_NAME) {
        throw new ConfigError('thread_name', `must be at most ${MAX_THREAD_NAME} characters`);
    }
    return {
        webhookUrl,
        webhookId,
        botname: optionalString(raw, 'botname'),
        avatarUrl,
        threadId,
        maxFileSize: optionalPositiveInteger(raw, 'max_file_size') || DEFAULT_MAX_FILE_SIZE,
        flags,
        threadName,
    };
}

function acceptsNativeUrl(url: URL): boolean {
    return url.protocol === 'https:' && NATIVE_HOST.test(url.hostname) && WEBHOOK_PATH.test(url.pathname);
}

/**
 * discord://[botname@]{id}/{token}[?thread=…&avatar_url=…&botname=…&flags=…&thread_name=…], or
 * the webhook URL Discord shows (https://discord.com/api/webhooks/{id}/{token}[?thread_id=…]).
 */
function fromUrl(url: URL): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    if (url.protocol === 'https:') {
        raw.webhook_url = `https://${url.host}${url.pathname}`;
    } else {
        const segments = pathSegments(url);
        if (!url.hostname || segments.length !== 1) {
            throw new ConfigError('', 'expected discord://{webhook_id}/{webhook_token}');
        }
        raw.webhook_id = url.hostname;
        raw.webhook_token = segments[0];
        if (url.username) {
            raw.botname = decodeUrlPart(url.username);
        }
    }
    const thread = queryValue(url, 'thread', 'thread_id');
    const avatarUrl = queryValue(url, 'avatar_url');
    const botname = queryValue(url, 'botname');
    if (thread) {
        raw.thread_id = thread;
    }
    if (avatarUrl) {
        raw.avatar_url = avatarUrl;
    }
    if (botname) {
        raw.botname = botname;
    }
    const flags = queryValue(url, 'flags');
    if (flags !== undefined) {
        raw.flags = flags;
    }
    const threadName = queryValue(url, 'thread_name');
    if (threadName) {
        raw.thread_name = threadName;
    }
    return raw;
}

// ---------------------------------------------------------------------------------------------
// Requests

/**
 * Webhook names are 1–80 characters and may not contain "clyde" or "discord": one letter of
 * each is swapped for its Cyrillic look-alike, as other bridges do.
 */
export function sanitiseUsername(name: string): string {
    const swapped = name
        .replace(/clyde/gi, (word) => word.slice(0, 4) + (word.charAt(4) === 'E' ? '\u0415' : '\u0435'))
        .replace(/discord/gi, (word) => word.slice(0, 4) + (word.charAt(4) === 'O' ? '\u041E' : '\u043E') + word.slice(5))
        .replace(/\s+/g, ' ')
        .trim();
    let cut = swapped.slice(0, MAX_USERNAME);
    const last = cut.charCodeAt(cut.length - 1);
    if (cut.length === MAX_USERNAME && last >= 0xd800 && last <= 0xdbff) {
        cut = cut.slice(0, -1);
    }
    return cut.trim();
}

function threadFor(input: DeliveryInput<DiscordConfig>): string | undefined {
    return input.channel.thread_id || input.config.threadId || input.carried[POST_KEY];
}

/**
 * A message that opened a forum post (`thread_name`) lives in that post: its remote id is
 * `{messageId}@{postId}`, so edits and deletes find it (Discord needs `thread_id` for them).
 */
function splitRemoteId(remoteId: string): { messageId: string; postId?: string } {
    const at = remoteId.indexOf('@');
    return at < 0 ? { messageId: remoteId } : { messageId: remoteId.slice(0, at), postId: remoteId.slice(at + 1) };
}

function parentUrl(message: RelayMessage, parentId: string): string {
    const kind = message.room.kind === 'direct' ? 'direct' : message.room.kind === 'private' ? 'group' : 'channel';
    return `${message.siteUrl}/${kind}/${encodeURIComponent(message.room.name)}?msg=${encodeURIComponent(parentId)}`;
}

/** Uploaded when bytes came along (or, for edits, could have), fit the limit and the 10-per-message cap. */
function isUpload(file: OutboundFile, index: number, config: DiscordConfig, needBytes: boolean): boolean {
    const size = file.bytes ? file.bytes.length : file.size;
    return (!needBytes || file.bytes !== undefined) && size <= config.maxFileSize && index < MAX_FILES_PER_MESSAGE;
}

/** Message text as Discord markdown, with the thread quote line and links for files not uploaded. */
function discordText(input: DeliveryInput<DiscordConfig>, needBytes: boolean): string {
    const { message } = input;
    let text = neutraliseMentions(toCommonMark(input.rendered.text));
    if (message.threadId && !threadFor(input)) {
        text = `> \u21AA reply in thread <${parentUrl(message, message.threadId)}>\n${text}`;
    }
    const links = input.files
        .filter((file, index) => !isUpload(file, index, input.config, needBytes))
        .map(fileMarkdown);
    return [text].concat(links).filter((line) => line.trim().length > 0).join('\n');
}

function identity(input: DeliveryInput<DiscordConfig>): Record<string, unknown> {
    const fields: Record<string, unknown> = {};
    const username = sanitiseUsername(input.rendered.alias || '') || (input.config.botname && sanitiseUsername(input.config.botname));
    if (username) {
        fields.username = username;
    }
    const avatarUrl = input.rendered.avatarUrl || input.config.avatarUrl;
    if (avatarUrl) {
        fields.avatar_url = avatarUrl;
    }
    return fields;
}

function withQuery(url: string, params: Array<[string, string | undefined]>): string {
    const query = params
        .filter((param): param is [string, string] => param[1] !== undefined)
        .map(([key, value]) => `${key}=${encodeURIComponent(value)}`);
    return query.length ? `${url}?${query.join('&')}` : url;
}

function jsonRequest(method: 'POST' | 'PATCH', url: string, payload: Record<string, unknown>): OutboundRequest {
    return { method, url, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload) };
}

function buildSent(input: DeliveryInput<DiscordConfig>): OutboundRequest[] {
    const url = withQuery(input.config.webhookUrl, [['wait', 'true'], ['thread_id', threadFor(input)]]);
    const uploads = input.files.filter((file, index) => isUpload(file, index, input.config, true));
    const chunks = splitText(discordText(input, true), MAX_TEXT);
    if (chunks.length === 0 && uploads.length === 0) {
        return [];
    }
    const base: Record<string, unknown> = identity(input);
    // Relayed text must never ping anyone on Discord.
    base.allowed_mentions = { parse: [] };
    if (input.config.flags !== undefined) {
        base.flags = input.config.flags;
    }
    if (input.config.threadName && !threadFor(input)) {
        base.thread_name = input.config.threadName;
    }
    const requests = chunks.slice(0, uploads.length ? -1 : undefined)
        .map((content) => jsonRequest('POST', url, Object.assign({ content }, base)));
    if (uploads.length) {
        const payload: Record<string, unknown> = Object.assign({}, base);
        if (chunks.length) {
            payload.content = chunks[chunks.length - 1];
        }
        payload.attachments = uploads.map((file, index) => ({ id: index, filename: file.name }));
        const multipart: MultipartPart[] = [{ name: 'payload_json', value: JSON.stringify(payload) }];
        uploads.forEach((file, index) => multipart.push({
            name: `files[${index}]`,
            file: { filename: file.name, contentType: file.mimeType || 'application/octet-stream', bytes: file.bytes as Uint8Array },
        }));
        requests.push({ method: 'POST', url, headers: {}, multipart });
    }
    return requests;
}

function messageUrl(input: DeliveryInput<DiscordConfig>, remoteId: string): string {
    const { messageId, postId } = splitRemoteId(remoteId);
    return withQuery(`${input.config.webhookUrl}/messages/${encodeURIComponent(messageId)}`, [['thread_id', postId || threadFor(input)]]);
}

function buildEdited(input: DeliveryInput<DiscordConfig>): OutboundRequest[] {
    // Files cannot change on an edit; whether they were uploaded is decided by size, not bytes.
    const chunks = fitChunksToParts(splitText(discordText(input, false), MAX_TEXT), input.remoteIds.length, MAX_TEXT);
    return input.remoteIds.map((remoteId, part): OutboundRequest => {
        if (part < Math.max(chunks.length, 1)) {
            return jsonRequest('PATCH', messageUrl(input, remoteId), { content: chunks[part] || '', allowed_mentions: { parse: [] } });
        }
        // The text got shorter than the parts it once needed: the surplus parts go.
        return { method: 'DELETE', url: messageUrl(input, remoteId), headers: {} };
    });
}

function buildRequests(input: DeliveryInput<DiscordConfig>): OutboundRequest[] {
    return requestsForEvent(input, { sent: buildSent, edited: buildEdited, deleted: buildDeleted });
}

function buildDeleted(input: DeliveryInput<DiscordConfig>): OutboundRequest[] {
    return input.remoteIds.map((remoteId) => ({ method: 'DELETE' as const, url: messageUrl(input, remoteId), headers: {} }));
}

function readResponse(input: DeliveryInput<DiscordConfig>, request: OutboundRequest, response: HttpResult): ReadResult {
    const body = parseJsonBody(response);
    if (isSuccessStatus(response.status)) {
        if (!body || typeof body.id !== 'string') {
            return {};
        }
        const openedPost = request.method === 'POST' && input.config.threadName !== undefined && typeof body.channel_id === 'string'
            && (input.carried[POST_KEY] !== undefined || !threadFor(input)) ? body.channel_id : undefined;
        if (openedPost === undefined) {
            return { remoteId: body.id };
        }
        return input.carried[POST_KEY] ? { remoteId: `${body.id}@${openedPost}` } : { remoteId: `${body.id}@${openedPost}`, carry: { [POST_KEY]: openedPost } };
    }
    if (request.method === 'DELETE' && response.status === 404) {
        return {}; // already gone: the delete has happened
    }
    if (body && typeof body === 'object' && typeof body.message === 'string') {
        const code = body.code !== undefined ? ` (code ${body.code})` : '';
        const errors = body.errors ? ` ${bodyExcerpt(JSON.stringify(body.errors))}` : '';
        throw responseError('Discord', response, `${body.message}${code}${errors}`, body.retry_after);
    }
    throw responseError('Discord', response);
}

export const discordTarget: TargetAdapter<DiscordConfig> = {
    type: 'discord',
    schemes: ['discord'],
    templates: 'webhook',
    capabilities: () => ({ edit: true, delete: true, threads: false, upload: true }),
    docs: {
        files: 'upload',
        filesHow: 'multipart on the last part, up to 10 files and 10 MiB each (Discord\'s limits); more are links',
        rows: [
            {
                target: 'Discord webhook',
                instance: '`discord://{id}/{token}` or `{ "type": "discord", "webhook_url": … }`',
                identity: '`username`, `avatar_url`',
                notes: '2000 chars per message, files as multipart, edits and deletes; `flags` (Discord message flags, e.g. 4096 silent) and, for forum channels, `thread_name` (each message opens a post, its parts and edits follow it)',
            },
        ],
    },
    parseConfig,
    endpoints: (config) => [config.webhookUrl],
    fromUrl: (url) => ({ config: fromUrl(url) }),
    acceptsNativeUrl,
    describe: (config) => `discord webhook ${config.webhookId}${config.threadId ? ` thread ${config.threadId}` : ''}`,
    buildRequests,
    readResponse,
    // Every answer carries the webhook's bucket: 5 requests per 2 s, announced, not documented.
    rateLimits: { announced: (response, now) => readRateLimitHeaders(response.headers, 'after-seconds', now) },
};
