// Zulip through a bot's REST API: `POST {site}/api/v1/messages` with HTTP basic auth (bot email +
// API key) and a form body `type=stream&to=<stream>&topic=<topic>&content=<text>`; edits
// `PATCH /api/v1/messages/{id}` (`content=`), deletes `DELETE /api/v1/messages/{id}` (the
// organization must let members delete their own messages, or the bot must be an admin).
//
// Destination: the rule channel's `stream` and `topic`, or `to` (an e-mail address: a direct
// message), the instance's as defaults; without any, the stream `general` (as Apprise). `{room}`
// in the topic becomes the Rocket.Chat room name; the default topic is `{room}`, so each room gets
// its own topic. Zulip has no per-message name or avatar: the name leads the text as `**Name**: `.
// Zulip's topics are its threads, so a Rocket.Chat thread reply is an ordinary message here.
//
// Files with bytes are uploaded first (`POST /api/v1/user_uploads`, multipart) and the message
// links the `/user_uploads/…` path Zulip answers (Zulip shares a file by linking it); an edit
// rebuilds the text with links to Rocket.Chat, as the upload paths are not kept.
//
// Remote id: the Zulip message id.
//
// Apprise URL: zulip://{botname}@{organization}/{token}[/{stream}] — the bot's email is
// `{botname}-bot@{organization}.zulipchat.com` (a trailing `-bot` in botname is not doubled), and an
// organization with a dot (`chat.example.com`) is a self-hosted server's host name.

import { ConfigError } from '../core/errors';
import type { HttpResult, OutboundRequest } from '../core/http';
import { parseJsonBody } from '../core/http';
import { bytesToBase64 } from '../core/multipart';
import { neutraliseMentions, toCommonMark } from '../core/text';
import {
    fileMarkdown, markdownLink, decodeUrlPart, fitChunksToParts, isSuccessStatus, optionalString, originOf, pathSegments, queryValue, requireString, responseError,
    requestsForEvent,
} from './common';
import { splitToFit, truncateToFit, utf8Length } from './sizing';
import { requireSecureUrl } from './slack';
import type { DeliveryInput, ReadResult, TargetAdapter, UrlInstance } from '../core/adapter';
import { TargetError } from '../core/adapter';
import { readRateLimitHeaders } from '../core/pacing';

export interface ZulipConfig {
    /** `https://{org}.zulipchat.com` or a self-hosted server, without trailing slash. */
    site: string;
    botEmail: string;
    apiKey: string;
    /** Default stream (`general` when neither it nor `to` is given); the rule channel's wins. */
    stream?: string;
    /** Default direct-message recipient (an e-mail address) instead of a stream. */
    to?: string;
    /** Default topic template; the rule channel's `topic` wins. */
    topic: string;
}

const MAX_BYTES = 10000; // Zulip's message length limit
const MAX_TOPIC = 60; // Zulip's topic length limit (code points)
const MAX_UPLOAD_BYTES = 25 * 1024 * 1024; // Zulip's default MAX_FILE_UPLOAD_SIZE; larger files are linked
const DEFAULT_TOPIC = '{room}';
const DEFAULT_HOST = 'zulipchat.com';
const BOTNAME = /^[A-Za-z0-9_-]{1,32}$/;
const ORGANIZATION = /^([A-Za-z0-9_-]{1,32})(?:\.([A-Za-z0-9.-]+))?$/;
const DEFAULT_STREAM = 'general';
/** A Zulip API key as the server issues it (Apprise checks URLs for the same). */
const URL_API_KEY = /^[A-Za-z0-9]{32}$/;
const EMAIL = /^[^\s@/]+@[^\s@/]+$/;

