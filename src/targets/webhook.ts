// Generic JSON webhook. The body is a superset of Rocket.Chat's outgoing-webhook payload, so
// anything built for RC outgoing webhooks (NextBridge, Matterbridge, scripts) can consume it,
// plus `event` so receivers can follow edits and deletes, and the rule's `channel` dict
// (NextBridge webhook dialect). Apprise URLs: json://host[:port]/path (http), jsons:// (https).
//
// `body: "apprise"` sends Apprise's own JSON body instead (`{version, title, message, type,
// attachments: [{filename, base64, mimetype}]}`) for receivers written for Apprise: new messages
// only (Apprise has no edits), files as base64 up to the Max file size, larger ones as links.

import { ConfigError } from '../core/errors';
import type { HttpMethod, HttpResult, OutboundRequest } from '../core/http';
import { parseJsonBody } from '../core/http';
import { relayHeadersFor } from '../core/relayMarker';
import { bytesToBase64 } from '../core/multipart';
import {
    decodeUrlPart, fileMarkdown, isSuccessStatus, mediaKind, optionalString, originOf, queryParams, requireHttpUrl, responseError,
} from './common';
import type { DeliveryInput, TargetAdapter } from '../core/adapter';

export interface WebhookConfig {
    /** As written, trailing slash included (receivers may route on it). */
    url: string;
    method: HttpMethod;
    headers: Record<string, string>;
    /** Sent as `token`, like the secret token of a Rocket.Chat outgoing webhook. */
    token?: string;
    /** `rocketchat` (default): the outgoing-webhook payload; `apprise`: Apprise's JSON body. */
    body: 'rocketchat' | 'apprise';
    /** Apprise body only: `:key=name` renames a body key (empty name drops it), as Apprise does. */
    renames: Record<string, string>;
}

/**
 * The methods Apps-Engine's HTTP accessor can send (IHttp has get/post/put/patch/del; Apprise's
 * HEAD, OPTIONS and its own UPDATE have no accessor, so they are refused).
 */
const METHODS: HttpMethod[] = ['POST', 'PUT', 'PATCH', 'DELETE', 'GET'];
const APPRISE_KEYS = ['version', 'title', 'message', 'type', 'attachments'];

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function parseHeaders(value: unknown): Record<string, string> {
    if (value === undefined || value === null) {
        return {};
    }
    if (typeof value !== 'object' || Array.isArray(value)) {
        throw new ConfigError('headers', 'must be an object of header name to value');
    }
    const headers: Record<string, string> = {};
    for (const name of Object.keys(value as Record<string, unknown>)) {
        const headerValue = (value as Record<string, unknown>)[name];
        if (!HEADER_NAME.test(name)) {
            throw new ConfigError(`headers.${name}`, 'is not a valid HTTP header name');
        }
        if (typeof headerValue !== 'string' || /[\r\n]/.test(headerValue)) {
            throw new ConfigError(`headers.${name}`, 'must be a single-line string');
        }
        headers[name] = headerValue;
    }
    return headers;
}

function parseRenames(value: unknown): Record<string, string> {
    if (value === undefined || value === null) {
        return {};
    }
    if (typeof value !== 'object' || Array.isArray(value)) {
        throw new ConfigError('renames', 'must be an object of Apprise body key to new name');
    }
    const renames: Record<string, string> = {};
    for (const key of Object.keys(value as Record<string, unknown>)) {
        const name = (value as Record<string, unknown>)[key];
        if (APPRISE_KEYS.indexOf(key) < 0) {
            throw new ConfigError(`renames.${key}`, `is not a key of Apprise's body (${APPRISE_KEYS.join(', ')})`);
        }
        if (typeof name !== 'string') {
            throw new ConfigError(`renames.${key}`, 'must be a string (empty: leave the key out)');
        }
        renames[key] = name;
    }
    return renames;
}

function parseConfig(raw: Record<string, unknown>): WebhookConfig {
    requireHttpUrl(raw, 'url', 'the http(s) URL to send messages to');
    const url = (optionalString(raw, 'url') as string);
    const method = (optionalString(raw, 'method') || 'POST').toUpperCase() as HttpMethod;
    if (METHODS.indexOf(method) < 0) {
        throw new ConfigError('method', `must be ${METHODS.join(', ')}, got "${method}" (HEAD and OPTIONS cannot carry a message)`);
    }
    const body = optionalString(raw, 'body') || 'rocketchat';
    if (body !== 'rocketchat' && body !== 'apprise') {
        throw new ConfigError('body', `must be "rocketchat" (the outgoing-webhook payload) or "apprise" (Apprise's JSON body), got "${body}"`);
    }
    return { url, method, headers: parseHeaders(raw.headers), token: optionalString(raw, 'token'), body, renames: parseRenames(raw.renames) };
}

