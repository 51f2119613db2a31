// Mattermost, in one of two modes:
//
// - `webhook` (an incoming webhook, `webhook_url`): `POST /hooks/{key}` with `{text, channel?,
//   username, icon_url?, props}`. The webhook answers a plain `ok` without a post id, so nothing
//   can be edited, deleted or replied to: buildRequests returns [] for those (capabilities are
//   static and describe bot mode, as in slack.ts), and files are links.
// - `bot` (a bot's access token, `server_url` + `bot_token` + a channel): the REST API. A channel
//   is its id (26 letters and digits) or, with the instance's `team`, its name: the name is looked
//   up first (`GET /api/v4/teams/name/{team}/channels/name/{name}`, as Apprise does). Files
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
// Apprise URLs: mmost://[botname@]host[:port][/path]/{token} (http), mmosts:// (https), `?channel=`,
// `?channels=` or `?to=` for the channels (several: several destinations), `?botname=`, `?icon_url=`;
// `?mode=bot` (or `b`, or a `?team=`) makes {token} a bot token, the URL's user the team, and a
// channel an id, or a name (`#name`, or any non-id with a team). Also https://host/hooks/{key}.

import { ConfigError } from '../core/errors';
import type { HttpResult, OutboundRequest } from '../core/http';
import { parseJsonBody } from '../core/http';
import { neutraliseMentions, splitText, toCommonMark } from '../core/text';
import {
    decodeUrlPart, fileMarkdown, fitChunksToParts, isSuccessStatus, optionalString, originOf, pathSegments, queryValue, requestsForEvent, requireHttpUrl,
    responseError,
} from './common';
import type { DeliveryInput, OutboundFile, ReadResult, TargetAdapter, UrlInstance } from '../core/adapter';
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
    /** Bot mode: default channel by name (looked up in `team`). */
    channelName?: string;
    /** Bot mode: the team whose channels are named (its name, as in the team's URL). */
    team?: string;
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
// A channel's name (its URL slug): letters, digits, `-`, `_`, `.`.
const CHANNEL_NAME = /^[A-Za-z0-9._-]{1,64}$/;
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
        const team = optionalString(raw, 'team');
        const config: MattermostConfig = {
            mode: 'bot', serverUrl, botToken, channel: channelId === undefined ? undefined : requireChannelId(channelId, 'channel_id'), botname, iconUrl,
        };
        if (team !== undefined) {
            config.team = team;
        }
        const named = optionalString(raw, 'channel');
        if (named !== undefined) {
            if (channelId !== undefined) {
                throw new ConfigError('channel', 'give either channel_id or channel (a name, looked up in team), not both');
            }
            const target = botChannel(named, team, 'channel');
            if (target.id) {
                config.channel = target.id;
            } else {
                config.channelName = target.name;
            }
        }
        return config;
    }
    const webhookUrl = requireHttpUrl(raw, 'webhook_url', 'the incoming webhook URL, https://host/hooks/{key} (or server_url + bot_token + channel_id for a bot)');
    if (!HOOK_PATH.test(webhookUrl.replace(/[?#].*$/, ''))) {
        throw new ConfigError('webhook_url', 'must end in /hooks/{key}, like https://mattermost.example.com/hooks/xxxxxxxx');
    }
    const channel = optionalString(raw, 'channel');
    return { mode: 'webhook', webhookUrl, channel: channel === undefined ? undefined : channelName(channel), botname, iconUrl };
}

/**
 * A bot-mode channel: an id, or a name to look up in the team (`#name`, or any other word when a
 * team is given, as Apprise reads them). A name without a team is refused: there is nowhere to look.
 */
function botChannel(value: string, team: string | undefined, key: string): { id?: string; name?: string } {
    const named = /^[#~]/.test(value);
    const bare = value.replace(/^[#~+]/, '');
    if (!named && MATTERMOST_ID.test(bare)) {
        return { id: bare };
    }
    if (!CHANNEL_NAME.test(bare)) {
        throw new ConfigError(key, `"${value}" is neither a channel id (26 letters and digits) nor a channel name`);
    }
    if (!team) {
        throw new ConfigError(key, `"${value}" is not a channel id (26 letters and digits, under the channel's View Info); a channel name needs the team it is in (team, or mmost://{team}@host/…?mode=bot)`);
    }
    return { name: bare.toLowerCase() };
}

/** Bot mode: a channel for every rule channel, an id or a name the instance's team can look up. */
function checkChannel(config: MattermostConfig, channel: Record<string, string>): void {
    if (config.mode !== 'bot') {
        return;
    }
    if (channel.channel_id !== undefined) {
        requireChannelId(channel.channel_id, 'channel_id');
    } else if (channel.channel !== undefined) {
        botChannel(channel.channel, config.team, 'channel');
    } else if (!config.channel && !config.channelName) {
        throw new ConfigError('channel_id', 'is missing: the instance names no channel, so the rule channel must ({ "channel_id": … })');
    }
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
function fromUrl(url: URL): UrlInstance {
    if (url.protocol === 'https:' || url.protocol === 'http:') {
        return { config: { webhook_url: `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}` } };
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
    const user = decodeUrlPart(url.username);
    const channels = (queryValue(url, 'channel', 'channels', 'to') || '').split(/[\s,]+/).filter((name) => name);
    let raw: Record<string, unknown>;
    let destinations: Array<Record<string, string>>;
    if (mode === 'bot') {
        // Apprise: the URL's user (or ?team=) is the team whose channel names are looked up.
        const team = queryValue(url, 'team') || user || undefined;
        raw = { server_url: server, bot_token: decodeUrlPart(key) };
        if (team) {
            raw.team = team;
        }
        destinations = channels.map((channel): Record<string, string> => {
            const target = botChannel(channel, team, 'channel');
            return target.id ? { channel_id: target.id } : { channel: target.name as string };
        });
        const botname = queryValue(url, 'botname');
        if (botname) {
            raw.botname = botname;
        }
    } else {
        raw = { webhook_url: `${server}/hooks/${encodeURIComponent(key)}` };
        destinations = channels.map((channel) => ({ channel }));
        const botname = queryValue(url, 'botname') || user;
        if (botname) {
            raw.botname = botname;
        }
    }
    const iconUrl = queryValue(url, 'icon_url');
    if (iconUrl) {
        raw.icon_url = iconUrl;
    }
    return { config: raw, destinations };
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

/** Carried-value key of the channel id a name resolved to. */
const CHANNEL_KEY = 'channel';

/** The bot's channel: an id, or a name in the team (the rule channel's first). */
function botTarget(input: DeliveryInput<MattermostConfig>): { id?: string; name?: string } | undefined {
    const { config } = input;
    if (input.channel.channel_id) {
        return { id: input.channel.channel_id };
    }
    const ruleChannel = input.channel.channel;
    if (ruleChannel) {
        const bare = ruleChannel.replace(/^[#~+]/, '');
        return !/^[#~]/.test(ruleChannel) && MATTERMOST_ID.test(bare) ? { id: bare } : { name: bare.toLowerCase() };
    }
    if (config.channel) {
        return { id: config.channel };
    }
    return config.channelName ? { name: config.channelName } : undefined;
}

/** A channel name is looked up in the team first (its id: uploads and posts need it). */
function withChannelLookup(input: DeliveryInput<MattermostConfig>, requests: OutboundRequest[]): OutboundRequest[] {
    const target = botTarget(input);
    if (!target || !target.name || requests.length === 0) {
        return requests;
    }
    const { config } = input;
    if (!config.team) {
        throw new TargetError(`Mattermost: channel "${target.name}" is a name; set team in the instance (or give the channel_id)`, 0, false);
    }
    return [{
        method: 'GET' as const,
        url: `${config.serverUrl}/api/v4/teams/name/${encodeURIComponent(config.team)}/channels/name/${encodeURIComponent(target.name)}`,
        headers: botHeaders(config, false),
        tag: CHANNEL_KEY,
    } as OutboundRequest].concat(requests);
}

function buildBotSent(input: DeliveryInput<MattermostConfig>): OutboundRequest[] {
    const { config, rendered } = input;
    const target = botTarget(input);
    if (!target) {
        throw new TargetError('Mattermost: no channel; set channel_id in the rule channel or the instance', 0, false);
    }
    const channelId = target.id || input.carried[CHANNEL_KEY] || '';
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
    return requestsForEvent(input, { sent: (sent) => withChannelLookup(sent, buildBotSent(sent)), edited: buildBotEdited, deleted: buildBotDeleted });
}

function readResponse(input: DeliveryInput<MattermostConfig>, request: OutboundRequest, response: HttpResult): ReadResult {
    const body = parseJsonBody(response);
    if (isSuccessStatus(response.status)) {
        if (input.config.mode === 'webhook') {
            return {}; // a plain `ok`
        }
        if (request.tag === CHANNEL_KEY) {
            if (body && typeof body.id === 'string' && MATTERMOST_ID.test(body.id)) {
                return { carry: { [CHANNEL_KEY]: body.id } };
            }
            throw new TargetError(`Mattermost answered ${response.status} to the channel lookup without a channel id`, response.status, false);
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
    if (request.tag === CHANNEL_KEY && response.status === 404) {
        const target = botTarget(input);
        throw new TargetError(`Mattermost answered 404: no channel "${target && target.name}" in team "${input.config.team}" the bot can see (the channel's name is the last part of its URL)`, 404, false);
    }
    // Mattermost's app errors: `{id, message, detailed_error, request_id, status_code}`.
    const detail = body && typeof body.message === 'string'
        ? `${body.message}${typeof body.id === 'string' ? ` [${body.id}]` : ''}`
        : undefined;
    throw responseError('Mattermost', response, detail);
}

function describe(config: MattermostConfig): string {
    return config.mode === 'bot'
        ? `mattermost bot ${originOf(config.serverUrl as string)}${config.channel ? ` channel ${config.channel}` : config.channelName ? ` ~${config.channelName} in ${config.team}` : ''}`
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
                instance: '`mmost(s)://[botname@]host[:port][/path]/{key}[?channel=…][&botname=…][&icon_url=…]` (several channels fan out), `https://host/hooks/{key}`, or `{ "type": "mattermost", "webhook_url": … }`',
                identity: '`username`, `icon_url` (the server must allow integrations to override them)',
                notes: '16 383 chars per post, files as links, `props.from_relay_bridge: true` marks our posts; no post ids, so no edits, deletes or threads; `mmost://` is plain http',
            },
            {
                target: 'Mattermost bot (REST API)',
                instance: '`mmost(s)://[{team}@]host[:port][/path]/{bot_token}?mode=bot&to={channel_id},#{name}` (Apprise\'s `mode=b` or a `team=` work too; several channels fan out) or `{ "type": "mattermost", "server_url": …, "bot_token": …, "channel_id": … }` (or `"team"` + `"channel": name`); rule channel `{ "channel_id": … }` or `{ "channel": name }`',
                identity: '`props.override_username`/`override_icon_url` (shown when the server allows integrations to override them)',
                notes: '`POST /api/v4/posts`, 16 383 chars per post; files uploaded (`/api/v4/files`, the bot needs `upload_file`); edits (`PUT …/patch`), deletes, thread replies via `root_id`; a channel is its id (26 letters and digits, under *View Info*) or, with the instance\'s `team`, its name (the last part of its URL), looked up per new message (`/api/v4/teams/name/…/channels/name/…`)',
            },
        ],
    },
    parseConfig,
    checkChannel,
    endpoints: (config) => [(config.mode === 'bot' ? config.serverUrl : config.webhookUrl) as string],
    fromUrl,
    acceptsNativeUrl,
    describe,
    buildRequests,
    readResponse,
};
