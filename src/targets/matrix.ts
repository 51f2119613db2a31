// Matrix, in one of two kinds of configuration:
//
// - the client-server API (`mode` client, Apprise's `off`) as an account, with an access token or
//   a password login: `PUT /_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}`. A
//   password login (`m.login.password`) is a KeptSession: its access token is stored in app
//   persistence and reused by every server instance until the homeserver answers 401
//   M_UNKNOWN_TOKEN; then the shell logs in again (reusing the device id).
// - a webhook bridge (Apprise's modes): `t2bot` (https://webhooks.t2bot.io/api/v1/matrix/hook/{id}),
//   `matrix` and `slack` (matrix-appservice-webhooks, {server}/api/v1/matrix/hook/{token}, its own
//   or Slack's payload) and `hookshot` (matrix-hookshot generic webhooks, {server}{path}/{token}).
//   A webhook posts one message and answers no event id: sent messages only, files as links.
//
// Rooms: a room id (`!opaque:server`) or an alias (`#name:server`; `#name` takes the account's
// server, from the login's user id or else the homeserver's host). An alias is resolved per
// delivery: a new message joins it (`POST /join/{alias}`, a no-op when already joined, answers the
// room id), an edit or delete looks it up in the room directory (`GET /directory/room/{alias}`).
//
// Identity: MSC4144 per-message profiles (`com.beeper.per_message_profile`, its unstable prefix)
// show the sender's name in clients that support them; every other client reads the `Name: `
// fallback at the start of the body (`has_fallback` tells profile-aware clients to hide it).
// The profile's avatar must be an mxc:// URL: the shell uploads the sender's avatar to the media
// repository once per homeserver and avatar URL (`hostedAvatar`, access-token configurations) and
// hands back its mxc:// URI; without one the instance `avatar_url` (an mxc://) is used.
//
// Transaction ids are derived from the Rocket.Chat message id, the event and the part
// (`rb-{msgid}-{event}-{part}`, edits add a fingerprint of the new text), so a retried delivery
// reuses them and the homeserver answers with the event it already created instead of posting twice.
//
// Files with bytes go to the media repository (`POST /_matrix/media/v3/upload`, raw bytes) and
// the mxc:// URI it answers becomes an `m.image`/`m.video`/`m.audio`/`m.file` event, one per file
// after the text (in the thread for a reply); other files are links in the text.
//
// Remote id: the event id ("file $…" for file events, which edits leave alone). Edits send
// `m.replace` events and report no ids, so the map keeps pointing at the original events; deletes redact.

import { ConfigError } from '../core/errors';
import type { HttpResult, OutboundRequest } from '../core/http';
import { parseJsonBody } from '../core/http';
import { fnv1a } from '../core/hash';
import { escapeHtml, neutraliseMentions, splitText, toHtml, toPlainText, toSlackMrkdwn } from '../core/text';
import {
    fileMarkdown, decodeUrlPart, fitChunksToParts, isSuccessStatus, mediaKind, optionalPositiveInteger, optionalString, originOf, pathSegments, queryValue,
    requireHttpUrl, responseError,
    requestsForEvent,
} from './common';
import { fingerprint, splitToFit, truncateToFit, utf8Length } from './sizing';
import type { DeliveryInput, OutboundFile, ReadResult, TargetAdapter, UrlInstance } from '../core/adapter';
import { SessionRejected, TargetError } from '../core/adapter';

export type MatrixAuth =
    | { kind: 'token'; accessToken: string }
    | { kind: 'login'; user: string; password: string };

/** Apprise's webhook modes: a bridge that posts what it is sent into the room it was made for. */
export type MatrixWebhookMode = 't2bot' | 'matrix' | 'slack' | 'hookshot';

export interface MatrixConfig {
    mode: 'client' | MatrixWebhookMode;
    /** Client mode: the client-server API base, e.g. `https://matrix.example.org` (without `/_matrix`). */
    homeserver: string;
    /** Client mode: how the account authenticates. */
    auth?: MatrixAuth;
    /** Client mode: default room (id or alias); the rule channel's `room_id` wins. */
    roomId?: string;
    msgtype: 'm.text' | 'm.notice';
    /** mxc:// avatar for the per-message profile when the message has no mxc avatar of its own. */
    avatarUrl?: string;
    /** Webhook modes: where the bridge listens. */
    webhookUrl?: string;
    /** Webhook modes: the name shown when the message has no alias (Apprise's user). */
    botname?: string;
    /** Client mode: the homeserver's message limit for this account, as its admin set it (Synapse's rc_message). */
    rateLimit?: { perSecond: number; burstCount: number };
}

