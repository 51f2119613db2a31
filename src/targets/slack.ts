// Slack, in one of four modes:
//
// - `webhook` (incoming webhook, `webhook_url`): `{text, channel?, username?, icon_url?}`. The
//   webhook answers a plain `ok` without a message id, so there is nothing to edit, delete or reply
//   to: buildRequests returns [] for edits and deletes (capabilities are static and describe bot
//   mode, as in rocketchat.ts webhook mode).
// - `api` (a bot token, `bot_token` + `channel`): chat.postMessage, chat.update, chat.delete, and
//   thread replies through `thread_ts` of the mapped parent. Errors come back as HTTP 200
//   `{ok: false, error}`. A channel may name a thread (`#channel:1700000000.123456`, Apprise's
//   syntax: replies go there) or be a user's e-mail address (`users.lookupByEmail` first, then
//   chat.postMessage to the user id: the app's direct message with that user).
// - `workflow` / `trigger` (Workflow Builder webhooks, https://hooks.slack.com/workflows/… and
//   /triggers/…): `{text}`, the variable the workflow reads, as Apprise sends it. Sent messages only.
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
// (bot), `?token=` for either token and `?to=` for the channel, slack://{T}/{F}/{X}/{Y}?mode=workflow,
// slack://{T}/{X}/{Y}?mode=trigger, and the https://hooks.slack.com/services|workflows|triggers/…
// URLs Slack shows.

import { ConfigError } from '../core/errors';
import type { HttpResult, OutboundRequest } from '../core/http';
import { parseJsonBody } from '../core/http';
import { neutraliseMentions, splitText, toSlackMrkdwn } from '../core/text';
import {
    bodyExcerpt, decodeUrlPart, fitChunksToParts, isSuccessStatus, optionalString, originOf, pathSegments, queryValue, requireString,
    responseError, retryAfterMs,
} from './common';
import type { DeliveryInput, OutboundFile, ReadResult, TargetAdapter, UrlInstance } from '../core/adapter';
import { TargetError } from '../core/adapter';