/**
 * json://[user:password@]host[:port]/path[?+Header=value&-param=value&:key=name&method=PUT&body=apprise&token=…].
 * As in Apprise: `+Name=value` is a header, `-name=value` a query parameter of the request,
 * `:key=name` renames a key of Apprise's body, user:password is Basic auth. Other parameters
 * stay in the URL's query as written; the path keeps its trailing slash.
 */
function fromUrl(url: URL): Record<string, unknown> {
    if (!url.hostname) {
        throw new ConfigError('host', 'is missing (json://host/path)');
    }
    const protocol = url.protocol === 'jsons:' ? 'https' : 'http';
    const headers: Record<string, string> = {};
    const kept: string[] = [];
    const rawPairs = url.search.replace(/^\?/, '').split('&').filter((pair) => pair.length > 0);
    const raw: Record<string, unknown> = {};
    const renames: Record<string, string> = {};
    queryParams(url).forEach(([key, value], index) => {
        if (key.charAt(0) === '+' && key.length > 1) {
            headers[key.slice(1)] = value;
        } else if (key.charAt(0) === ':' && key.length > 1) {
            renames[key.slice(1)] = value;
        } else if (['method', 'token', 'body'].indexOf(key.toLowerCase()) >= 0) {
            raw[key.toLowerCase()] = value;
        } else if (key.charAt(0) === '-' && key.length > 1) {
            kept.push(rawPairs[index].slice(1));
        } else if (key.charAt(0) !== '-') {
            // Kept exactly as written: the receiver decides what `+` or `%20` means.
            kept.push(rawPairs[index]);
        }
    });
    if (Object.keys(renames).length > 0) {
        raw.renames = renames;
    }
    if (url.username) {
        const credentials = `${decodeUrlPart(url.username)}:${decodeUrlPart(url.password)}`;
        headers.Authorization = `Basic ${bytesToBase64(new TextEncoder().encode(credentials))}`;
    }
    const host = url.port ? `${url.hostname}:${url.port}` : url.hostname;
    raw.url = `${protocol}://${host}${url.pathname || '/'}${kept.length ? `?${kept.join('&')}` : ''}`;
    if (Object.keys(headers).length > 0) {
        raw.headers = headers;
    }
    return raw;
}

/** Apprise's JSON body (NotifyJSON): files with bytes as base64, the others as links in the message. */
function apprisePayload(input: DeliveryInput<WebhookConfig>): Record<string, unknown> {
    const { rendered } = input;
    const withBytes = input.files.filter((file) => file.bytes !== undefined);
    const links = input.files.filter((file) => file.bytes === undefined).map(fileMarkdown);
    const payload: Record<string, unknown> = {
        version: '1.0',
        title: rendered.alias,
        message: [rendered.text].concat(links).filter((line) => line.trim().length > 0).join('\n'),
        type: 'info',
        attachments: withBytes.map((file) => ({ filename: file.name, base64: bytesToBase64(file.bytes as Uint8Array), mimetype: file.mimeType })),
    };
    const renamed: Record<string, unknown> = {};
    Object.keys(payload).forEach((key) => {
        const name = input.config.renames.hasOwnProperty(key) ? input.config.renames[key] : key;
        if (name) {
            renamed[name] = payload[key];
        }
    });
    return renamed;
}

/**
 * A GET carries no body (Rocket.Chat's HTTP bridge drops it, as fetch does), so its payload goes
 * as query parameters: scalars as they are, objects and lists as JSON.
 */
function withPayloadQuery(url: string, payload: Record<string, unknown>): string {
    const query = Object.keys(payload).filter((key) => payload[key] !== undefined).map((key) => {
        const value = payload[key];
        return `${encodeURIComponent(key)}=${encodeURIComponent(typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value))}`;
    });
    return query.length ? `${url}${url.indexOf('?') >= 0 ? '&' : '?'}${query.join('&')}` : url;
}

function request(input: DeliveryInput<WebhookConfig>, payload: Record<string, unknown>): OutboundRequest {
    const { config, message } = input;
    const headers: Record<string, string> = {
        'Content-Type': 'application/json',
        // One message event is one request (part 0); receivers can drop retried duplicates.
        'Idempotency-Key': `${message.id}:${message.event}:0`,
        ...relayHeadersFor(message),
    };
    for (const name of Object.keys(config.headers)) {
        headers[name] = config.headers[name];
    }
    if (config.method === 'GET') {
        delete headers['Content-Type'];
        return { method: 'GET', url: withPayloadQuery(config.url, payload), headers };
    }
    return { method: config.method, url: config.url, headers, body: JSON.stringify(payload) };
}