// The whole event (with the envelope the server adds: ids, hashes, signatures) must stay under
// 65 536 bytes; the content gets what is left after a generous allowance for the envelope.
const MAX_CONTENT_BYTES = 60000;
const MAX_TEXT = 32000;
const PROFILE_KEY = 'com.beeper.per_message_profile';
const MAX_PROFILE_BYTES = 255;
const HTML_FORMAT = 'org.matrix.custom.html';
// Synapse's default max_upload_size; larger files are linked.
const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;
// Marks a file event's id in the message map (event ids never contain a space).
const FILE_MARK = 'file ';
// Room ids: `!opaque:server`, or just `!opaque` from room version 12 on. Aliases: `#name[:server]`.
const ROOM_ID = /^![^\s:/]+(?::[^\s/]+)?$/;
const ROOM_ALIAS = /^#[^\s:/#]+(?::[^\s/]+)?$/;
const WEBHOOK_MODES: MatrixWebhookMode[] = ['t2bot', 'matrix', 'slack', 'hookshot'];
const T2BOT_HOOK = 'https://webhooks.t2bot.io/api/v1/matrix/hook/';
const T2BOT_ID = /^[a-z0-9]{64}$/i;
// matrix-appservice-webhooks' path (Apprise's `matrix` and `slack` modes).
const APPSERVICE_HOOK_PATH = '/api/v1/matrix/hook';
const HOOKSHOT_DEFAULT_PATH = '/webhook';
const LOGIN_DEVICE_NAME = 'Relay Bridge';

function roomProblem(value: string): string | undefined {
    return ROOM_ID.test(value) || ROOM_ALIAS.test(value)
        ? undefined
        : `must be a Matrix room id like !abc123:example.org or an alias like #room:example.org, got "${value}"`;
}

function parseMode(raw: Record<string, unknown>): MatrixConfig['mode'] {
    const mode = (optionalString(raw, 'mode') || 'client').toLowerCase();
    if (mode === 'client' || mode === 'off') {
        return 'client';
    }
    if ((WEBHOOK_MODES as string[]).indexOf(mode) < 0) {
        throw new ConfigError('mode', `must be client (off) or one of the webhook modes ${WEBHOOK_MODES.join(', ')}, got "${mode}"`);
    }
    return mode as MatrixWebhookMode;
}

function parseConfig(raw: Record<string, unknown>): MatrixConfig {
    const mode = parseMode(raw);
    const msgtype = (optionalString(raw, 'msgtype') || 'text').toLowerCase().replace(/^m\./, '');
    if (msgtype !== 'text' && msgtype !== 'notice') {
        throw new ConfigError('msgtype', `must be text or notice, got "${msgtype}"`);
    }
    const botname = optionalString(raw, 'botname');
    if (mode !== 'client') {
        const webhookUrl = requireHttpUrl(raw, 'webhook_url', `the ${mode} webhook URL`);
        if (mode === 't2bot' && !(webhookUrl.indexOf(T2BOT_HOOK) === 0 && T2BOT_ID.test(webhookUrl.slice(T2BOT_HOOK.length)))) {
            throw new ConfigError('webhook_url', `must be ${T2BOT_HOOK}{64-character webhook id}`);
        }
        return { mode, homeserver: originOf(webhookUrl), msgtype: 'm.text', webhookUrl, botname };
    }
    const homeserver = requireHttpUrl(raw, 'homeserver', 'the homeserver\'s client-server API URL, e.g. https://matrix.example.org')
        .replace(/\/_matrix(\/client(\/v3)?)?$/, '');
    const accessToken = optionalString(raw, 'access_token');
    const user = optionalString(raw, 'user');
    const password = optionalString(raw, 'password');
    let auth: MatrixAuth;
    if (accessToken !== undefined) {
        if (password !== undefined) {
            throw new ConfigError('access_token', 'give either access_token or user + password (login), not both');
        }
        auth = { kind: 'token', accessToken };
    } else if (user !== undefined && password !== undefined) {
        auth = { kind: 'login', user, password };
    } else {
        throw new ConfigError('access_token', 'is required (an access token of the account that posts), or user and password to log in');
    }
    const roomId = optionalString(raw, 'room_id');
    const problem = roomId !== undefined ? roomProblem(roomId) : undefined;
    if (problem) {
        throw new ConfigError('room_id', problem);
    }
    const avatarUrl = optionalString(raw, 'avatar_url');
    if (avatarUrl !== undefined && avatarUrl.indexOf('mxc://') !== 0) {
        throw new ConfigError('avatar_url', 'must be an mxc:// URL (Matrix clients ignore other avatar URLs)');
    }
    return { mode, homeserver, auth, roomId, msgtype: msgtype === 'notice' ? 'm.notice' : 'm.text', avatarUrl, rateLimit: parseRateLimit(raw.rate_limit) };
}