function parseConfig(raw: Record<string, unknown>): ZulipConfig {
    const site = requireSecureUrl(raw, 'site', 'the Zulip server, e.g. https://example.zulipchat.com');
    if (/^[a-z]+:\/\/[^/]+\/./i.test(site)) {
        throw new ConfigError('site', 'must be the server address only, e.g. https://example.zulipchat.com (no path)');
    }
    const botEmail = requireString(raw, 'bot_email', "the bot's email, e.g. relay-bot@example.zulipchat.com");
    if (!/^[^\s:@]+@[^\s@]+$/.test(botEmail)) {
        throw new ConfigError('bot_email', `must be the bot's email address, got "${botEmail}"`);
    }
    const apiKey = requireString(raw, 'api_key', "the bot's API key");
    if (/[\s]/.test(apiKey)) {
        throw new ConfigError('api_key', 'must be the API key shown under Settings → Bots (no spaces)');
    }
    const to = optionalString(raw, 'to');
    if (to !== undefined && !EMAIL.test(to)) {
        throw new ConfigError('to', `must be the e-mail address of the direct message's recipient, got "${to}"`);
    }
    return {
        site,
        botEmail,
        apiKey,
        stream: optionalString(raw, 'stream') || (to ? undefined : DEFAULT_STREAM),
        to,
        topic: optionalString(raw, 'topic') || DEFAULT_TOPIC,
    };
}

/**
 * zulip://{botname}@{organization}/{token}[/{stream}|/{email}…], `?token=` and `?to=a/b,c` as in
 * Apprise: each target is a destination, an e-mail address a direct message.
 */
