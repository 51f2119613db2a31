// Slack, in one of two modes:
//
// - `webhook` (incoming webhook, `webhook_url`): `{text, channel?, username?, icon_url?}`. The
//   webhook answers a plain `ok` without a message id, so there is nothing to edit, delete or reply
//   to: buildRequests returns [] for edits and deletes (capabilities are static and describe bot
//   mode, as in rocketchat.ts webhook mode).
// - `api` (a bot token, `bot_token` + `channel`): chat.postMessage, chat.update, chat.delete, and
//   thread replies through `thread_ts` of the mapped parent. Errors come back as HTTP 200
//   `{ok: false, error}`.
//
// Identity: Slack apps created since 2020 ignore `username`/`icon_url` on incoming webhooks, and a
// bot needs the chat:write.customize scope for them. So by default (`identity: "prefix"`) the name
// goes into the text as `*Name*: …`; `identity: "legacy"` sends `username`/`icon_url` instead.
//
// Files (api mode): each file's bytes go up through `files.getUploadURLExternal` (a one-time URL
// and a file id) and a POST to that URL; then one `files.completeUploadExternal` shares them all
// in the channel (in the thread for a reply), after the text. Sharing needs the channel's id: the
// rule's `channel_id`, an id-looking channel, or the one chat.postMessage answered for the text;
// a file-only message to a `#name` therefore has its files linked. Webhooks cannot upload: links.
// The share message's ts is not in the answer (Slack shares asynchronously), so edits and deletes
// leave files alone.
//
// Remote id (api mode): "channelId/ts" — chat.update and chat.delete need the channel id, which
// chat.postMessage answers even when it was given a `#name`.
//
// Apprise URLs: slack://[botname@]{T}/{B}/{C}[/#channel] (webhook), slack://[botname@]xoxb-…/#channel
// (bot), and the https://hooks.slack.com/services/T/B/C URL Slack shows.

import { ConfigError } from '../core/errors';
import type { HttpResult, OutboundRequest } from '../core/http';
import { parseJsonBody } from '../core/http';
import { neutraliseMentions, splitText, toSlackMrkdwn } from '../core/text';
import {
    bodyExcerpt, decodeUrlPart, fitChunksToParts, isSuccessStatus, optionalString, originOf, pathSegments, queryValue, requireString,
    responseError, retryAfterMs, singleUrlChannel,
} from './common';
import type { DeliveryInput, OutboundFile, ReadResult, TargetAdapter } from '../core/adapter';
import { TargetError } from '../core/adapter';

export interface SlackConfig {
    mode: 'webhook' | 'api';
    /** Webhook mode: the incoming webhook URL. */
    webhookUrl?: string;
    /** Api mode: the bot (or user) OAuth token. */
    botToken?: string;
    /** Api mode: base of the Web API, `https://slack.com/api` unless pointed at a stand-in. */
    apiUrl: string;
    /** Default channel (`#name` or an id); the rule channel's `channel`/`channel_id` wins. */
    channel?: string;
    identity: 'prefix' | 'legacy';
    /** Username when the message has no alias (Apprise `botname`). */
    botname?: string;
    /** Icon when the message has no avatar. */
    iconUrl?: string;
}

const MAX_TEXT = 40000; // Slack truncates longer text
const MAX_UPLOAD_BYTES = 1024 * 1024 * 1024; // Slack's file size limit, 1 GB
// Channel, group and DM ids, as opposed to `#name`.
const CHANNEL_ID = /^[CGD][A-Z0-9]{6,}$/;
const CHANNEL_KEY = 'channel';
const DEFAULT_API_URL = 'https://slack.com/api';
const WEBHOOK_PATH = /^\/services\/[A-Za-z0-9]+\/[A-Za-z0-9]+\/[A-Za-z0-9]+\/?$/;
const NATIVE_HOST = /^hooks\.slack(?:-gov)?\.com$/i;
const BOT_TOKEN = /^(?:xoxe\.)?xox[abp]-[A-Za-z0-9-]+$/;
const WEBHOOK_TOKEN = /^[A-Za-z0-9]+$/;
// Errors Slack documents as temporary: worth another try.
const RETRYABLE_ERRORS = ['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout'];

/**
 * An https URL, or http for loopback only (a local stand-in: tests, the local host's demo sinks),
 * without trailing slashes. The value is not echoed in the error: these URLs carry secrets.
 */