/** Synapse's `rc_message` as its admin wrote it (`per_second`, `burst_count`): the budget is kept before the first 429, not learned from it. */
function parseRateLimit(value: unknown): MatrixConfig['rateLimit'] {
    if (value === undefined || value === null) {
        return undefined;
    }
    if (typeof value !== 'object' || Array.isArray(value)) {
        throw new ConfigError('rate_limit', 'must be an object like { "per_second": 0.2, "burst_count": 10 } (the homeserver\'s rc_message)');
    }
    const raw = value as Record<string, unknown>;
    const perSecond = typeof raw.per_second === 'string' && raw.per_second.trim() !== '' ? Number(raw.per_second) : raw.per_second;
    if (typeof perSecond !== 'number' || !isFinite(perSecond) || perSecond <= 0 || perSecond > 1000) {
        throw new ConfigError('rate_limit.per_second', `must be a number of messages a second above 0 (Synapse's default 0.2), got ${JSON.stringify(raw.per_second)}`);
    }
    let burstCount: number | undefined;
    try {
        burstCount = optionalPositiveInteger(raw, 'burst_count');
    } catch (e) {
        throw new ConfigError('rate_limit.burst_count', `must be a positive whole number (Synapse's default 10), got ${JSON.stringify(raw.burst_count)}`);
    }
    if (burstCount === undefined) {
        throw new ConfigError('rate_limit.burst_count', "is required with per_second (Synapse's default 10)");
    }
    return { perSecond, burstCount };
}

/** A room for every rule channel (a valid id or alias, its own or the instance's); none for a webhook bridge. */
function checkChannel(config: MatrixConfig, channel: Record<string, string>): void {
    if (config.mode !== 'client') {
        if (channel.room_id) {
            throw new ConfigError('room_id', `a ${config.mode} webhook posts into the room it was made for; remove the room`);
        }
        return;
    }
    const problem = channel.room_id !== undefined ? roomProblem(channel.room_id) : undefined;
    if (problem) {
        throw new ConfigError('room_id', problem);
    }
    if (!channel.room_id && !config.roomId) {
        throw new ConfigError('room_id', 'is missing: the instance names no room, so the rule channel must ({ "room_id": "!…:server" or "#alias:server" })');
    }
}

/** Apprise's room targets: `!id[:server]`, `#alias[:server]`, or a bare alias name. */
function urlRoom(target: string): string {
    if (target.charAt(0) === '@') {
        throw new ConfigError('targets', `"${target}" is a user; relay into a room the account may join (!room:server or #alias:server)`);
    }
    const room = target.charAt(0) === '!' || target.charAt(0) === '#' ? target : `#${target}`;
    const problem = roomProblem(room);
    if (problem) {
        throw new ConfigError('targets', problem);
    }
    return room;
}

function acceptsNativeUrl(url: URL): boolean {
    return `${url.protocol}//${url.host}${url.pathname}`.replace(/\/+$/, '').indexOf(T2BOT_HOOK) === 0;
}

/**
 * Apprise's matrix URLs:
 * - matrix(s)://{user}:{password}@host[:port]/{rooms}   password login (also {user}@host?token={password})
 * - matrix(s)://{token}@host[:port]/{rooms}              access token (also host?token={token})
 * - matrix(s)://[{user}[:{token}]@]host[:port]?mode=matrix|slack|hookshot[&path=/webhook]   webhook bridges
 * - matrix(s)://{t2bot_id}[?mode=t2bot], https://webhooks.t2bot.io/api/v1/matrix/hook/{t2bot_id}
 * Several rooms (path and `?to=`) are several destinations of one instance.
 */
function fromUrl(url: URL): UrlInstance {
    if (url.protocol === 'https:') {
        return { config: { mode: 't2bot', webhook_url: `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}` } };
    }
    const user = decodeUrlPart(url.username);
    const password = queryValue(url, 'token') || decodeUrlPart(url.password);
    const modeValue = queryValue(url, 'mode');
    // Without credentials and a mode, the host is a t2bot webhook id (matrix://{id}), as in Apprise.
    const mode = modeValue ? modeValue.toLowerCase() : user || password ? 'off' : 't2bot';
    if (mode !== 'off' && (WEBHOOK_MODES as string[]).indexOf(mode) < 0) {
        throw new ConfigError('mode', `must be off, ${WEBHOOK_MODES.join(', ')}, got "${modeValue}"`);
    }
    const version = queryValue(url, 'v', 'version');
    if (version !== undefined && version !== '2' && version !== '3') {
        throw new ConfigError('version', `must be 2 or 3, got "${version}" (the client-server API v3 is used either way)`);
    }
    if (url.port === '0') {
        throw new ConfigError('port', 'must be 1 to 65535');
    }
    const targets = pathSegments(url);
    const extraTargets = queryValue(url, 'to');
    if (extraTargets) {
        extraTargets.split(/[\s,]+/).filter((target) => target).forEach((target) => targets.push(target));
    }
    const scheme = url.protocol === 'matrixs:' ? 'https' : 'http';
    if (mode === 't2bot') {
        const id = password || decodeUrlPart(url.hostname);
        if (!T2BOT_ID.test(id)) {
            throw new ConfigError('', 'expected matrixs://{access_token}@host/!room:server, matrixs://{user}:{password}@host/!room:server '
                + 'or a t2bot webhook id (64 letters and digits): matrix://{id}');
        }
        return { config: { mode, webhook_url: `${T2BOT_HOOK}${id}` } };
    }
    if (!url.hostname) {
        throw new ConfigError('host', 'is missing (matrixs://{token}@host/!room:server)');
    }
    if (mode !== 'off') {
        const token = password || user;
        if (!token) {
            throw new ConfigError('', `expected matrix(s)://[{user}:]{token}@host?mode=${mode}`);
        }
        if (targets.length > 0) {
            throw new ConfigError('targets', `a ${mode} webhook posts into the room it was made for; remove ${targets.join(', ')}`);
        }
        let path = APPSERVICE_HOOK_PATH;
        if (mode === 'hookshot') {
            const given = (queryValue(url, 'path') || '').trim() || HOOKSHOT_DEFAULT_PATH;
            path = `/${given.replace(/^\/+/, '')}`.replace(/\/+$/, '');
        }
        const raw: Record<string, unknown> = { mode, webhook_url: `${scheme}://${url.host}${path}/${encodeURIComponent(token)}` };
        if (user && password) {
            raw.botname = user;
        }
        return { config: raw };
    }
    const raw: Record<string, unknown> = { homeserver: `${scheme}://${url.host}` };
    if (user && password) {
        raw.user = user;
        raw.password = password;
    } else if (user || password) {
        raw.access_token = password || user;
    } else {
        throw new ConfigError('', 'expected matrixs://{user}:{password}@host/!room:server (login) or matrixs://{access_token}@host/!room:server');
    }
    const msgtype = queryValue(url, 'msgtype');
    if (msgtype) {
        raw.msgtype = msgtype;
    }
    return { config: raw, destinations: targets.map((target) => ({ room_id: urlRoom(target) })) };
}

