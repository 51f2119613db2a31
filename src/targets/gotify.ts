// Gotify: `POST {server}/message` with the application token in `X-Gotify-Key`, JSON
// `{title, message, priority, extras}`; the title is the sender's name and the text is rendered
// as markdown (`extras["client::display"].contentType`). Files go as links in the text.
//
// Deletes (`DELETE {server}/message/{id}`) need a client token, which an application token is
// not: with `client_token` configured they happen, without it buildRequests returns nothing for
// them (capabilities are static, so `delete` is declared true). Gotify has no edits or threads.
//
// A message is a TEXT column (64 KiB on MySQL), so longer text is split by UTF-8 bytes.
// Remote id: the Gotify message id.

import { ConfigError } from '../core/errors';
import type { HttpResult, OutboundRequest } from '../core/http';
import { parseJsonBody } from '../core/http';
import { toCommonMark } from '../core/text';
import {
    fileMarkdown, isSuccessStatus, optionalString, originOf, pathSegments, queryValue, requireHttpUrl, requireString,
    responseError,
} from './common';
import { splitToFit, utf8Length } from './sizing';
import type { DeliveryInput, TargetAdapter } from '../core/adapter';

export interface GotifyConfig {
    /** Server base URL (may include a path prefix), without trailing slash. */
    server: string;
    /** Application token: sends messages. */
    appToken: string;
    /** Client token: needed to delete them. */
    clientToken?: string;
    /** 0–10, default 5. */
    priority: number;
}

const MAX_MESSAGE_BYTES = 65535;
const DEFAULT_PRIORITY = 5;

function parsePriority(value: unknown): number {
    const parsed = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof parsed !== 'number' || Math.floor(parsed) !== parsed || parsed < 0 || parsed > 10) {
        throw new ConfigError('priority', `must be a whole number from 0 to 10, got ${JSON.stringify(value)}`);
    }
    return parsed;
}

function parseConfig(raw: Record<string, unknown>): GotifyConfig {
    return {
        server: requireHttpUrl(raw, 'server', 'the Gotify server URL'),
        appToken: requireString(raw, 'app_token', 'the application token messages are sent with'),
        clientToken: optionalString(raw, 'client_token'),
        priority: raw.priority === undefined || raw.priority === null ? DEFAULT_PRIORITY : parsePriority(raw.priority),
    };
}

/** Apprise's priority names (by first letter) and numbers, mapped to its five Gotify levels. */
function appPriority(value: string): number {
    const word = value.trim().toLowerCase();
    const byLetter: Record<string, number> = { l: 0, m: 3, n: 5, h: 8, e: 10 };
    if (byLetter[word.charAt(0)] !== undefined) {
        return byLetter[word.charAt(0)];
    }
    if (/^\d+$/.test(word) && Number(word) <= 10) {
        const level = Number(word);
        return level >= 10 ? 10 : level >= 8 ? 8 : level >= 5 ? 5 : level >= 3 ? 3 : 0;
    }
    throw new ConfigError('priority', `must be low, moderate, normal, high, emergency or 0-10, got "${value}"`);
}

/**
 * gotify(s)://host[:port][/path]/{app_token}[?priority=…] — the last path segment is the token.
 * `?client_token=` (not Apprise's) enables deletes.
 */
function fromUrl(url: URL): Record<string, unknown> {
    const segments = pathSegments(url);
    const token = segments.pop();
    if (!url.hostname || !token) {
        throw new ConfigError('', 'expected gotify(s)://host[:port][/path]/{app_token}');
    }
    const path = segments.map((segment) => encodeURIComponent(segment)).join('/');
    const raw: Record<string, unknown> = {
        server: `${url.protocol === 'gotifys:' ? 'https' : 'http'}://${url.host}${path ? `/${path}` : ''}`,
        app_token: token,
    };
    const priority = queryValue(url, 'priority');
    if (priority) {
        raw.priority = appPriority(priority);
    }
    const clientToken = queryValue(url, 'client_token');
    if (clientToken) {
        raw.client_token = clientToken;
    }
    return raw;
}

// ---------------------------------------------------------------------------------------------
// Requests

function buildSent(input: DeliveryInput<GotifyConfig>): OutboundRequest[] {
    const { config, rendered } = input;
    const links = input.files.map(fileMarkdown);
    const text = [toCommonMark(rendered.text)].concat(links).filter((line) => line.trim().length > 0).join('\n');
    const chunks = splitToFit(text, MAX_MESSAGE_BYTES, (chunk) => utf8Length(chunk) <= MAX_MESSAGE_BYTES);
    return chunks.map((message) => ({
        method: 'POST' as const,
        url: `${config.server}/message`,
        headers: { 'Content-Type': 'application/json', 'X-Gotify-Key': config.appToken },
        body: JSON.stringify({
            title: rendered.alias,
            message,
            priority: config.priority,
            extras: { 'client::display': { contentType: 'text/markdown' } },
        }),
    }));
}

function buildRequests(input: DeliveryInput<GotifyConfig>): OutboundRequest[] {
    const { config } = input;
    if (input.message.event === 'sent') {
        return buildSent(input);
    }
    if (input.message.event === 'edited' || !config.clientToken) {
        return []; // no edits; deletes only with a client token
    }
    return input.remoteIds.map((id) => ({
        method: 'DELETE' as const,
        url: `${config.server}/message/${encodeURIComponent(id)}`,
        headers: { 'X-Gotify-Key': config.clientToken as string },
    }));
}

function readResponse(_input: DeliveryInput<GotifyConfig>, request: OutboundRequest, response: HttpResult): { remoteId?: string } {
    const body = parseJsonBody(response);
    if (isSuccessStatus(response.status)) {
        return request.method === 'POST' && body && typeof body.id === 'number' ? { remoteId: String(body.id) } : {};
    }
    if (request.method === 'DELETE' && response.status === 404) {
        return {}; // already gone: the delete has happened
    }
    // {"error":"Unauthorized","errorCode":401,"errorDescription":"you need to provide a valid access token…"}
    const detail = body && typeof body.error === 'string'
        ? `${body.error}${typeof body.errorDescription === 'string' ? `: ${body.errorDescription}` : ''}`
        : undefined;
    throw responseError('Gotify', response, detail);
}

function describe(config: GotifyConfig): string {
    return `gotify ${originOf(config.server)} priority ${config.priority}${config.clientToken ? ', deletes with client token' : ', no deletes'}`;
}

export const gotifyTarget: TargetAdapter<GotifyConfig> = {
    type: 'gotify',
    schemes: ['gotify', 'gotifys'],
    templates: 'webhook',
    capabilities: (config) => ({ edit: false, delete: config.clientToken !== undefined, threads: false, upload: false }),
    docs: {
        files: 'link',
        filesHow: 'Gotify messages carry no files',
        rows: [
            {
                target: 'Gotify',
                instance: '`gotify(s)://host[:port][/path]/{app_token}[?priority=…]` or `{ "type": "gotify", "server": …, "app_token": …, "priority": 5 }`',
                identity: 'title = name',
                notes: 'markdown message, split at 64 KiB, files as links; deletes only with a `client_token`; no edits or threads',
            },
        ],
    },
    parseConfig,
    endpoints: (config) => [config.server],
    fromUrl: (url) => ({ config: fromUrl(url) }),
    describe,
    buildRequests,
    readResponse,
};
