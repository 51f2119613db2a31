// Mattermost, in one of two modes:
//
// - `webhook` (an incoming webhook, `webhook_url`): `POST /hooks/{key}` with `{text, channel?,
//   username, icon_url?, props}`. The webhook answers a plain `ok` without a post id, so nothing
//   can be edited, deleted or replied to: buildRequests returns [] for those (capabilities are
//   static and describe bot mode, as in slack.ts), and files are links.
// - `bot` (a bot's access token, `server_url` + `bot_token` + a channel id): the REST API. Files
//   with bytes go up first (`POST /api/v4/files`, multipart `channel_id` + `files`, one file per
//   request so each answer is one file id), then `POST /api/v4/posts` `{channel_id, message,
//   root_id?, file_ids?, props}`; the file ids ride on the first post, so an edit that needs
//   fewer parts deletes text-only posts, never the files. Edits `PUT /api/v4/posts/{id}/patch`,
//   deletes `DELETE /api/v4/posts/{id}`, replies `root_id` = the parent's post. The name and
//   avatar go as `props.override_username`/`override_icon_url` (bots may set them; they show
//   when the server allows integrations to override them, as for webhooks).
//
// `props.from_relay_bridge` marks our posts so Mattermost-side bridges can skip them.
//
// Apprise URLs: mmost://[botname@]host[:port][/path]/{token} (http), mmosts:// (https), `?channel=`
// or `?to=` for the channel; `?mode=bot` (or `b`, or a `?team=`) makes {token} a bot token and the
// channel a channel id. Also the https://host/hooks/{key} URL Mattermost shows.

import { ConfigError } from '../core/errors';
import type { HttpResult, OutboundRequest } from '../core/http';
import { parseJsonBody } from '../core/http';
import { neutraliseMentions, splitText, toCommonMark } from '../core/text';
import {
    decodeUrlPart, fileMarkdown, fitChunksToParts, isSuccessStatus, optionalString, originOf, pathSegments, queryValue, requestsForEvent, requireHttpUrl,
    responseError, singleUrlChannel,
} from './common';
import type { DeliveryInput, OutboundFile, ReadResult, TargetAdapter } from '../core/adapter';
import { TargetError } from '../core/adapter';

export interface MattermostConfig {
    mode: 'webhook' | 'bot';
    /** Webhook mode: `http(s)://host[/path]/hooks/{key}`; self-hosted servers may run plain http, as Apprise's mmost:// does. */
    webhookUrl?: string;
    /** Bot mode: the server, `http(s)://host[:port][/path]`, without trailing slash. */
    serverUrl?: string;
    /** Bot mode: the bot's access token. */
    botToken?: string;
    /** Webhook mode: default channel name (without `~`/`#`); bot mode: default channel id. The rule channel's wins. */
    channel?: string;
    /** Username when the message has no alias (Apprise `botname`). */
    botname?: string;
    /** Icon when the message has no avatar. */
    iconUrl?: string;
}