// ---------------------------------------------------------------------------------------------
// Requests

/** Carried-value key of the room id an alias resolved to. */
const ROOM_KEY = 'room';

/** The room as configured (rule channel first): an id, or an alias completed with the account's server. */
function configuredRoom(input: DeliveryInput<MatrixConfig>): string {
    const room = input.channel.room_id || input.config.roomId;
    if (!room) {
        throw new TargetError('Matrix: no room; set room_id in the rule channel or the instance', 0, false);
    }
    const problem = roomProblem(room);
    if (problem) {
        throw new TargetError(`Matrix: room_id ${problem}`, 0, false);
    }
    return room.charAt(0) === '#' && room.indexOf(':') < 0 ? `${room}:${serverName(input)}` : room;
}

/** The account's server name: from the login's user id (@bot:example.org), else the homeserver's host. */
function serverName(input: DeliveryInput<MatrixConfig>): string {
    const userId = input.session && input.session.user_id;
    const colon = userId ? userId.indexOf(':') : -1;
    return userId && colon > 0 ? userId.slice(colon + 1) : new URL(input.config.homeserver).host;
}

/** The room id to send to: the configured id, or what the alias resolved to earlier in this delivery. */
function roomFor(input: DeliveryInput<MatrixConfig>): string {
    const room = configuredRoom(input);
    return room.charAt(0) === '#' ? input.carried[ROOM_KEY] || '' : room;
}

/** The account's access token: configured, or the kept session's. */
function accessTokenOf(config: MatrixConfig, session: Record<string, string> | undefined): string {
    const token = config.auth && config.auth.kind === 'token' ? config.auth.accessToken : session && session.access_token;
    if (!token) {
        throw new TargetError('Matrix: no access token (the login gave none)', 0, false);
    }
    return token;
}

function api(input: DeliveryInput<MatrixConfig>, method: OutboundRequest['method'], path: string, body?: Record<string, unknown>): OutboundRequest {
    const request: OutboundRequest = {
        method,
        url: `${input.config.homeserver}/_matrix/client/v3/${path}`,
        headers: { Authorization: `Bearer ${accessTokenOf(input.config, input.session)}` },
    };
    if (body) {
        request.headers['Content-Type'] = 'application/json';
        request.body = JSON.stringify(body);
    }
    return request;
}

/**
 * An alias is resolved before the event's requests: a new message joins it (a no-op when the
 * account is already in the room; the answer names the room id), an edit or delete only looks it up.
 */
function withRoomLookup(input: DeliveryInput<MatrixConfig>, requests: OutboundRequest[]): OutboundRequest[] {
    if (requests.length === 0 || configuredRoom(input).charAt(0) !== '#') {
        return requests;
    }
    const alias = encodeURIComponent(configuredRoom(input));
    const lookup = input.message.event === 'sent' ? api(input, 'POST', `join/${alias}`, {}) : api(input, 'GET', `directory/room/${alias}`);
    lookup.tag = ROOM_KEY;
    return [lookup].concat(requests);
}

/** Uploaded when bytes came along (for an edit: could have, so the text keeps the links it had) within the limit. */
function isUpload(file: OutboundFile, needBytes: boolean): boolean {
    return (!needBytes || file.bytes !== undefined) && (file.bytes ? file.bytes.length : file.size) <= MAX_UPLOAD_BYTES;
}