export function requireSecureUrl(raw: Record<string, unknown>, key: string, why: string): string {
    const value = requireString(raw, key, why);
    if (!/^(?:https:\/\/[^/?#\s@]+|http:\/\/(?:localhost|127\.0\.0\.1)(?::\d+)?)(?:[/?][^\s]*)?$/i.test(value)) {
        throw new ConfigError(key, 'must be an https URL (http only for localhost or 127.0.0.1)');
    }
    return value.replace(/\/+$/, '');
}

/** `#general`, `C0123ABC` (an id) or `@user`; Apprise's `+C0123ABC` (encoded id) loses its `+`. */
function channelTarget(value: string, key: string): string {
    const channel = value.charAt(0) === '+' ? value.slice(1) : value;
    if (!/^[#@]?[A-Za-z0-9_.\-]{1,80}$/.test(channel)) {
        throw new ConfigError(key, `"${value}" is not #channel, a channel id or @user`);
    }
    return channel;
}

function parseConfig(raw: Record<string, unknown>): SlackConfig {
    const webhookUrl = optionalString(raw, 'webhook_url');
    const botToken = optionalString(raw, 'bot_token');
    const identity = optionalString(raw, 'identity') || 'prefix';
    if (identity !== 'prefix' && identity !== 'legacy') {
        throw new ConfigError('identity', `must be "prefix" (name in the text) or "legacy" (username/icon_url), got "${identity}"`);
    }
    const iconUrl = optionalString(raw, 'icon_url');
    if (iconUrl !== undefined && !/^https?:\/\//i.test(iconUrl)) {
        throw new ConfigError('icon_url', 'must be an http(s) URL');
    }
    const channelValue = optionalString(raw, 'channel');
    const config: SlackConfig = {
        mode: botToken ? 'api' : 'webhook',
        apiUrl: DEFAULT_API_URL,
        channel: channelValue === undefined ? undefined : channelTarget(channelValue, 'channel'),
        identity,
        botname: optionalString(raw, 'botname'),
        iconUrl,
    };
    if (webhookUrl && botToken) {
        throw new ConfigError('bot_token', 'give either webhook_url (incoming webhook) or bot_token (chat.postMessage), not both');
    }
    if (botToken) {
        if (!BOT_TOKEN.test(botToken)) {
            throw new ConfigError('bot_token', 'must be a Slack OAuth token (xoxb-…, or xoxp-… for a user token)');
        }
        config.botToken = botToken;
        if (raw.api_url !== undefined) {
            config.apiUrl = requireSecureUrl(raw, 'api_url', 'base of the Slack Web API');
        }
        return config;
    }
    if (!webhookUrl) {
        throw new ConfigError('webhook_url', 'is required (or bot_token and channel for chat.postMessage)');
    }
    const secure = requireSecureUrl(raw, 'webhook_url', 'the incoming webhook URL');
    if (!WEBHOOK_PATH.test(secure.replace(/^[a-z]+:\/\/[^/]+/i, ''))) {
        throw new ConfigError('webhook_url', 'must look like https://hooks.slack.com/services/T…/B…/…');
    }
    config.webhookUrl = secure;
    return config;
}

function acceptsNativeUrl(url: URL): boolean {
    return url.protocol === 'https:' && NATIVE_HOST.test(url.hostname) && WEBHOOK_PATH.test(url.pathname);
}

/**
 * slack://[botname@]{token_a}/{token_b}/{token_c}[/{#channel}]   incoming webhook
 * slack://[botname@]{xoxb-token}/{#channel}                        bot: chat.postMessage
 * `?to=` adds the channel; one channel per URL. Also https://hooks.slack.com/services/T/B/C.
 */
function fromUrl(url: URL): Record<string, unknown> {
    if (url.protocol === 'https:') {
        return { webhook_url: `https://${url.host}${url.pathname.replace(/\/+$/, '')}` };
    }
    const first = decodeUrlPart(url.hostname);
    const segments = pathSegments(url);
    const raw: Record<string, unknown> = {};
    let targets: string[];
    if (first.slice(0, 2).toLowerCase() === 'xo') {
        raw.bot_token = first;
        targets = segments;
    } else {
        const tokens = [first].concat(segments.slice(0, 2));
        if (tokens.length !== 3 || !tokens.every((token) => WEBHOOK_TOKEN.test(token))) {
            throw new ConfigError('', 'expected slack://{token_a}/{token_b}/{token_c} (webhook) or slack://{xoxb-token}/#channel (bot)');
        }
        raw.webhook_url = `https://hooks.slack.com/services/${tokens.join('/')}`;
        targets = segments.slice(2);
    }
    const extraTargets = queryValue(url, 'to');
    if (extraTargets) {
        extraTargets.split(/[\s,]+/).filter((target) => target).forEach((target) => targets.push(target));
    }
    const channel = singleUrlChannel(targets, 'targets');
    if (channel) {
        raw.channel = channel;
    }
    if (url.username) {
        raw.botname = decodeUrlPart(url.username);
    }
    const identity = queryValue(url, 'identity');
    if (identity) {
        raw.identity = identity;
    }
    return raw;
}

// ---------------------------------------------------------------------------------------------
// Remote ids

export function encodeRemoteId(channelId: string, ts: string): string {
    return `${channelId}/${ts}`;
}

export function decodeRemoteId(remoteId: string): { channel?: string; ts: string } {
    const slash = remoteId.indexOf('/');
    return slash < 0 ? { ts: remoteId } : { channel: remoteId.slice(0, slash), ts: remoteId.slice(slash + 1) };
}

// ---------------------------------------------------------------------------------------------
// Requests

function escapeSlack(text: string): string {
    return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function channelFor(input: DeliveryInput<SlackConfig>): string | undefined {
    const ruleChannel = input.channel.channel_id || input.channel.channel;
    // Rule channels are not validated at config time; Slack itself refuses a bad one.
    return ruleChannel ? ruleChannel.replace(/^\+/, '') : input.config.channel;
}

/**
 * Whether a file goes up as a file: api mode, within Slack's limit, with bytes when sending (for an
 * edit, whether it could have: the text must keep the links it had).
 */
function isUpload(input: DeliveryInput<SlackConfig>, file: OutboundFile, needBytes: boolean): boolean {
    return input.config.mode === 'api' && (!needBytes || file.bytes !== undefined) && (file.bytes ? file.bytes.length : file.size) <= MAX_UPLOAD_BYTES;
}

/** mrkdwn text with links to the files not uploaded; in prefix identity the name leads as `*Name*: `. */
function slackText(input: DeliveryInput<SlackConfig>, uploads: OutboundFile[] = []): string {
    const text = neutraliseMentions(toSlackMrkdwn(input.rendered.text));
    // `|` and `>` would end the link early: the URL keeps them percent-encoded, the label drops `|`.
    const links = input.files.filter((file) => uploads.indexOf(file) < 0).map((file) =>
        file.label ? escapeSlack(file.label) : `<${file.url.replace(/\|/g, '%7C').replace(/>/g, '%3E')}|${escapeSlack(file.name).replace(/\|/g, '')}>`);
    const body = [text].concat(links).filter((line) => line.trim().length > 0).join('\n');
    const name = escapeSlack(input.rendered.alias || '').replace(/\*/g, '').trim();
    return input.config.identity === 'prefix' && name && body ? `*${name}*: ${body}` : body;
}

function identityFields(input: DeliveryInput<SlackConfig>): Record<string, unknown> {
    const { config, rendered } = input;
    const legacy = config.identity === 'legacy';
    const fields: Record<string, unknown> = {};
    const username = (legacy && rendered.alias) || config.botname;
    if (username) {
        fields.username = username;
    }
    const iconUrl = (legacy && rendered.avatarUrl) || config.iconUrl;
    if (iconUrl) {
        fields.icon_url = iconUrl;
    }
    return fields;
}

function apiRequest(config: SlackConfig, method: string, payload: Record<string, unknown>): OutboundRequest {
    return {
        method: 'POST',
        url: `${config.apiUrl}/${method}`,
        // Slack warns about JSON bodies without a charset.
        headers: { 'Content-Type': 'application/json; charset=utf-8', Authorization: `Bearer ${config.botToken}` },
        body: JSON.stringify(payload),
    };
}

function buildSent(input: DeliveryInput<SlackConfig>): OutboundRequest[] {
    const { config } = input;
    const identity = identityFields(input);
    if (config.mode === 'webhook') {
        const channel = channelFor(input);
        return splitText(slackText(input), MAX_TEXT).map((text) => ({
            method: 'POST' as const,
            url: config.webhookUrl as string,
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify(Object.assign(channel ? { channel } : {}, { text }, identity)),
        }));
    }
    const parent = input.remoteThreadId ? decodeRemoteId(input.remoteThreadId) : undefined;
    // A reply goes to the parent's channel: its id is known, the rule may only name it.
    const channel = (parent && parent.channel) || channelFor(input);
    if (!channel) {
        throw new TargetError('Slack: no channel; set channel in the rule channel or the instance', 0, false);
    }
    let uploads = input.files.filter((file) => isUpload(input, file, true));
    let texts = splitText(slackText(input, uploads), MAX_TEXT);
    if (uploads.length > 0 && texts.length === 0 && !CHANNEL_ID.test(channel)) {
        uploads = []; // no text to learn the channel id from: link the files instead
        texts = splitText(slackText(input), MAX_TEXT);
    }
    const requests = texts.map((text) => {
        const payload: Record<string, unknown> = { channel, text };
        if (parent) {
            payload.thread_ts = parent.ts;
        }
        return apiRequest(config, 'chat.postMessage', Object.assign(payload, identity));
    });
    if (uploads.length === 0) {
        return requests;
    }
    uploads.forEach((file, index) => {
        const bytes = file.bytes as Uint8Array;
        requests.push({
            method: 'POST',
            url: `${config.apiUrl}/files.getUploadURLExternal`,
            headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Bearer ${config.botToken}` },
            body: `filename=${encodeURIComponent(file.name)}&length=${bytes.length}`,
            tag: uploadKey(index),
        });
        // The one-time URL is signed: no token goes with the bytes. Known once the request above answered.
        requests.push({
            method: 'POST',
            url: input.carried[`${uploadKey(index)}.url`] || '',
            headers: {},
            multipart: [{ name: 'filename', file: { filename: file.name, contentType: file.mimeType || 'application/octet-stream', bytes } }],
        });
    });
    const share: Record<string, unknown> = {
        files: uploads.map((file, index) => ({ id: input.carried[`${uploadKey(index)}.id`] || '', title: file.name })),
        channel_id: CHANNEL_ID.test(channel) ? channel : input.carried[CHANNEL_KEY] || '',
    };
    if (parent) {
        share.thread_ts = parent.ts;
    }
    const name = escapeSlack(input.rendered.alias || '').replace(/\*/g, '').trim();
    if (texts.length === 0 && config.identity === 'prefix' && name) {
        share.initial_comment = `*${name}*`; // who shared them, as text messages say
    }
    requests.push(apiRequest(config, 'files.completeUploadExternal', share));
    return requests;
}

/** Carried-value key of the `index`th upload (`.url`, `.id`). */
function uploadKey(index: number): string {
    return `file.${index}`;
}

function buildEdited(input: DeliveryInput<SlackConfig>): OutboundRequest[] {
    const fallbackChannel = channelFor(input);
    const uploaded = input.files.filter((file) => isUpload(input, file, false));
    const chunks = fitChunksToParts(splitText(slackText(input, uploaded), MAX_TEXT), input.remoteIds.length, MAX_TEXT);
    return input.remoteIds.map(decodeRemoteId).map((part, index) => {
        const target = { channel: part.channel || fallbackChannel, ts: part.ts };
        return index < Math.max(chunks.length, 1)
            ? apiRequest(input.config, 'chat.update', Object.assign(target, { text: chunks[index] || '' }))
            // The text got shorter than the parts it once needed: the surplus parts go.
            : apiRequest(input.config, 'chat.delete', target);
    });
}

function buildRequests(input: DeliveryInput<SlackConfig>): OutboundRequest[] {
    if (input.message.event === 'sent') {
        return buildSent(input);
    }
    if (input.config.mode === 'webhook') {
        return []; // an incoming webhook cannot edit or delete
    }
    if (input.message.event === 'edited') {
        return buildEdited(input);
    }
    const fallbackChannel = channelFor(input);
    return input.remoteIds.map(decodeRemoteId).map((part) =>
        apiRequest(input.config, 'chat.delete', { channel: part.channel || fallbackChannel, ts: part.ts }));
}

function readResponse(input: DeliveryInput<SlackConfig>, request: OutboundRequest, response: HttpResult): ReadResult {
    const isUploadUrl = request.multipart !== undefined;
    if (input.config.mode === 'webhook' || isUploadUrl) {
        // Success is a plain `ok` (the upload URL: `OK - {length}`); failures are plain text such as `invalid_payload`.
        if (!isSuccessStatus(response.status)) {
            throw responseError(isUploadUrl ? 'Slack file upload' : 'Slack', response);
        }
        return {};
    }
    const body = parseJsonBody(response);
    if (body && body.ok === true && isSuccessStatus(response.status)) {
        if (request.tag) {
            return readUploadUrl(request.tag, body);
        }
        const isPost = /\/chat\.postMessage$/.test(request.url);
        if (!isPost && !/\/chat\.update$/.test(request.url)) {
            return {};
        }
        const result: ReadResult = typeof body.channel === 'string' && typeof body.ts === 'string' ? { remoteId: encodeRemoteId(body.channel, body.ts) } : {};
        if (isPost && typeof body.channel === 'string' && input.files.length > 0 && !input.carried[CHANNEL_KEY]) {
            result.carry = { [CHANNEL_KEY]: body.channel }; // the id files are shared to
        }
        return result;
    }
    const error = body && typeof body.error === 'string' ? body.error : undefined;
    if (error === 'message_not_found' && /\/chat\.delete$/.test(request.url)) {
        return {}; // already gone: the delete has happened
    }
    if (!isSuccessStatus(response.status)) {
        throw responseError('Slack', response, error);
    }
    // HTTP 200 with ok:false: Slack's usual way of failing.
    const retryable = RETRYABLE_ERRORS.indexOf(error || '') >= 0;
    throw new TargetError(`Slack answered ${response.status}: ${error || bodyExcerpt(response.body) || 'ok: false'}`,
        response.status, retryable, retryable ? retryAfterMs(response) : undefined);
}

/** files.getUploadURLExternal answers `{ok, upload_url, file_id}`. */
function readUploadUrl(key: string, body: any): ReadResult {
    if (typeof body.upload_url !== 'string' || typeof body.file_id !== 'string') {
        throw new TargetError('Slack answered files.getUploadURLExternal without upload_url and file_id', 200, false);
    }
    return { carry: { [`${key}.url`]: body.upload_url, [`${key}.id`]: body.file_id } };
}

const SLACK_LIMITS = [{ requests: 1, perMs: 1000 }];

export const slackTarget: TargetAdapter<SlackConfig> = {
    type: 'slack',
    schemes: ['slack'],
    templates: 'webhook',
    capabilities: (config) => { const api = config.mode === 'api'; return { edit: api, delete: api, threads: api, upload: api }; },
    docs: {
        files: 'upload',
        filesHow: 'bot mode: `files.getUploadURLExternal`, the bytes, one `files.completeUploadExternal` in the thread; an incoming webhook cannot upload: link',
        rows: [
            {
                target: 'Slack incoming webhook',
                instance: '`slack://{T}/{B}/{C}[/#channel]`, `https://hooks.slack.com/services/T/B/C`, or `{ "type": "slack", "webhook_url": … }`',
                identity: '`identity: "prefix"` (default): `*Name*: ` before the text; `"legacy"`: `username`/`icon_url` (ignored by Slack apps made since 2020)',
                notes: 'mrkdwn, 40 000 chars per message, files as links; no message ids, so no edits, deletes or threads',
            },
            {
                target: 'Slack bot (`chat.postMessage`)',
                instance: '`slack://xoxb-…/#channel` or `{ "type": "slack", "bot_token": …, "channel": "#general" }`; rule channel `{ "channel": "#x" }` or `{ "channel_id": "C…" }`',
                identity: 'as above; `legacy` needs the `chat:write.customize` scope',
                notes: '`chat.update`, `chat.delete`, thread replies via `thread_ts`; files uploaded (`files:write` scope); `ok:false` errors shown, `ratelimited` retried; `api_url` for a stand-in',
            },
        ],
    },
    parseConfig,
    endpoints: (config) => [config.mode === 'webhook' ? config.webhookUrl || '' : config.apiUrl],
    fromUrl: (url) => ({ config: fromUrl(url) }),
    acceptsNativeUrl,
    describe: (config) => (config.mode === 'api'
        ? `slack chat.postMessage ${config.channel || '(channel from the rule)'}${config.apiUrl !== DEFAULT_API_URL ? ` via ${originOf(config.apiUrl)}` : ''}`
        : `slack webhook ${originOf(config.webhookUrl || '')}`),
    buildRequests,
    readResponse,
    // Slack documents about one message a second per channel (webhook or chat.postMessage) and sends no headers.
    rateLimits: { published: () => SLACK_LIMITS },
};