function buildRequests(input: DeliveryInput<WebhookConfig>): OutboundRequest[] {
    const { config, message, rendered } = input;
    if (config.body === 'apprise') {
        // Apprise's receivers know notifications only: edits and deletes are not sent.
        return message.event === 'sent' ? [request(input, apprisePayload(input))] : [];
    }
    const payload: Record<string, unknown> = {};
    if (config.token !== undefined) {
        payload.token = config.token;
    }
    payload.bot = message.sender.isBot;
    payload.channel_id = message.room.id;
    payload.channel_name = message.room.name;
    payload.message_id = message.id;
    payload.timestamp = message.timestamp;
    payload.user_id = message.sender.id;
    payload.user_name = message.sender.username;
    payload.text = rendered.text;
    payload.siteUrl = message.siteUrl;
    payload.alias = rendered.alias;
    payload.user_avatar = rendered.avatarUrl || message.sender.avatarUrl;
    if (rendered.emoji) {
        payload.emoji = rendered.emoji;
    }
    if (message.event === 'edited') {
        payload.isEdited = true;
    }
    if (message.threadId) {
        payload.tmid = message.threadId;
    }
    payload.attachments = input.files.map((file) => {
        const kind = mediaKind(file.mimeType);
        // A file with a label has no link a receiver could open: no URL fields.
        const attachment: Record<string, unknown> = file.label ? { title: file.name, label: file.label } : { title: file.name, title_link: file.url };
        if (kind !== 'file' && !file.label) {
            attachment[`${kind}_url`] = file.url;
        }
        attachment.type = kind;
        if (!file.label) {
            attachment.url = file.url;
        }
        attachment.name = file.name;
        attachment.size = file.size;
        attachment.mime_type = file.mimeType;
        return attachment;
    });
    payload.event = message.event;
    payload.channel = input.channel;
    return [request(input, payload)];
}

function readResponse(input: DeliveryInput<WebhookConfig>, _request: OutboundRequest, response: HttpResult): { remoteId?: string } {
    if (!isSuccessStatus(response.status)) {
        throw responseError('webhook', response);
    }
    const body = parseJsonBody(response);
    const answered = body && typeof body === 'object' ? (body.id !== undefined ? body.id : body.message_id) : undefined;
    if (typeof answered === 'string' && answered) {
        return { remoteId: answered };
    }
    if (typeof answered === 'number') {
        return { remoteId: String(answered) };
    }
    // Receivers that return nothing are addressed by the Rocket.Chat id (it is in every payload).
    return { remoteId: input.remoteIds[0] || input.message.id };
}

export const webhookTarget: TargetAdapter<WebhookConfig> = {
    type: 'webhook',
    schemes: ['json', 'jsons'],
    templates: 'webhook',
    capabilities: (config) => {
        const rocketChatBody = config.body === 'rocketchat';
        return { edit: rocketChatBody, delete: rocketChatBody, threads: rocketChatBody, upload: !rocketChatBody };
    },
    docs: {
        files: 'upload',
        filesHow: 'default body: `attachments` with the file URLs (base64 would not fit most consumers\' body limits), so link; `body: "apprise"`: base64 `attachments` as Apprise sends them',
        rows: [
            {
                target: 'Generic JSON webhook',
                instance: '`{ "type": "webhook", "url": "https://…" }` or `json(s)://[user:password@]host/path[?method=…&+Header=…&-param=…]`',
                identity: '`alias`, `user_avatar` fields',
                notes: 'Rocket.Chat outgoing-webhook payload + `event`, `attachments`; `Idempotency-Key` header; `method` POST (default), PUT, PATCH, DELETE or GET (a GET carries the payload as query parameters); `-param=` query parameters go along, the path keeps its trailing slash',
            },
            {
                target: 'Apprise JSON receiver',
                instance: '`json(s)://host/path?body=apprise[&:message=text…]` or `{ "type": "webhook", "url": …, "body": "apprise" }`',
                identity: '`title` = name',
                notes: 'Apprise\'s own body `{version, title, message, type, attachments}`; `:key=name` renames a key (empty: drops it), as in Apprise; new messages only',
            },
        ],
    },
    parseConfig,
    endpoints: (config) => [config.url],
    fromUrl: (url) => ({ config: fromUrl(url) }),
    describe: (config) => `webhook ${config.method} ${originOf(config.url)}`,
    buildRequests,
    readResponse,
};