/** Rocket.Chat markdown with @room defused (it notifies the whole room) and links to the files not uploaded. */
function sourceText(input: DeliveryInput<MatrixConfig>): string {
    const text = neutraliseMentions(input.rendered.text).replace(/(^|[^\w@.\-])@room(?![\w.\-])/g, '$1@\u200Broom');
    const links = input.files.filter((file) => !isUpload(file, input.message.event === 'sent'))
        .map(fileMarkdown);
    return [text].concat(links).filter((line) => line.trim().length > 0).join('\n');
}

/** MSC4144 caps `id` and `displayname` at 255 bytes of UTF-8. */
function profileField(text: string): string {
    return truncateToFit(text, MAX_PROFILE_BYTES, (cut) => utf8Length(cut) <= MAX_PROFILE_BYTES);
}

function nameOf(input: DeliveryInput<MatrixConfig>): string {
    return profileField(input.rendered.alias.trim());
}

function profileFor(input: DeliveryInput<MatrixConfig>): Record<string, unknown> | undefined {
    const name = nameOf(input);
    if (!name) {
        return undefined;
    }
    const { message } = input;
    // One id per person: relayed inbound messages share the app user, so their name counts too.
    const profile: Record<string, unknown> = {
        id: profileField(message.origin ? `${message.sender.id}/${name}` : message.sender.id),
        displayname: name,
        has_fallback: true,
    };
    const avatarUrl = input.hostedAvatarUrl || input.config.avatarUrl;
    if (avatarUrl) {
        profile.avatar_url = avatarUrl;
    }
    return profile;
}

/** The visible message content of one chunk: plain body, HTML, name fallback, no pings. */
function messageContent(input: DeliveryInput<MatrixConfig>, chunk: string): Record<string, unknown> {
    const profile = profileFor(input);
    const name = profile ? nameOf(input) : '';
    const content: Record<string, unknown> = {
        msgtype: input.config.msgtype,
        body: (name ? `${name}: ` : '') + toPlainText(chunk),
        format: HTML_FORMAT,
        formatted_body: (name ? `<strong>${escapeHtml(name)}</strong>: ` : '') + toHtml(chunk, { lineBreaks: true }),
        // An empty m.mentions turns off the legacy body-based push rules (@room, display names).
        'm.mentions': {},
    };
    if (profile) {
        content[PROFILE_KEY] = profile;
    }
    return content;
}

function sentContent(input: DeliveryInput<MatrixConfig>, chunk: string): Record<string, unknown> {
    return inThread(input, messageContent(input, chunk));
}

/** A file event: its mxc:// URI, name, type and size; the sender's profile, no name fallback (the body is the file name). */
function fileContent(input: DeliveryInput<MatrixConfig>, file: OutboundFile, mxc: string): Record<string, unknown> {
    const kind = mediaKind(file.mimeType);
    const content: Record<string, unknown> = {
        msgtype: kind === 'file' ? 'm.file' : `m.${kind}`,
        body: file.name,
        filename: file.name,
        url: mxc,
        info: { mimetype: file.mimeType || 'application/octet-stream', size: (file.bytes as Uint8Array).length },
        'm.mentions': {},
    };
    const profile = profileFor(input);
    if (profile) {
        content[PROFILE_KEY] = Object.assign({}, profile, { has_fallback: false });
    }
    return inThread(input, content);
}

function inThread(input: DeliveryInput<MatrixConfig>, content: Record<string, unknown>): Record<string, unknown> {
    if (input.remoteThreadId) {
        // A parent that was only files is threaded on its first file event.
        const root = input.remoteThreadId.replace(FILE_MARK, '');
        content['m.relates_to'] = {
            rel_type: 'm.thread',
            event_id: root,
            // Clients without threads show it as a reply to the thread root.
            is_falling_back: true,
            'm.in_reply_to': { event_id: root },
        };
    }
    return content;
}

function editContent(input: DeliveryInput<MatrixConfig>, chunk: string, eventId: string): Record<string, unknown> {
    const newContent = messageContent(input, chunk);
    const content: Record<string, unknown> = Object.assign({}, newContent, {
        body: `* ${newContent.body}`,
        formatted_body: `* ${newContent.formatted_body}`,
    });
    content['m.new_content'] = newContent;
    content['m.relates_to'] = { rel_type: 'm.replace', event_id: eventId };
    return content;
}

const fitsEvent = (content: Record<string, unknown>) => utf8Length(JSON.stringify(content)) <= MAX_CONTENT_BYTES;

function transactionId(input: DeliveryInput<MatrixConfig>, part: number): string {
    const { message } = input;
    // Each edit is a new event: the fingerprint of its text keeps two edits apart, a retry identical.
    const edit = message.event === 'edited' ? `-${fingerprint(`${input.rendered.alias}\n${input.rendered.text}`)}` : '';
    return encodeURIComponent(`rb-${message.id}-${message.event}${edit}-${part}`);
}

function put(input: DeliveryInput<MatrixConfig>, path: string, content: Record<string, unknown>): OutboundRequest {
    return api(input, 'PUT', `rooms/${encodeURIComponent(roomFor(input))}/${path}`, content);
}

function redact(input: DeliveryInput<MatrixConfig>, eventId: string, part: number): OutboundRequest {
    return put(input, `redact/${encodeURIComponent(eventId)}/${transactionId(input, part)}`, {});
}