const MAX_TEXT = 16383; // Mattermost's post size limit (characters)
// Mattermost's default FileSettings.MaxFileSize (100 MB); larger files are linked.
const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;
// A post's file_ids fit 300 characters as JSON (model.PostFileidsMaxRunes): ten ids; more files are linked.
const MAX_FILES_PER_POST = 10;
const HOOK_PATH = /\/hooks\/([A-Za-z0-9_-]+)$/;
// Mattermost ids are 26 lower-case letters and digits.
const MATTERMOST_ID = /^[a-z0-9]{26}$/;
const NATIVE_HOOK_PATH = /^(?:\/[^?#]*)?\/hooks\/[a-z0-9]{26}\/?$/;

/** `town-square`, `#town-square` and `~town-square` all name the channel `town-square`. */
function channelName(name: string): string {
    return name.replace(/^[#~]/, '');
}

function requireChannelId(value: string, key: string): string {
    if (!MATTERMOST_ID.test(value)) {
        throw new ConfigError(key, `"${value}" is not a channel id (26 letters and digits, under the channel's View Info); a bot posts by id, not by name`);
    }
    return value;
}

function parseConfig(raw: Record<string, unknown>): MattermostConfig {
    const iconUrl = optionalString(raw, 'icon_url');
    if (iconUrl !== undefined && !/^https?:\/\//i.test(iconUrl)) {
        throw new ConfigError('icon_url', 'must be an http(s) URL');
    }
    const botname = optionalString(raw, 'botname');
    const botToken = optionalString(raw, 'bot_token');
    if (botToken !== undefined) {
        if (raw.webhook_url !== undefined) {
            throw new ConfigError('bot_token', 'give either webhook_url (incoming webhook) or server_url + bot_token (REST API), not both');
        }
        if (/\s/.test(botToken)) {
            throw new ConfigError('bot_token', "must be the bot's access token (no spaces)");
        }
        const serverUrl = requireHttpUrl(raw, 'server_url', 'the Mattermost server, e.g. https://mattermost.example.com');
        const channelId = optionalString(raw, 'channel_id');
        return {
            mode: 'bot', serverUrl, botToken, channel: channelId === undefined ? undefined : requireChannelId(channelId, 'channel_id'), botname, iconUrl,
        };
    }
    const webhookUrl = requireHttpUrl(raw, 'webhook_url', 'the incoming webhook URL, https://host/hooks/{key} (or server_url + bot_token + channel_id for a bot)');
    if (!HOOK_PATH.test(webhookUrl.replace(/[?#].*$/, ''))) {
        throw new ConfigError('webhook_url', 'must end in /hooks/{key}, like https://mattermost.example.com/hooks/xxxxxxxx');
    }
    const channel = optionalString(raw, 'channel');
    return { mode: 'webhook', webhookUrl, channel: channel === undefined ? undefined : channelName(channel), botname, iconUrl };
}

function acceptsNativeUrl(url: URL): boolean {
    return NATIVE_HOOK_PATH.test(url.pathname);
}

/** Apprise's `mode`: `webhook`/`w` or `bot`/`b`; a `team` alone means bot mode, as in Apprise. */
function urlMode(url: URL): 'webhook' | 'bot' {
    const mode = (queryValue(url, 'mode') || '').toLowerCase();
    if (!mode) {
        return queryValue(url, 'team') ? 'bot' : 'webhook';
    }
    if (mode === 'webhook' || mode === 'w') return 'webhook';
    if (mode === 'bot' || mode === 'b') return 'bot';
    throw new ConfigError('mode', `must be webhook or bot, got "${mode}"`);
}

/**
 * mmost(s)://[botname@]host[:port][/path]/{token}[?channel=…][&mode=bot]: the last path segment is
 * the webhook key (or, in bot mode, the bot token), the segments before it the server's sub-path.
 * Also https://host/hooks/{key}.
 */
function fromUrl(url: URL): Record<string, unknown> {
    if (url.protocol === 'https:' || url.protocol === 'http:') {
        return { webhook_url: `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}` };
    }
    if (!url.hostname) {
        throw new ConfigError('host', 'is missing (mmost://host/{key})');
    }
    const segments = pathSegments(url);
    const key = segments.pop();
    if (!key) {
        throw new ConfigError('', 'expected mmost://[botname@]host[:port][/path]/{webhook_key}');
    }
    const protocol = url.protocol === 'mmosts:' ? 'https' : 'http';
    const server = `${protocol}://${url.host}${segments.map((segment) => `/${encodeURIComponent(segment)}`).join('')}`;
    const mode = urlMode(url);
    const raw: Record<string, unknown> = mode === 'bot'
        ? { server_url: server, bot_token: decodeUrlPart(key) }
        : { webhook_url: `${server}/hooks/${encodeURIComponent(key)}` };
    const channel = singleUrlChannel((queryValue(url, 'channel', 'channels', 'to') || '').split(/[\s,]+/).filter((name) => name), 'channel');
    if (channel) {
        raw[mode === 'bot' ? 'channel_id' : 'channel'] = channel;
    }
    if (url.username) {
        raw.botname = decodeUrlPart(url.username);
    }
    return raw;
}

// ---------------------------------------------------------------------------------------------
// Requests

/** Bot mode uploads a file when it has bytes within the server's limit and the post has room for its id. */
function uploadedIndexes(input: DeliveryInput<MattermostConfig>): number[] {
    if (input.config.mode !== 'bot') {
        return [];
    }
    const indexes: number[] = [];
    input.files.forEach((file: OutboundFile, index) => {
        if (file.bytes !== undefined && file.bytes.length <= MAX_UPLOAD_BYTES && indexes.length < MAX_FILES_PER_POST) {
            indexes.push(index);
        }
    });
    return indexes;
}

function mattermostText(input: DeliveryInput<MattermostConfig>, uploaded: number[]): string {
    const text = neutraliseMentions(toCommonMark(input.rendered.text));
    const links = input.files.filter((_file, index) => uploaded.indexOf(index) < 0).map(fileMarkdown);
    return [text].concat(links).filter((line) => line.trim().length > 0).join('\n');
}

function relayProps(input: DeliveryInput<MattermostConfig>): Record<string, unknown> {
    return { from_relay_bridge: true, relay_message_id: input.message.id, relay_room: input.message.room.name };
}

function buildWebhook(input: DeliveryInput<MattermostConfig>): OutboundRequest[] {
    const { config, message, rendered } = input;
    if (message.event !== 'sent') {
        return []; // no post ids: nothing to edit or delete
    }
    const channel = input.channel.channel ? channelName(input.channel.channel) : config.channel;
    const username = rendered.alias || config.botname;
    const iconUrl = rendered.avatarUrl || config.iconUrl;
    return splitText(mattermostText(input, []), MAX_TEXT).map((text) => {
        const payload: Record<string, unknown> = { text };
        if (channel) {
            payload.channel = channel;
        }
        if (username) {
            payload.username = username;
        }
        if (iconUrl) {
            payload.icon_url = iconUrl;
        }
        payload.props = relayProps(input);
        return { method: 'POST' as const, url: config.webhookUrl as string, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload) };
    });
}

function botHeaders(config: MattermostConfig, json: boolean): Record<string, string> {
    const headers: Record<string, string> = { Authorization: `Bearer ${config.botToken}` };
    if (json) {
        headers['Content-Type'] = 'application/json';
    }
    return headers;
}

function postUrl(config: MattermostConfig, postId: string): string {
    return `${config.serverUrl}/api/v4/posts/${encodeURIComponent(postId)}`;
}

/** Carried-value key of the file id of input.files[index]. */
function uploadKey(index: number): string {
    return `upload.${index}`;
}

function buildBotSent(input: DeliveryInput<MattermostConfig>): OutboundRequest[] {
    const { config, rendered } = input;
    const channelId = input.channel.channel_id || input.channel.channel || config.channel;
    if (!channelId) {
        throw new TargetError('Mattermost: no channel; set channel_id in the rule channel or the instance', 0, false);
    }
    const uploaded = uploadedIndexes(input);
    const uploads: OutboundRequest[] = uploaded.map((index) => {
        const file = input.files[index];
        return {
            method: 'POST',
            url: `${config.serverUrl}/api/v4/files`,
            headers: botHeaders(config, false),
            multipart: [
                { name: 'channel_id', value: channelId },
                { name: 'files', file: { filename: file.name, contentType: file.mimeType || 'application/octet-stream', bytes: file.bytes as Uint8Array } },
            ],
            tag: uploadKey(index),
        };
    });
    const props = relayProps(input);
    const username = rendered.alias || config.botname;
    const iconUrl = rendered.avatarUrl || config.iconUrl;
    if (username) {
        props.override_username = username;
    }
    if (iconUrl) {
        props.override_icon_url = iconUrl;
    }
    const chunks = splitText(mattermostText(input, uploaded), MAX_TEXT);
    if (chunks.length === 0 && uploaded.length > 0) {
        chunks.push(''); // a post may be files only
    }
    // The posts come after the uploads: the first one carries the file ids they answered.
    return uploads.concat(chunks.map((message, part) => {
        const post: Record<string, unknown> = { channel_id: channelId, message };
        if (input.remoteThreadId) {
            post.root_id = input.remoteThreadId;
        }
        if (part === 0 && uploaded.length > 0) {
            post.file_ids = uploaded.map((index) => input.carried[uploadKey(index)]).filter((id) => id);
        }
        post.props = props;
        return { method: 'POST' as const, url: `${config.serverUrl}/api/v4/posts`, headers: botHeaders(config, true), body: JSON.stringify(post) };
    }));
}

function buildBotEdited(input: DeliveryInput<MattermostConfig>): OutboundRequest[] {
    const { config } = input;
    // An edit cannot add posts: overflow is merged into the last part. Uploaded files stay on the first post.
    const chunks = fitChunksToParts(splitText(mattermostText(input, uploadedIndexes(input)), MAX_TEXT), input.remoteIds.length, MAX_TEXT);
    return input.remoteIds.map((remoteId, part): OutboundRequest => (part < Math.max(chunks.length, 1)
        ? { method: 'PUT', url: `${postUrl(config, remoteId)}/patch`, headers: botHeaders(config, true), body: JSON.stringify({ message: chunks[part] || '' }) }
        // The text got shorter than the posts it once needed: the surplus posts go.
        : { method: 'DELETE', url: postUrl(config, remoteId), headers: botHeaders(config, false) }));
}

function buildBotDeleted(input: DeliveryInput<MattermostConfig>): OutboundRequest[] {
    return input.remoteIds.map((remoteId) => ({ method: 'DELETE' as const, url: postUrl(input.config, remoteId), headers: botHeaders(input.config, false) }));
}

function buildRequests(input: DeliveryInput<MattermostConfig>): OutboundRequest[] {
    if (input.config.mode === 'webhook') {
        return buildWebhook(input);
    }
    return requestsForEvent(input, { sent: buildBotSent, edited: buildBotEdited, deleted: buildBotDeleted });
}

function readResponse(input: DeliveryInput<MattermostConfig>, request: OutboundRequest, response: HttpResult): ReadResult {
    const body = parseJsonBody(response);
    if (isSuccessStatus(response.status)) {
        if (input.config.mode === 'webhook') {
            return {}; // a plain `ok`
        }
        if (request.multipart) {
            const infos = body && Array.isArray(body.file_infos) ? body.file_infos : [];
            const id = infos[0] && typeof infos[0].id === 'string' ? infos[0].id : undefined;
            if (!id) {
                throw new TargetError(`Mattermost answered ${response.status} to an upload without a file id`, response.status, false);
            }
            return { carry: { [request.tag as string]: id } };
        }
        if (request.method === 'POST' || request.method === 'PUT') {
            return body && typeof body.id === 'string' ? { remoteId: body.id } : {};
        }
        return {};
    }
    if (request.method === 'DELETE' && response.status === 404) {
        return {}; // already gone: the delete has happened
    }
    // Mattermost's app errors: `{id, message, detailed_error, request_id, status_code}`.
    const detail = body && typeof body.message === 'string'
        ? `${body.message}${typeof body.id === 'string' ? ` [${body.id}]` : ''}`
        : undefined;
    throw responseError('Mattermost', response, detail);
}

function describe(config: MattermostConfig): string {
    return config.mode === 'bot'
        ? `mattermost bot ${originOf(config.serverUrl as string)}${config.channel ? ` channel ${config.channel}` : ''}`
        : `mattermost webhook ${originOf(config.webhookUrl as string)}${config.channel ? ` ~${config.channel}` : ''}`;
}

export const mattermostTarget: TargetAdapter<MattermostConfig> = {
    type: 'mattermost',
    schemes: ['mmost', 'mmosts'],
    templates: 'webhook',
    capabilities: (config) => { const bot = config.mode === 'bot'; return { edit: bot, delete: bot, threads: bot, upload: bot }; },
    docs: {
        files: 'upload',
        filesHow: 'bot mode: `POST /api/v4/files` per file (100 MB, the server\'s default limit), the first post carries up to 10 `file_ids`; an incoming webhook cannot upload: link',
        rows: [
            {
                target: 'Mattermost webhook',
                instance: '`mmost(s)://[botname@]host[:port][/path]/{key}[?channel=…]`, `https://host/hooks/{key}`, or `{ "type": "mattermost", "webhook_url": … }`',
                identity: '`username`, `icon_url` (the server must allow integrations to override them)',
                notes: '16 383 chars per post, files as links, `props.from_relay_bridge: true` marks our posts; no post ids, so no edits, deletes or threads; `mmost://` is plain http',
            },
            {
                target: 'Mattermost bot (REST API)',
                instance: '`mmost(s)://[botname@]host[:port][/path]/{bot_token}?mode=bot&to={channel_id}` (Apprise\'s `mode=b` or a `team=` work too) or `{ "type": "mattermost", "server_url": …, "bot_token": …, "channel_id": … }`; rule channel `{ "channel_id": … }`',
                identity: '`props.override_username`/`override_icon_url` (shown when the server allows integrations to override them)',
                notes: '`POST /api/v4/posts`, 16 383 chars per post; files uploaded (`/api/v4/files`, the bot needs `upload_file`); edits (`PUT …/patch`), deletes, thread replies via `root_id`; channel ids only (26 letters and digits, under *View Info*)',
            },
        ],
    },
    parseConfig,
    endpoints: (config) => [(config.mode === 'bot' ? config.serverUrl : config.webhookUrl) as string],
    fromUrl: (url) => ({ config: fromUrl(url) }),
    acceptsNativeUrl,
    describe,
    buildRequests,
    readResponse,
};
