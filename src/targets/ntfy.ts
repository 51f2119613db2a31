// ntfy (https://ntfy.sh or a self-hosted server): `POST {server}/{topic}` with the text as the
// body and the rest in headers: `X-Title` (the name), `X-Icon` (https avatar), `X-Markdown: yes`,
// `Authorization` (an access token as Bearer, or user and password as Basic).
//
// Header values must be ASCII on the way out, so a name with other characters is sent as an
// RFC 2047 encoded word (`=?UTF-8?B?…?=`), which ntfy decodes.
//
// Bodies over 4096 bytes become attachments on ntfy, so longer text is split. Edits and deletes
// are off: ntfy 2.16 can replace and delete notifications by sequence id, but older servers would
// publish a second notification instead. Files with bytes follow the text as attachments, one
// notification each (`PUT` with the bytes as the body and a `Filename` header); others are links.
//
// Remote id: the ntfy message id.

import { ConfigError } from '../core/errors';
import type { HttpResult, OutboundRequest } from '../core/http';
import { parseJsonBody } from '../core/http';
import { bytesToBase64 } from '../core/multipart';
import { toCommonMark } from '../core/text';
import {
    fileMarkdown, decodeUrlPart, isSuccessStatus, optionalString, originOf, pathSegments, queryValue, requireHttpUrl, responseError,
} from './common';
import { splitToFit, utf8Length } from './sizing';
import type { DeliveryInput, TargetAdapter } from '../core/adapter';
import { TargetError } from '../core/adapter';

export interface NtfyConfig {
    /** Server base URL without trailing slash, default https://ntfy.sh. */
    server: string;
    /** Default topic; the rule channel's `topic` wins. */
    topic?: string;
    /** `Authorization` header value, when the topic needs one. */
    authorization?: string;
    /** `X-Priority`: 1–5 or min/low/default/high/max. */
    priority?: string;
    /** `X-Tags`: comma-separated tags / emoji short codes. */
    tags?: string;
}

const MAX_BODY_BYTES = 4096;
// ntfy.sh's default attachment-file-size-limit (15M); larger files are linked.
const MAX_ATTACHMENT_BYTES = 15 * 1024 * 1024;
const DEFAULT_SERVER = 'https://ntfy.sh';
const TOPIC = /^[-_A-Za-z0-9]{1,64}$/;
const PRIORITIES: Record<string, string> = { 1: 'min', 2: 'low', 3: 'default', 4: 'high', 5: 'max', min: 'min', low: 'low', default: 'default', high: 'high', max: 'max', urgent: 'max' };

function checkTopic(key: string, topic: string): string {
    if (!TOPIC.test(topic)) {
        throw new ConfigError(key, `must be 1-64 letters, digits, - or _, got "${topic}"`);
    }
    return topic;
}

function parseConfig(raw: Record<string, unknown>): NtfyConfig {
    const server = raw.server === undefined ? DEFAULT_SERVER : requireHttpUrl(raw, 'server', 'the ntfy server URL');
    const topic = optionalString(raw, 'topic');
    const accessToken = optionalString(raw, 'access_token');
    const username = optionalString(raw, 'username');
    const password = optionalString(raw, 'password');
    let authorization: string | undefined;
    if (accessToken !== undefined) {
        if (username !== undefined) {
            throw new ConfigError('access_token', 'give either access_token or username and password, not both');
        }
        authorization = `Bearer ${accessToken}`;
    } else if (username !== undefined || password !== undefined) {
        if (username === undefined || password === undefined) {
            throw new ConfigError(username === undefined ? 'username' : 'password', 'is required with the other (Basic authentication)');
        }
        authorization = `Basic ${bytesToBase64(new TextEncoder().encode(`${username}:${password}`))}`;
    }
    const priorityValue = typeof raw.priority === 'number' ? String(raw.priority) : optionalString(raw, 'priority');
    const priority = priorityValue !== undefined ? PRIORITIES[priorityValue.toLowerCase()] : undefined;
    if (priorityValue !== undefined && !priority) {
        throw new ConfigError('priority', `must be 1-5 or min, low, default, high, max; got "${priorityValue}"`);
    }
    const tags = optionalString(raw, 'tags');
    if (tags !== undefined && !/^[\x20-\x7e]+$/.test(tags)) {
        throw new ConfigError('tags', 'must be ASCII (emoji go by short code, e.g. warning,rocket)');
    }
    return { server, topic: topic === undefined ? undefined : checkTopic('topic', topic), authorization, priority, tags };
}