function buildSent(input: DeliveryInput<MatrixConfig>): OutboundRequest[] {
    const chunks = splitToFit(sourceText(input), MAX_TEXT, (chunk) => fitsEvent(sentContent(input, chunk)));
    const requests = chunks.map((chunk, part) => put(input, `send/m.room.message/${transactionId(input, part)}`, sentContent(input, chunk)));
    const { config } = input;
    input.files.filter((file) => isUpload(file, true)).forEach((file, index) => {
        requests.push(Object.assign(mediaUpload(config, accessTokenOf(config, input.session), file.bytes as Uint8Array, file.mimeType, file.name), { tag: mediaKey(index) }));
        // Built again once the upload answered its mxc:// URI.
        const event = put(input, `send/m.room.message/${transactionId(input, chunks.length + index)}`, fileContent(input, file, input.carried[mediaKey(index)] || ''));
        event.tag = 'file';
        requests.push(event);
    });
    return requests;
}

/** A media repository upload; the answer's content_uri is the mxc:// URI. */
function mediaUpload(config: MatrixConfig, accessToken: string, bytes: Uint8Array, mimeType: string | undefined, name: string): OutboundRequest {
    return {
        method: 'POST',
        url: `${config.homeserver}/_matrix/media/v3/upload?filename=${encodeURIComponent(name)}`,
        headers: { Authorization: `Bearer ${accessToken}`, 'Content-Type': mimeType || 'application/octet-stream' },
        bytes,
    };
}

function contentUri(response: HttpResult): string | undefined {
    const body = isSuccessStatus(response.status) ? parseJsonBody(response) : undefined;
    return body && typeof body.content_uri === 'string' && body.content_uri.indexOf('mxc://') === 0 ? body.content_uri : undefined;
}

/** Carried-value key of the `index`th upload's mxc:// URI. */
function mediaKey(index: number): string {
    return `media.${index}`;
}

function buildEdited(input: DeliveryInput<MatrixConfig>): OutboundRequest[] {
    const textIds = input.remoteIds.filter((id) => id.indexOf(FILE_MARK) !== 0);
    const fits = (chunk: string) => fitsEvent(editContent(input, chunk, textIds[0]));
    const chunks = fitChunksToParts(splitToFit(sourceText(input), MAX_TEXT, fits), textIds.length, MAX_TEXT);
    if (chunks.length > 0 && !fits(chunks[chunks.length - 1])) {
        chunks[chunks.length - 1] = truncateToFit(chunks[chunks.length - 1], MAX_TEXT, fits);
    }
    return textIds.map((eventId, part) => (part < Math.max(chunks.length, 1)
        ? put(input, `send/m.room.message/${transactionId(input, part)}`, editContent(input, chunks[part] || '', eventId))
        // The text got shorter than the parts it once needed: the surplus parts go.
        : redact(input, eventId, part)));
}

function buildRequests(input: DeliveryInput<MatrixConfig>): OutboundRequest[] {
    if (input.config.mode !== 'client') {
        return buildWebhook(input);
    }
    return withRoomLookup(input, requestsForEvent(input, { sent: buildSent, edited: buildEdited, deleted: buildDeleted }));
}

// ---------------------------------------------------------------------------------------------
// Webhook bridges (Apprise's modes)

function buildWebhook(input: DeliveryInput<MatrixConfig>): OutboundRequest[] {
    const { config, rendered } = input;
    if (input.message.event !== 'sent') {
        return []; // a webhook answers no event id: nothing to edit or delete
    }
    const text = neutraliseMentions(rendered.text).replace(/(^|[^\w@.\-])@room(?![\w.\-])/g, '$1@\u200Broom');
    const source = [text].concat(input.files.map(fileMarkdown)).filter((line) => line.trim().length > 0).join('\n');
    const name = rendered.alias || config.botname;
    return splitText(source, MAX_TEXT).map((chunk) => {
        let payload: Record<string, unknown>;
        if (config.mode === 'slack') {
            payload = { text: toSlackMrkdwn(chunk), mrkdwn: true };
            if (name) payload.username = name;
            if (rendered.avatarUrl) payload.icon_url = rendered.avatarUrl;
        } else if (config.mode === 'hookshot') {
            payload = { text: toPlainText(chunk), html: toHtml(chunk, { lineBreaks: true }) };
            if (name) payload.username = name;
        } else {
            // matrix-appservice-webhooks (t2bot runs it): displayName, avatarUrl, text in a format.
            payload = { text: toHtml(chunk, { lineBreaks: true }), format: 'html' };
            if (name) payload.displayName = name;
            if (rendered.avatarUrl) payload.avatarUrl = rendered.avatarUrl;
        }
        return { method: 'POST' as const, url: config.webhookUrl as string, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload) };
    });
}

function buildDeleted(input: DeliveryInput<MatrixConfig>): OutboundRequest[] {
    return input.remoteIds.map((id, part) => redact(input, id.indexOf(FILE_MARK) === 0 ? id.slice(FILE_MARK.length) : id, part));
}

