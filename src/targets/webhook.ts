// Generic JSON webhook. The body is a superset of Rocket.Chat's outgoing-webhook payload, so
// anything built for RC outgoing webhooks (NextBridge, Matterbridge, scripts) can consume it,
// plus `event` so receivers can follow edits and deletes, and the rule's `channel` dict
// (NextBridge webhook dialect). Apprise URLs: json://host[:port]/path (http), jsons:// (https).

import { ConfigError } from '../core/errors';
import type { HttpMethod, HttpResult, OutboundRequest } from '../core/http';
import { parseJsonBody } from '../core/http';
import { relayHeadersFor } from '../core/relayMarker';
import { bytesToBase64 } from '../core/multipart';
import {
    decodeUrlPart, isSuccessStatus, mediaKind, optionalString, originOf, queryParams, requireHttpUrl, responseError,
} from './common';
import type { DeliveryInput, TargetAdapter } from '../core/adapter';

export interface WebhookConfig {
    url: string;
    method: 'POST' | 'PUT';
    headers: Record<string, string>;
    /** Sent as `token`, like the secret token of a Rocket.Chat outgoing webhook. */
    token?: string;
}

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

function parseConfig(raw: Record<string, unknown>): WebhookConfig {
    const url = requireHttpUrl(raw, 'url', 'the http(s) URL to send messages to');
    const method = (optionalString(raw, 'method') || 'POST').toUpperCase();
    if (method !== 'POST' && method !== 'PUT') {
        throw new ConfigError('method', `must be POST or PUT, got "${method}"`);
    }
    return { url, method, headers: parseHeaders(raw.headers), token: optionalString(raw, 'token') };
}

/**
 * json://[user:password@]host[:port]/path[?+Header=value&method=PUT&token=…]. `+Name=value`
 * becomes a header, user:password becomes Basic auth, `-name` (Apprise: drop a payload field)
 * is ignored, other parameters stay in the URL's query.
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
    queryParams(url).forEach(([key, value], index) => {
        if (key.charAt(0) === '+' && key.length > 1) {
            headers[key.slice(1)] = value;
        } else if (key.toLowerCase() === 'method' || key.toLowerCase() === 'token') {
            raw[key.toLowerCase()] = value;
        } else if (key.charAt(0) !== '-') {
            // Kept exactly as written: the receiver decides what `+` or `%20` means.
            kept.push(rawPairs[index]);
        }
    });
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

function buildRequests(input: DeliveryInput<WebhookConfig>): OutboundRequest[] {
    const { config, message, rendered } = input;
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
    const headers: Record<string, string> = {
        'Content-Type': 'application/json',
        // One message event is one request (part 0); receivers can drop retried duplicates.
        'Idempotency-Key': `${message.id}:${message.event}:0`,
        ...relayHeadersFor(message),
    };
    for (const name of Object.keys(config.headers)) {
        headers[name] = config.headers[name];
    }
    const method: HttpMethod = config.method;
    return [{ method, url: config.url, headers, body: JSON.stringify(payload) }];
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
    capabilities: () => ({ edit: true, delete: true, threads: true, upload: false }),
    docs: {
        files: 'link',
        filesHow: 'a JSON consumer gets `attachments` with the file URLs (base64 would not fit most consumers\' body limits)',
        rows: [
            {
                target: 'Generic JSON webhook',
                instance: '`{ "type": "webhook", "url": "https://…" }` or `json(s)://host/path`',
                identity: '`alias`, `user_avatar` fields',
                notes: 'Rocket.Chat outgoing-webhook payload + `event`, `attachments`; `Idempotency-Key` header',
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