function fromUrl(url: URL): UrlInstance {
    const botname = decodeUrlPart(url.username).replace(/-bot$/i, '');
    const organization = ORGANIZATION.exec(decodeUrlPart(url.hostname));
    if (!BOTNAME.test(botname)) {
        throw new ConfigError('botname', 'expected zulip://{botname}@{organization}/{token}');
    }
    if (!organization) {
        throw new ConfigError('organization', 'expected zulip://{botname}@{organization}/{token}');
    }
    const segments = pathSegments(url);
    const token = queryValue(url, 'token') || segments.shift();
    if (!token) {
        throw new ConfigError('token', 'is missing (zulip://{botname}@{organization}/{token})');
    }
    if (!URL_API_KEY.test(token)) {
        throw new ConfigError('token', 'must be the 32-character API key shown under Settings → Bots');
    }
    const targets = segments.slice();
    const extraTargets = queryValue(url, 'to');
    if (extraTargets) {
        extraTargets.split(/[\s,/]+/).forEach((target) => targets.push(target));
    }
    const destinations = targets.map((target) => target.replace(/^#/, '')).filter((target) => target)
        .map((target): Record<string, string> => (EMAIL.test(target) ? { to: target } : { stream: target }));
    const org = organization[1].toLowerCase();
    const host = `${org}.${(organization[2] || DEFAULT_HOST).toLowerCase()}`;
    return { config: { site: `https://${host}`, bot_email: `${botname}-bot@${host}`, api_key: token }, destinations };
}

// ---------------------------------------------------------------------------------------------
// Text

// Zulip's wildcard mentions (`@**all**`, silent `@_**all**`) ping everyone; code spans are left alone.
const WILDCARD_MENTION = /(```[\s\S]*?```|`[^`\n]*`)|@(_?)\*\*(all|everyone|stream|channel|topic)\*\*/gi;

function neutraliseZulipMentions(text: string): string {
    return text.replace(WILDCARD_MENTION, (all: string, code: string | undefined, silent: string, word: string) =>
        (code !== undefined ? all : `@\u200B${silent}**${word}**`));
}

/** Zulip markdown with file links (to the uploaded copy when there is one); the name leads as `**Name**: `. */
function zulipText(input: DeliveryInput<ZulipConfig>): string {
    const text = neutraliseZulipMentions(neutraliseMentions(toCommonMark(input.rendered.text)));
    const links = input.files.map((file, index) => (input.carried[uploadKey(index)] ? markdownLink(file.name, input.carried[uploadKey(index)]) : fileMarkdown(file)));
    const body = [text].concat(links).filter((line) => line.trim().length > 0).join('\n');
    const name = (input.rendered.alias || '').replace(/\*/g, '').trim();
    return name && body ? `**${name}**: ${body}` : body;
}

function fitsBytes(chunk: string): boolean {
    return utf8Length(chunk) <= MAX_BYTES;
}

/** Parts of at most MAX_BYTES UTF-8 bytes. */
function splitToBytes(text: string): string[] {
    return splitToFit(text, MAX_BYTES, fitsBytes);
}

function truncateCodePoints(text: string, max: number): string {
    const points = Array.from(text);
    return points.length <= max ? text : `${points.slice(0, max - 1).join('')}\u2026`;
}

// ---------------------------------------------------------------------------------------------
// Requests

function form(fields: Array<[string, string]>): string {
    return fields.map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join('&');
}

function headers(config: ZulipConfig, withBody: boolean): Record<string, string> {
    const credentials = bytesToBase64(new TextEncoder().encode(`${config.botEmail}:${config.apiKey}`));
    const result: Record<string, string> = { Authorization: `Basic ${credentials}` };
    if (withBody) {
        result['Content-Type'] = 'application/x-www-form-urlencoded';
    }
    return result;
}

function messageUrl(config: ZulipConfig, remoteId: string): string {
    return `${config.site}/api/v1/messages/${encodeURIComponent(remoteId)}`;
}

function buildSent(input: DeliveryInput<ZulipConfig>): OutboundRequest[] {
    const { config, channel, message } = input;
    const ruleStream = channel.stream || channel.channel;
    const recipient = ruleStream ? undefined : channel.to || config.to;
    const stream = ruleStream || config.stream || DEFAULT_STREAM;
    const topicTemplate = channel.topic || config.topic;
    // Only `{room}` is substituted: the topic is an address, not a message template.
    const topic = truncateCodePoints(topicTemplate.split('{room}').join(message.room.name).trim(), MAX_TOPIC) || message.room.name;
    const uploads: OutboundRequest[] = [];
    input.files.forEach((file, index) => {
        if (file.bytes !== undefined && file.bytes.length <= MAX_UPLOAD_BYTES) {
            uploads.push({
                method: 'POST',
                url: `${config.site}/api/v1/user_uploads`,
                headers: headers(config, false),
                multipart: [{ name: 'filename', file: { filename: file.name, contentType: file.mimeType || 'application/octet-stream', bytes: file.bytes } }],
                tag: uploadKey(index),
            });
        }
    });
    // The text comes after the uploads: it links what they answered.
    return uploads.concat(splitToBytes(zulipText(input)).map((content) => ({
        method: 'POST' as const,
        url: `${config.site}/api/v1/messages`,
        headers: headers(config, true),
        // A direct message has no topic; `private` is the type every Zulip version accepts.
        body: form(recipient ? [['type', 'private'], ['to', recipient], ['content', content]]
            : [['type', 'stream'], ['to', stream], ['topic', topic], ['content', content]]),
    })));
}

/** Carried-value key of the uploaded copy of input.files[index]. */
function uploadKey(index: number): string {
    return `upload.${index}`;
}

function buildEdited(input: DeliveryInput<ZulipConfig>): OutboundRequest[] {
    const { config } = input;
    // An edit cannot add messages: overflow is merged into the last part, then cut to the byte limit.
    const chunks = fitChunksToParts(splitToBytes(zulipText(input)), input.remoteIds.length, MAX_BYTES)
        .map((chunk) => truncateToFit(chunk, MAX_BYTES, fitsBytes));
    return input.remoteIds.map((remoteId, part): OutboundRequest => (part < Math.max(chunks.length, 1)
        ? { method: 'PATCH', url: messageUrl(config, remoteId), headers: headers(config, true), body: form([['content', chunks[part] || '']]) }
        // The text got shorter than the parts it once needed: the surplus parts go.
        : { method: 'DELETE', url: messageUrl(config, remoteId), headers: headers(config, false) }));
}

function buildRequests(input: DeliveryInput<ZulipConfig>): OutboundRequest[] {
    return requestsForEvent(input, { sent: buildSent, edited: buildEdited, deleted: buildDeleted });
}

function buildDeleted(input: DeliveryInput<ZulipConfig>): OutboundRequest[] {
    return input.remoteIds.map((remoteId) => ({ method: 'DELETE' as const, url: messageUrl(input.config, remoteId), headers: headers(input.config, false) }));
}

function readResponse(_input: DeliveryInput<ZulipConfig>, request: OutboundRequest, response: HttpResult): ReadResult {
    const body = parseJsonBody(response);
    if (isSuccessStatus(response.status) && (!body || body.result !== 'error')) {
        if (request.multipart) {
            // `url` since Zulip 9.0, `uri` before (still sent, deprecated).
            const path = body && (typeof body.url === 'string' ? body.url : body.uri);
            if (typeof path !== 'string' || !path) {
                throw new TargetError(`Zulip answered ${response.status} to an upload without its url`, response.status, false);
            }
            return { carry: { [request.tag as string]: path } };
        }
        if (request.method === 'PATCH') {
            // The edited message keeps its id; answering it keeps the id map exact after an edit dropped parts.
            return { remoteId: decodeURIComponent(request.url.slice(request.url.lastIndexOf('/') + 1)) };
        }
        return body && request.method === 'POST' && (typeof body.id === 'number' || typeof body.id === 'string') ? { remoteId: String(body.id) } : {};
    }
    const msg = body && typeof body.msg === 'string' ? body.msg : undefined;
    if (request.method === 'DELETE' && body && body.code === 'BAD_REQUEST' && msg === 'Invalid message(s)') {
        return {}; // already gone: the delete has happened
    }
    const detail = msg ? `${msg}${typeof body.code === 'string' ? ` [${body.code}]` : ''}` : undefined;
    if (isSuccessStatus(response.status)) {
        throw new TargetError(`Zulip refused: ${detail || 'result error'}`, response.status, false);
    }
    // A rate-limited answer carries `retry-after` (seconds) in the body as well as the header.
    throw responseError('Zulip', response, detail, body ? body['retry-after'] : undefined);
}

export const zulipTarget: TargetAdapter<ZulipConfig> = {
    type: 'zulip',
    schemes: ['zulip'],
    templates: 'webhook',
    capabilities: () => ({ edit: true, delete: true, threads: false, upload: true }),
    docs: {
        files: 'upload',
        filesHow: '`/api/v1/user_uploads` (25 MiB), then the message links the uploaded copy (Zulip shares files by link)',
        rows: [
            {
                target: 'Zulip',
                instance: '`zulip://{bot}@{org}/{api_key}[/{stream}]` (email `{bot}-bot@{org}.zulipchat.com`) or `{ "type": "zulip", "site": …, "bot_email": …, "api_key": …, "stream": … }`; rule channel `{ "stream": "general", "topic": "{room}" }` or `{ "to": "user@example.com" }` (a direct message); stream `general` when none is named',
                identity: '`**Name**: ` before the text',
                notes: '10 000 bytes per message; files uploaded and linked; edits (`PATCH`) and deletes (the bot must be allowed to delete its messages); topic default `{room}`, 60 chars',
            },
        ],
    },
    parseConfig,
    endpoints: (config) => [config.site],
    fromUrl,
    describe: (config) => `zulip ${originOf(config.site)} as ${config.botEmail}${config.to ? ' direct message' : config.stream ? ` #${config.stream}` : ''}`,
    buildRequests,
    readResponse,
    rateLimits: { announced: (response, now) => readRateLimitHeaders(response.headers, 'epoch-seconds', now) },
};