function readResponse(input: DeliveryInput<MatrixConfig>, request: OutboundRequest, response: HttpResult): ReadResult {
    if (input.config.mode !== 'client') {
        if (!isSuccessStatus(response.status)) {
            throw responseError(`Matrix ${input.config.mode} webhook`, response);
        }
        return {};
    }
    const body = parseJsonBody(response);
    const isRedaction = request.url.indexOf('/redact/') >= 0;
    if (request.tag === ROOM_KEY && isSuccessStatus(response.status)) {
        if (body && typeof body.room_id === 'string' && ROOM_ID.test(body.room_id)) {
            return { carry: { [ROOM_KEY]: body.room_id } };
        }
        throw new TargetError(`Matrix answered ${response.status} to the room alias without a room_id`, response.status, false);
    }
    if (isSuccessStatus(response.status)) {
        if (request.bytes) {
            const mxc = contentUri(response);
            if (mxc) {
                return { carry: { [request.tag as string]: mxc } };
            }
            throw new TargetError(`Matrix answered ${response.status} to a media upload without an mxc:// content_uri`, response.status, false);
        }
        // Edits and redactions keep the original event ids in the message map.
        if (input.message.event !== 'sent' || isRedaction) {
            return {};
        }
        if (body && typeof body.event_id === 'string') {
            return { remoteId: request.tag === 'file' ? FILE_MARK + body.event_id : body.event_id };
        }
        throw new TargetError(`Matrix answered ${response.status} without an event_id`, response.status, false);
    }
    const errcode = body && typeof body.errcode === 'string' ? body.errcode : undefined;
    if (isRedaction && response.status === 404) {
        return {}; // already gone: the delete has happened
    }
    const detail = errcode ? `${errcode}${typeof body.error === 'string' ? `: ${body.error}` : ''}` : undefined;
    if (response.status === 401 && errcode === 'M_UNKNOWN_TOKEN') {
        if (input.config.auth && input.config.auth.kind === 'login') {
            throw new SessionRejected(`Matrix answered 401: ${detail}`, 401);
        }
        return fail(response, `${detail} (the access token was rejected: expired or logged out)`);
    }
    if (request.tag === ROOM_KEY && (response.status === 404 || response.status === 403)) {
        const why = response.status === 404 ? 'no such room alias' : 'the account may not join the room (invite it first)';
        throw new TargetError(`Matrix answered ${response.status} for ${configuredRoom(input)}: ${why}${detail ? ` (${detail})` : ''}`, response.status, false);
    }
    if (response.status === 429 && body && typeof body.retry_after_ms === 'number' && body.retry_after_ms >= 0) {
        // Milliseconds straight from the body (Retry-After, sent by newer servers, is whole seconds).
        return fail(response, detail, Math.ceil(body.retry_after_ms));
    }
    throw responseError('Matrix', response, detail);
}

function fail(response: HttpResult, detail: string | undefined, retryAfterMs?: number): never {
    const error = responseError('Matrix', response, detail);
    throw retryAfterMs === undefined ? error : new TargetError(error.message, error.status, true, retryAfterMs);
}

/** The password login (m.login.password); its answer is kept by the shell (KeptSession). */
function loginRequest(config: MatrixConfig, previous?: Record<string, string>): OutboundRequest {
    const auth = config.auth as { kind: 'login'; user: string; password: string };
    const body: Record<string, unknown> = {
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: auth.user },
        password: auth.password,
    };
    // The same device again after a token expired: no new device for every login.
    if (previous && previous.device_id) {
        body.device_id = previous.device_id;
    } else {
        body.initial_device_display_name = LOGIN_DEVICE_NAME;
    }
    return { method: 'POST', url: `${config.homeserver}/_matrix/client/v3/login`, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}

function readLoginResponse(config: MatrixConfig, response: HttpResult): Record<string, string> {
    const body = parseJsonBody(response);
    if (isSuccessStatus(response.status) && body && typeof body.access_token === 'string' && body.access_token) {
        const session: Record<string, string> = { access_token: body.access_token };
        if (typeof body.user_id === 'string') session.user_id = body.user_id;
        if (typeof body.device_id === 'string') session.device_id = body.device_id;
        return session;
    }
    const errcode = body && typeof body.errcode === 'string' ? body.errcode : undefined;
    const user = config.auth && config.auth.kind === 'login' ? config.auth.user : '';
    const error = responseError('Matrix', response, errcode ? `${errcode}${typeof body.error === 'string' ? `: ${body.error}` : ''}` : undefined);
    throw new TargetError(`Matrix login as ${user} failed: ${error.message}`, error.status, error.retryable, error.retryAfterMs);
}