/** Apprise's priority words and numbers for ntfy (moderate → low, emergency → max). */
function appPriority(value: string): string {
    const word = value.toLowerCase();
    if (/^mo/.test(word)) {
        return 'low';
    }
    if (/^(e|ma)/.test(word)) {
        return 'max';
    }
    if (/^mi/.test(word)) {
        return 'min';
    }
    if (/^n/.test(word)) {
        return 'default';
    }
    return value;
}

/**
 * ntfy://{topic} (ntfy.sh), ntfy(s)://[user:password@|token@]host[:port]/{topic}, ntfys:// for
 * https. `?token=`, `?auth=token|basic`, `?priority=`, `?tags=`, `?mode=cloud|private`. One topic per URL.
 */
function fromUrl(url: URL): Record<string, unknown> {
    if (!url.hostname) {
        throw new ConfigError('', 'expected ntfy://{topic} or ntfy(s)://host/{topic}');
    }
    const topics = pathSegments(url);
    const extraTopics = queryValue(url, 'to');
    if (extraTopics) {
        extraTopics.split(/[\s,]+/).filter((topic) => topic).forEach((topic) => topics.push(topic));
    }
    const host = decodeUrlPart(url.hostname);
    const mode = (queryValue(url, 'mode') || (topics.length === 0 || /(^|\.)ntfy\.sh$/i.test(host) ? 'cloud' : 'private')).toLowerCase();
    if (mode !== 'cloud' && mode !== 'private') {
        throw new ConfigError('mode', `must be cloud or private, got "${mode}"`);
    }
    const raw: Record<string, unknown> = {};
    if (mode === 'cloud') {
        // ntfy.sh is always https; a host that is not ntfy.sh is the topic.
        if (!/(^|\.)ntfy\.sh$/i.test(host)) {
            topics.unshift(host);
        }
    } else {
        raw.server = `${url.protocol === 'ntfys:' ? 'https' : 'http'}://${url.host}`;
    }
    if (topics.length === 0) {
        throw new ConfigError('topic', 'is missing: ntfy://{topic} or ntfy(s)://host/{topic}');
    }
    if (topics.length > 1) {
        throw new ConfigError('targets', `one topic per URL, got ${topics.join(', ')}; relay to more topics with more rules`);
    }
    raw.topic = checkTopic('topic', topics[0]);
    const user = decodeUrlPart(url.username);
    const password = decodeUrlPart(url.password);
    const auth = (queryValue(url, 'auth') || '').toLowerCase();
    const token = queryValue(url, 'token');
    if (token) {
        raw.access_token = token;
    } else if (auth === 'token' || (auth === '' && user && !password && /^tk_/i.test(user))) {
        raw.access_token = password || user;
    } else if (user) {
        if (!password) {
            throw new ConfigError('password', 'is missing: ntfy://user:password@host/topic, or an access token as ntfy://tk_…@host/topic');
        }
        raw.username = user;
        raw.password = password;
    }
    const priority = queryValue(url, 'priority');
    if (priority) {
        raw.priority = appPriority(priority);
    }
    const tags = queryValue(url, 'tags', 'xtags');
    if (tags) {
        raw.tags = tags;
    }
    return raw;
}

// ---------------------------------------------------------------------------------------------
// Requests

/** A header value as ASCII: as is when it already is, else an RFC 2047 encoded word. */
export function headerValue(text: string): string {
    const flat = text.replace(/[\r\n]+/g, ' ').trim();
    return /^[\x20-\x7e]*$/.test(flat) ? flat : `=?UTF-8?B?${bytesToBase64(new TextEncoder().encode(flat))}?=`;
}