export interface SlackConfig {
    mode: 'webhook' | 'api' | 'workflow' | 'trigger';
    /** Webhook, workflow and trigger modes: the URL Slack gave. */
    webhookUrl?: string;
    /** Api mode: the bot (or user) OAuth token. */
    botToken?: string;
    /** Api mode: base of the Web API, `https://slack.com/api` unless pointed at a stand-in. */
    apiUrl: string;
    /** Default channel (`#name`, an id, `@user`, or in api mode an e-mail address); the rule channel's `channel`/`channel_id` wins. */
    channel?: string;
    /** Thread of the default channel (Apprise's `#channel:thread_ts`). */
    threadTs?: string;
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
// Workflow Builder webhooks: four segments; triggers (the newer workflow platform): three.
const WORKFLOW_PATH = /^\/workflows\/[A-Za-z0-9_-]+\/[A-Za-z0-9_-]+\/[A-Za-z0-9_-]+\/[A-Za-z0-9_-]+\/?$/;
const TRIGGER_PATH = /^\/triggers\/[A-Za-z0-9_-]+\/[A-Za-z0-9_-]+\/[A-Za-z0-9_-]+\/?$/;
const WORKFLOW_SEGMENT = /^[A-Za-z0-9_-]+$/;
const EMAIL = /^[^\s@#:/]+@[^\s@#:/]+\.[^\s@#:/]+$/;
const USER_KEY = 'user';
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

/** Where a channel value sends: a channel (`#name`, an id, `@user`) and maybe a thread, or a user's e-mail address. */
interface SlackDestination {
    channel: string;
    threadTs?: string;
    email?: string;
}

/**
 * `#general`, `C0123ABC` (an id), `@user`, each optionally `:thread_ts` (Apprise), or an e-mail
 * address; Apprise's `+C0123ABC` (encoded id) loses its `+`.
 */
function destinationOf(value: string, key: string): SlackDestination {
    if (EMAIL.test(value)) {
        return { channel: value, email: value };
    }
    const match = /^\+?([#@]?[A-Za-z0-9_.\-]{1,80})(?::(\d+(?:\.\d+)?))?$/.exec(value);
    if (!match) {
        throw new ConfigError(key, `"${value}" is not #channel, a channel id, @user or an e-mail address (a thread goes after a colon: #channel:1700000000.123456)`);
    }
    return match[2] ? { channel: match[1], threadTs: match[2] } : { channel: match[1] };
}

/** A rule channel Slack can take in this mode: none for a workflow, no e-mail without a bot, one for a bot. */
function checkChannel(config: SlackConfig, channel: Record<string, string>): void {
    const key = channel.channel_id !== undefined ? 'channel_id' : 'channel';
    const value = channel[key];
    if (config.mode === 'workflow' || config.mode === 'trigger') {
        if (value) {
            throw new ConfigError(key, `a ${config.mode} posts where the workflow was built to; remove the channel`);
        }
        return;
    }
    if (value !== undefined && destinationOf(value, key).email && config.mode !== 'api') {
        throw new ConfigError(key, 'an e-mail address is looked up with users.lookupByEmail, which needs a bot token (bot_token)');
    }
    if (config.mode === 'api' && !value && !config.channel) {
        throw new ConfigError('channel', 'is missing: the instance names no channel, so the rule channel must ({ "channel": "#general" })');
    }
}

/** The mode a webhook URL's path says: incoming webhook, workflow or trigger. */
function urlKind(url: string): SlackConfig['mode'] | undefined {
    const path = url.replace(/^[a-z]+:\/\/[^/]+/i, '').replace(/[?#].*$/, '');
    if (WEBHOOK_PATH.test(path)) return 'webhook';
    if (WORKFLOW_PATH.test(path)) return 'workflow';
    if (TRIGGER_PATH.test(path)) return 'trigger';
    return undefined;
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
    const destination = channelValue === undefined ? undefined : destinationOf(channelValue, 'channel');
    const config: SlackConfig = {
        mode: botToken ? 'api' : 'webhook',
        apiUrl: DEFAULT_API_URL,
        channel: destination && destination.channel,
        identity,
        botname: optionalString(raw, 'botname'),
        iconUrl,
    };
    if (destination && destination.threadTs) {
        config.threadTs = destination.threadTs;
    }
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
    const kind = urlKind(secure);
    if (!kind) {
        throw new ConfigError('webhook_url', 'must look like https://hooks.slack.com/services/T…/B…/… (or a Workflow Builder /workflows/… or /triggers/… URL)');
    }
    if (destination && destination.email) {
        throw new ConfigError('channel', 'an e-mail address is looked up with users.lookupByEmail, which needs a bot token (bot_token)');
    }
    if (kind !== 'webhook' && destination) {
        throw new ConfigError('channel', `a ${kind} posts where the workflow was built to; remove the channel`);
    }
    config.mode = kind;
    config.webhookUrl = secure;
    return config;
}

function acceptsNativeUrl(url: URL): boolean {
    return url.protocol === 'https:' && NATIVE_HOST.test(url.hostname) && urlKind(url.pathname) !== undefined
        && (urlKind(url.pathname) === 'webhook' || url.hostname.toLowerCase() === 'hooks.slack.com');
}

/** Apprise's `mode`, any prefix of its names (`hook`, `bot`, `workflow`, `trigger`). */
function urlMode(value: string): 'hook' | 'bot' | 'workflow' | 'trigger' {
    const mode = value.toLowerCase();
    const found = ['hook', 'bot', 'workflow', 'trigger'].filter((name) => mode.length > 0 && name.indexOf(mode) === 0)[0];
    if (!found && mode !== 'webhook') {
        throw new ConfigError('mode', `must be hook, bot, workflow or trigger, got "${value}"`);
    }
    return (found || 'hook') as 'hook' | 'bot' | 'workflow' | 'trigger';
}

/**
 * slack://[botname@]{token_a}/{token_b}/{token_c}[/{#channel}]   incoming webhook
 * slack://[botname@]{xoxb-token}/{#channel}                        bot: chat.postMessage
 * slack://{T}/{F}/{X}/{Y}?mode=workflow, slack://{T}/{X}/{Y}?mode=trigger   Workflow Builder
 * `?token=` gives either token (webhook tokens slash-separated), `?to=` the channel, `?user=` the
 * bot name; several channels are several destinations of one instance. Also https://hooks.slack.com/services|workflows|triggers/….
 */
function fromUrl(url: URL): UrlInstance {
    if (url.protocol === 'https:') {
        return { config: { webhook_url: `https://${url.host}${url.pathname.replace(/\/+$/, '')}` } };
    }
    const first = decodeUrlPart(url.hostname);
    const segments = pathSegments(url);
    const modeValue = queryValue(url, 'mode');
    const mode = modeValue !== undefined ? urlMode(modeValue) : undefined;
    const raw: Record<string, unknown> = {};
    let targets: string[] = [];
    if (mode === 'workflow' || mode === 'trigger') {
        const parts = [first].concat(segments).filter((part) => part);
        const expected = mode === 'workflow' ? 4 : 3;
        if (parts.length !== expected || !parts.every((part) => WORKFLOW_SEGMENT.test(part))) {
            throw new ConfigError('', `a Slack ${mode} URL has exactly ${expected} path segments: slack://${mode === 'workflow' ? '{T}/{F}/{X}/{Y}' : '{T}/{X}/{Y}'}?mode=${mode}`);
        }
        raw.webhook_url = `https://hooks.slack.com/${mode}s/${parts.join('/')}`;
    } else {
        let botToken: string | undefined;
        let hookTokens: string[] | undefined;
        // As in Apprise, the path is read the same with or without ?token=: the slots a token would take are taken.
        if (first.slice(0, 2).toLowerCase() === 'xo') {
            botToken = first;
            targets = segments;
        } else {
            hookTokens = [first].concat(segments.slice(0, 2));
            targets = segments.slice(2);
        }
        const queryToken = queryValue(url, 'token');
        if (queryToken) {
            const parts = queryToken.split(/[\s,/\\]+/).filter((part) => part);
            botToken = parts[0] && parts[0].slice(0, 2).toLowerCase() === 'xo' ? parts[0] : undefined;
            hookTokens = botToken ? undefined : parts;
        }
        if (mode === 'bot' && !botToken) {
            throw new ConfigError('token', 'bot mode needs an OAuth token: slack://{xoxb-token}/#channel');
        }
        if (botToken) {
            if (mode === 'hook') {
                throw new ConfigError('token', 'an incoming webhook has three tokens: slack://{token_a}/{token_b}/{token_c}');
            }
            raw.bot_token = botToken;
        } else if (hookTokens && hookTokens.length === 3 && hookTokens.every((token) => WEBHOOK_TOKEN.test(token))) {
            raw.webhook_url = `https://hooks.slack.com/services/${hookTokens.join('/')}`;
        } else {
            throw new ConfigError('', 'expected slack://{token_a}/{token_b}/{token_c} (webhook) or slack://{xoxb-token}/#channel (bot)');
        }
    }
    const extraTargets = queryValue(url, 'to');
    if (extraTargets) {
        extraTargets.split(/[\s,]+/).filter((target) => target).forEach((target) => targets.push(target));
    }
    targets.forEach((target) => {
        const destination = destinationOf(target, 'targets');
        if (destination.email && !raw.bot_token) {
            throw new ConfigError('targets', `${target}: an e-mail address is looked up with users.lookupByEmail, which needs a bot token (slack://{xoxb-token}/…)`);
        }
    });
    if (targets.length > 0 && (mode === 'workflow' || mode === 'trigger')) {
        throw new ConfigError('targets', `a ${mode} posts where the workflow was built to; remove ${targets.join(', ')}`);
    }
    const botname = queryValue(url, 'user') || decodeUrlPart(url.username);
    if (botname) {
        raw.botname = botname;
    }
    const identity = queryValue(url, 'identity');
    if (identity) {
        raw.identity = identity;
    }
    return { config: raw, destinations: targets.map((channel) => ({ channel })) };
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

/** The rule channel's destination (not validated at config time: Slack refuses a bad one), else the instance's. */
function destinationFor(input: DeliveryInput<SlackConfig>): SlackDestination | undefined {
    const ruleChannel = input.channel.channel_id || input.channel.channel;
    if (ruleChannel) {
        try {
            return destinationOf(ruleChannel, 'channel');
        } catch {
            return { channel: ruleChannel.replace(/^\+/, '') };
        }
    }
    const { config } = input;
    if (!config.channel) {
        return undefined;
    }
    return EMAIL.test(config.channel) ? { channel: config.channel, email: config.channel } : { channel: config.channel, threadTs: config.threadTs };
}

/** The channel to post to: an e-mail address becomes the user id its lookup answered earlier in this delivery. */
function channelFor(input: DeliveryInput<SlackConfig>): string | undefined {
    const destination = destinationFor(input);
    if (!destination) {
        return undefined;
    }
    return destination.email ? input.carried[USER_KEY] || '' : destination.channel;
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
    if (config.mode === 'workflow' || config.mode === 'trigger') {
        // The workflow decides where and how it posts; `text` is the variable it reads (as Apprise sends it).
        return splitText(slackText(input), MAX_TEXT).map((text) => ({
            method: 'POST' as const,
            url: config.webhookUrl as string,
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ text }),
        }));
    }
    const destination = destinationFor(input);
    if (config.mode === 'webhook') {
        const channel = destination && destination.channel;
        return splitText(slackText(input), MAX_TEXT).map((text) => {
            const payload: Record<string, unknown> = Object.assign(channel ? { channel } : {}, { text }, identity);
            if (destination && destination.threadTs) {
                payload.thread_ts = destination.threadTs;
            }
            return { method: 'POST' as const, url: config.webhookUrl as string, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload) };
        });
    }
    const parent = input.remoteThreadId ? decodeRemoteId(input.remoteThreadId) : undefined;
    // A reply goes to its parent's thread; otherwise a channel may name a thread of its own.
    const threadTs = parent ? parent.ts : destination && destination.threadTs;
    // A reply goes to the parent's channel: its id is known, the rule may only name it.
    const channel = (parent && parent.channel) || channelFor(input);
    if (channel === undefined) {
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
        if (threadTs) {
            payload.thread_ts = threadTs;
        }
        return apiRequest(config, 'chat.postMessage', Object.assign(payload, identity));
    });
    if (uploads.length === 0) {
        return withUserLookup(input, destination, requests);
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
    if (threadTs) {
        share.thread_ts = threadTs;
    }
    const name = escapeSlack(input.rendered.alias || '').replace(/\*/g, '').trim();
    if (texts.length === 0 && config.identity === 'prefix' && name) {
        share.initial_comment = `*${name}*`; // who shared them, as text messages say
    }
    requests.push(apiRequest(config, 'files.completeUploadExternal', share));
    return withUserLookup(input, destination, requests);
}

/** An e-mail destination is looked up first (users.lookupByEmail); its user id is where the message goes. */
function withUserLookup(input: DeliveryInput<SlackConfig>, destination: SlackDestination | undefined, requests: OutboundRequest[]): OutboundRequest[] {
    if (!destination || !destination.email || requests.length === 0) {
        return requests;
    }
    return [{
        method: 'GET',
        url: `${input.config.apiUrl}/users.lookupByEmail?email=${encodeURIComponent(destination.email)}`,
        headers: { Authorization: `Bearer ${input.config.botToken}` },
        tag: USER_KEY,
    } as OutboundRequest].concat(requests);
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
    if (input.config.mode !== 'api') {
        return []; // a webhook or workflow answers no message id: nothing to edit or delete
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
    if (input.config.mode !== 'api' || isUploadUrl) {
        // Success is a plain `ok` (the upload URL: `OK - {length}`); failures are plain text such as `invalid_payload`.
        if (!isSuccessStatus(response.status)) {
            throw responseError(isUploadUrl ? 'Slack file upload' : 'Slack', response);
        }
        return {};
    }
    const body = parseJsonBody(response);
    if (request.tag === USER_KEY) {
        return readUserLookup(response, body);
    }
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

/** users.lookupByEmail answers `{ok, user: {id, …}}`; the address stays out of the error (it names a person). */
function readUserLookup(response: HttpResult, body: any): ReadResult {
    if (body && body.ok === true && isSuccessStatus(response.status) && body.user && typeof body.user.id === 'string') {
        return { carry: { [USER_KEY]: body.user.id } };
    }
    const error = body && typeof body.error === 'string' ? body.error : undefined;
    if (!isSuccessStatus(response.status)) {
        throw responseError('Slack users.lookupByEmail', response, error);
    }
    const retryable = RETRYABLE_ERRORS.indexOf(error || '') >= 0;
    const hint = error === 'users_not_found' ? ' (no Slack user has that e-mail address)' : error === 'missing_scope' ? ' (the bot needs the users:read.email scope)' : '';
    throw new TargetError(`Slack users.lookupByEmail answered ${response.status}: ${error || 'ok: false'}${hint}`, response.status, retryable, retryable ? retryAfterMs(response) : undefined);
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
        filesHow: 'bot mode: `files.getUploadURLExternal`, the bytes, one `files.completeUploadExternal` in the thread; an incoming webhook or workflow cannot upload: link',
        rows: [
            {
                target: 'Slack incoming webhook',
                instance: '`slack://{T}/{B}/{C}[/#channel]` (or `slack://?token={T}/{B}/{C}&to=#channel`), `https://hooks.slack.com/services/T/B/C`, or `{ "type": "slack", "webhook_url": … }`',
                identity: '`identity: "prefix"` (default): `*Name*: ` before the text; `"legacy"`: `username`/`icon_url` (ignored by Slack apps made since 2020)',
                notes: 'mrkdwn, 40 000 chars per message, files as links; `#channel:thread_ts` posts into a thread; no message ids, so no edits, deletes or threads of our own',
            },
            {
                target: 'Slack bot (`chat.postMessage`)',
                instance: '`slack://xoxb-…/#channel[/#other…]` (or `?token=xoxb-…&to=…`; several channels fan out) or `{ "type": "slack", "bot_token": …, "channel": "#general" }`; rule channel `{ "channel": "#x" }` or `{ "channel_id": "C…" }`; a channel may be `#channel:thread_ts` or a user\'s e-mail address',
                identity: 'as above; `legacy` needs the `chat:write.customize` scope',
                notes: '`chat.update`, `chat.delete`, thread replies via `thread_ts`; an e-mail target is looked up (`users.lookupByEmail`, `users:read.email` scope) and gets a direct message; files uploaded (`files:write` scope); `ok:false` errors shown, `ratelimited` retried; `api_url` for a stand-in',
            },
            {
                target: 'Slack workflow / trigger',
                instance: '`https://hooks.slack.com/workflows/…` (4 segments) or `/triggers/…` (3), `slack://{T}/{F}/{X}/{Y}?mode=workflow`, `slack://{T}/{X}/{Y}?mode=trigger`',
                identity: '`*Name*: ` before the text',
                notes: '`{ "text": … }`, the variable the workflow reads (as Apprise sends it); the workflow decides where it posts; new messages only, files as links',
            },
        ],
    },
    parseConfig,
    checkChannel,
    endpoints: (config) => [config.mode === 'api' ? config.apiUrl : config.webhookUrl || ''],
    fromUrl,
    acceptsNativeUrl,
    describe: (config) => (config.mode === 'api'
        ? `slack chat.postMessage ${config.channel || '(channel from the rule)'}${config.apiUrl !== DEFAULT_API_URL ? ` via ${originOf(config.apiUrl)}` : ''}`
        : `slack ${config.mode} ${originOf(config.webhookUrl || '')}`),
    buildRequests,
    readResponse,
    // Slack documents about one message a second per channel (webhook or chat.postMessage) and sends no headers.
    rateLimits: { published: () => SLACK_LIMITS },
};