export const matrixTarget: TargetAdapter<MatrixConfig> = {
    type: 'matrix',
    schemes: ['matrix', 'matrixs'],
    templates: 'webhook',
    // A webhook bridge answers no event id and takes no files.
    capabilities: (config) => { const client = config.mode === 'client'; return { edit: client, delete: client, threads: client, upload: client }; },
    docs: {
        files: 'upload',
        filesHow: 'media upload (50 MiB) → `mxc://`, then an `m.image`/`m.video`/`m.audio`/`m.file` event per file; webhook bridges: links',
        rows: [
            {
                target: 'Matrix',
                instance: '`matrixs://{access_token}@host/!room:server` or `matrixs://{user}:{password}@host/#alias:server` (password login; `matrix://` is http; `?token=` works too; several rooms fan out) or `{ "type": "matrix", "homeserver": …, "access_token": … (or "user" + "password"), "room_id": "!…:server" or "#alias:server" }`; rule channel `{ "room_id": … }`',
                identity: '`Name: ` before the body (`<strong>Name</strong>: ` in HTML) plus an MSC4144 per-message profile for clients that show it; its avatar must be mxc://, so the sender\'s avatar (https, or http) is downloaded (address policy, 1 MB) and uploaded to the media repository once per homeserver and avatar URL, the mxc:// kept a day in persistence (every server instance reuses it; access-token instances only); if that fails the instance\'s mxc:// `avatar_url`, or none — the message goes anyway',
                notes: 'HTML via `formatted_body`, split to fit the 64 KiB event; edits (`m.replace`), deletes (redaction), threads (`m.thread`); txn ids `rb-{msgid}-{event}-{part}` make retries idempotent; a password login (`m.login.password`) keeps its access token in app persistence for every server instance and logs in again (same device) on 401 `M_UNKNOWN_TOKEN`; an alias is joined (`/join`, a no-op when joined) for a new message and looked up in the room directory for edits and deletes; files uploaded as `m.image`/`m.file` events; pacing: one budget per account over all its rooms, learned from the first 429, or kept from the start with `"rate_limit": { "per_second": 0.2, "burst_count": 10 }` (the homeserver\'s `rc_message`)',
            },
            {
                target: 'Matrix webhook bridges',
                instance: '`matrix://{t2bot_id}` or `https://webhooks.t2bot.io/api/v1/matrix/hook/{id}` (t2bot); `matrixs://[{user}:]{token}@host?mode=matrix` or `?mode=slack` (matrix-appservice-webhooks), `…?mode=hookshot[&path=/webhook]` (matrix-hookshot); `{ "type": "matrix", "mode": …, "webhook_url": … }`',
                identity: '`displayName`/`avatarUrl` (t2bot, matrix), `username`/`icon_url` (slack), `username` (hookshot); the URL\'s user when the message has no alias',
                notes: 'into the room the bridge was made for; new messages only (no event ids), files as links',
            },
        ],
    },
    parseConfig,
    checkChannel,
    endpoints: (config) => [config.mode === 'client' ? config.homeserver : config.webhookUrl as string],
    fromUrl,
    acceptsNativeUrl,
    describe: (config) => (config.mode === 'client'
        ? `matrix ${originOf(config.homeserver)}${config.auth && config.auth.kind === 'login' ? ` as ${config.auth.user}` : ''} room ${config.roomId || '(from the rule channel)'}`
        : `matrix ${config.mode} webhook ${originOf(config.webhookUrl as string)}`),
    buildRequests,
    readResponse,
    // Each homeserver sets its own limits (Synapse: rc_message) and shows them only in a 429.
    rateLimits: {
        // What the admin declared (rate_limit) is kept from the first message; without it, its 429s teach it (core/pacing.ts: learnFromRefusal).
        published: (config) => (config.rateLimit ? [{ requests: config.rateLimit.burstCount, perMs: (config.rateLimit.burstCount / config.rateLimit.perSecond) * 1000, leaky: true }] : []),
        learnedFrom429: true,
        // rc_message counts the events an account sends (messages, edits) and its redactions, not
        // its uploads, logins, joins or look-ups; a webhook bridge's requests all count.
        counts: (request) => !/\/_matrix\//.test(request.url) || /\/_matrix\/client\/[^/]+\/rooms\/[^/]+\/(send|redact)\//.test(request.url),
        // Synapse limits sending per account over all its rooms (rc_message, per_second 0.2 and
        // burst_count 10 by default), so one account's rooms share what its 429s taught.
        sharedBy: (config) => `matrix\n${config.homeserver}\n${config.auth && config.auth.kind === 'login' ? `@${config.auth.user}` : fnv1a(accessTokenOf(config, undefined))}`,
    },
    keptSession: {
        scope: (config) => (config.auth && config.auth.kind === 'login'
            ? `matrix\n${config.homeserver}\n${config.auth.user}\n${fnv1a(config.auth.password)}`
            : undefined),
        login: loginRequest,
        read: readLoginResponse,
    },
    hostedAvatar: {
        // Only an access-token configuration can upload outside a delivery.
        scope: (config) => (config.auth && config.auth.kind === 'token' ? config.homeserver : undefined),
        upload: (config, avatar) => mediaUpload(config, accessTokenOf(config, undefined), avatar.bytes, avatar.mimeType, 'avatar'),
        read: contentUri,
    },
};