function topicFor(input: DeliveryInput<NtfyConfig>): string {
    const topic = input.channel.topic || input.config.topic;
    if (!topic) {
        throw new TargetError('ntfy: no topic; set topic in the rule channel or the instance', 0, false);
    }
    if (!TOPIC.test(topic)) {
        throw new TargetError(`ntfy: topic must be 1-64 letters, digits, - or _, got "${topic}"`, 0, false);
    }
    return topic;
}

function buildRequests(input: DeliveryInput<NtfyConfig>): OutboundRequest[] {
    if (input.message.event !== 'sent') {
        return []; // no edits or deletes (see the top of this file)
    }
    const { config, rendered } = input;
    const attachments = input.files.filter((file) => file.bytes !== undefined && file.bytes.length <= MAX_ATTACHMENT_BYTES);
    const links = input.files.filter((file) => attachments.indexOf(file) < 0).map(fileMarkdown);
    const text = [toCommonMark(rendered.text)].concat(links).filter((line) => line.trim().length > 0).join('\n');
    const headers: Record<string, string> = {};
    if (rendered.alias.trim()) {
        headers['X-Title'] = headerValue(rendered.alias);
    }
    if (rendered.avatarUrl && /^https:\/\/[\x21-\x7e]+$/.test(rendered.avatarUrl)) {
        headers['X-Icon'] = rendered.avatarUrl;
    }
    headers['X-Markdown'] = 'yes';
    if (config.priority) {
        headers['X-Priority'] = config.priority;
    }
    if (config.tags) {
        headers['X-Tags'] = config.tags;
    }
    if (config.authorization) {
        headers.Authorization = config.authorization;
    }
    const url = `${config.server}/${topicFor(input)}`;
    const requests: OutboundRequest[] = splitToFit(text, MAX_BODY_BYTES, (chunk) => utf8Length(chunk) <= MAX_BODY_BYTES)
        .map((body) => ({ method: 'POST' as const, url, headers: Object.assign({}, headers), body }));
    delete headers['X-Markdown']; // an attachment's notification has no text of ours
    return requests.concat(attachments.map((file) => ({
        method: 'PUT' as const,
        url,
        headers: Object.assign({}, headers, { Filename: headerValue(file.name), 'Content-Type': file.mimeType || 'application/octet-stream' }),
        bytes: file.bytes,
    })));
}

function readResponse(_input: DeliveryInput<NtfyConfig>, _request: OutboundRequest, response: HttpResult): { remoteId?: string } {
    const body = parseJsonBody(response);
    if (isSuccessStatus(response.status)) {
        return body && typeof body.id === 'string' ? { remoteId: body.id } : {};
    }
    // {"code":40301,"http":403,"error":"forbidden","link":"https://ntfy.sh/docs/publish/#authentication"}
    const detail = body && typeof body.error === 'string' ? `${body.error}${body.code ? ` (code ${body.code})` : ''}` : undefined;
    throw responseError('ntfy', response, detail);
}

function describe(config: NtfyConfig): string {
    const auth = config.authorization ? (config.authorization.indexOf('Bearer') === 0 ? ' with token' : ' with password') : '';
    return `ntfy ${originOf(config.server)} topic ${config.topic || '(from the rule channel)'}${auth}`;
}

export const ntfyTarget: TargetAdapter<NtfyConfig> = {
    type: 'ntfy',
    schemes: ['ntfy', 'ntfys'],
    templates: 'webhook',
    capabilities: () => ({ edit: false, delete: false, threads: false, upload: true }),
    docs: {
        files: 'upload',
        filesHow: 'one attachment notification per file (`PUT` + `Filename`, 15 MiB, ntfy.sh\'s default)',
        rows: [
            {
                target: 'ntfy',
                instance: '`ntfy://{topic}` (ntfy.sh), `ntfy(s)://[user:password@\\|tk_token@]host/{topic}` or `{ "type": "ntfy", "server": …, "topic": …, "access_token": … }`; rule channel `{ "topic": … }`',
                identity: '`X-Title` name (RFC 2047 when not ASCII), `X-Icon` https avatar',
                notes: 'markdown body split at 4096 bytes, files as attachments, `priority`/`tags`; no edits or deletes (older servers would duplicate)',
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
