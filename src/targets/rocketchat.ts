// Another Rocket.Chat server, through its REST API (`api`, default) or an incoming webhook
// (`webhook`). Config keys follow NextBridge's Rocket.Chat driver (send_method, server_url,
// auth_token, user_id, webhook_url, max_file_size), plus username/password for a login session,
// room_id/channel as the default destination (a rule channel's room_id/channel wins), `avatar`
// (false: name in the text instead of alias/avatar) and `upload_files` (false: files as links).
// Apprise URLs: rocket:// (http) and rockets:// (https), see fromUrl.
//
// Files with bytes are uploaded in two steps, `rooms.media/{rid}` (stores the file, answers its
// id) then `rooms.mediaConfirm/{rid}/{fileId}` (posts it, with alias/avatar and `tmid` like a
// message); a server without rooms.media answers 404 and gets the one-step `rooms.upload/{rid}`
// instead (same fields; deprecated since 6.10, removed in 8.0). One message per file, after the text.
//
// A `#channel` or `@user` destination (API mode) is looked up once (rooms.info?roomName= /
// im.create) and its room id kept in app persistence (KeptLookup): chat.sendMessage and the
// upload endpoints take room ids only.
//
// Remote id: "roomId/messageId" (chat.update and chat.delete need the room), with "/upload"
// appended for file messages so edits leave them alone.
//
// Webhook mode: an incoming webhook answers without a message id, so there is nothing to edit or
// delete; buildRequests returns [] for those events (capabilities are static and describe api mode).

import { markerMessageId, relayHeadersFor } from '../core/relayMarker';
import { messageIdFrom } from '../core/hash';
import { ConfigError } from '../core/errors';
import type { HttpResult, MultipartPart, OutboundRequest } from '../core/http';
import { parseJsonBody } from '../core/http';
import { neutraliseMentions, splitText } from '../core/text';
import {
    decodeUrlPart, fitChunksToParts, isRetryableStatus, isSuccessStatus, mediaKind, optionalBoolean,
    optionalPositiveInteger, optionalString, originOf, pathSegments, queryValue, requireHttpUrl, requireString,
    responseError, retryAfterMs,
} from './common';
import type { DeliveryInput, KeptLookup, OutboundFile, ReadResult, TargetAdapter, UrlInstance } from '../core/adapter';
import { KEPT_LOOKUP, LOOKED_UP, TargetError } from '../core/adapter';
import { readRateLimitHeaders } from '../core/pacing';

export type RocketChatAuth =
    | { kind: 'token'; userId: string; authToken: string }
    | { kind: 'login'; username: string; password: string };

export interface RocketChatConfig {
    sendMethod: 'api' | 'webhook';
    /** API mode: server base URL without trailing slash. */
    serverUrl?: string;
    auth?: RocketChatAuth;
    /** Webhook mode: the incoming webhook URL. */
    webhookUrl?: string;
    /** Default destination when the rule channel names none. */
    roomId?: string;
    /** Default destination as `#channel` or `@user`. */
    channel?: string;
    /** Larger files are linked instead of uploaded. */
    maxFileSize: number;
    /** Upload file bytes (rooms.media, or rooms.upload on older servers); false links them. */
    uploadFiles: boolean;
    /** Send alias/avatar/emoji (needs `message-impersonate`); false puts the name in the text. */
    impersonate: boolean;
}

const MAX_TEXT = 5000; // Rocket.Chat's default Message_MaxAllowedSize
const DEFAULT_MAX_FILE_SIZE = 52428800; // 50 MiB, as NextBridge
const UPLOAD_SUFFIX = '/upload';
// Carried value of a file's rooms.media step when the server has no rooms.media (never a file id: ids have no dots).
const LEGACY_UPLOAD = 'rooms.upload';
// Apprise: `[user:]{id}/{token}@host` is an incoming webhook (the slash written %2F).
const WEBHOOK_CREDENTIAL = /^[a-z0-9]+\/[a-z0-9]+$/i;
const ROOM_ID = /^[A-Za-z0-9]+$/;
const CHANNEL = /^#[A-Za-z0-9_.\-]+$/;
const USER = /^@[A-Za-z0-9_.\-]+$/;

/** `general` → `#general`; `#general` and `@user` stay. */
function channelName(name: string): string {
    return name.charAt(0) === '#' || name.charAt(0) === '@' ? name : `#${name}`;
}

function parseConfig(raw: Record<string, unknown>): RocketChatConfig {
    const webhookUrl = optionalString(raw, 'webhook_url');
    const serverUrl = optionalString(raw, 'server_url');
    // Only a webhook URL given: webhook mode without having to say so.
    const sendMethod = optionalString(raw, 'send_method') || (webhookUrl && !serverUrl ? 'webhook' : 'api');
    if (sendMethod !== 'api' && sendMethod !== 'webhook') {
        throw new ConfigError('send_method', `must be "api" or "webhook", got "${sendMethod}"`);
    }
    const config: RocketChatConfig = {
        sendMethod,
        roomId: optionalString(raw, 'room_id'),
        maxFileSize: optionalPositiveInteger(raw, 'max_file_size') || DEFAULT_MAX_FILE_SIZE,
        uploadFiles: optionalBoolean(raw, 'upload_files') !== false,
        impersonate: optionalBoolean(raw, 'avatar') !== false,
    };
    const channel = optionalString(raw, 'channel');
    if (channel !== undefined) {
        config.channel = channelName(channel);
    }
    if (sendMethod === 'webhook') {
        config.webhookUrl = requireHttpUrl(raw, 'webhook_url', 'send_method "webhook" posts to an incoming webhook');
        return config;
    }
    config.serverUrl = requireHttpUrl(raw, 'server_url', 'send_method "api" calls the REST API');
    const userId = optionalString(raw, 'user_id');
    const authToken = optionalString(raw, 'auth_token');
    const username = optionalString(raw, 'username');
    const password = optionalString(raw, 'password');
    if (userId || authToken) {
        config.auth = {
            kind: 'token',
            userId: requireString(raw, 'user_id', 'the user id that goes with auth_token'),
            authToken: requireString(raw, 'auth_token', 'the personal access token of user_id'),
        };
    } else if (username || password) {
        config.auth = {
            kind: 'login',
            username: requireString(raw, 'username', 'the user that logs in with password'),
            password: requireString(raw, 'password', 'the password of username'),
        };
    } else {
        throw new ConfigError('auth_token', 'is required with user_id (or give username and password)');
    }
    return config;
}

function acceptsNativeUrl(url: URL): boolean {
    return /^\/hooks\/[A-Za-z0-9]+\/[A-Za-z0-9]+\/?$/.test(url.pathname);
}

/**
 * rocket(s)://{user}:{password}@{host}[:{port}]/{target}   basic: logs in, then uses the session
 * rocket(s)://{user_id}:{token}@{host}/{target}            token: password longer than 32 or ?mode=token
 * rocket(s)://[{user}:]{id}%2F{token}@{host}[/{target}]    webhook
 * Target: `#channel`, a room id, or `@user`; `?to=` adds one. `?mode=`,
 * `?avatar=yes|no`. Also the https URL of an incoming webhook (https://host/hooks/{id}/{token}).
 */
function fromUrl(url: URL): UrlInstance {
    if (url.protocol === 'https:' || url.protocol === 'http:') {
        return { config: { send_method: 'webhook', webhook_url: `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}` } };
    }
    if (!url.hostname) {
        throw new ConfigError('host', 'is missing');
    }
    const base = `${url.protocol === 'rockets:' ? 'https' : 'http'}://${url.host}`;
    const user = decodeUrlPart(url.username);
    const password = decodeUrlPart(url.password);
    const webhook = queryValue(url, 'webhook') || (password ? (WEBHOOK_CREDENTIAL.test(password) ? password : undefined)
        : (WEBHOOK_CREDENTIAL.test(user) ? user : undefined));
    const mode = (queryValue(url, 'mode') || (webhook ? 'webhook' : password.length > 32 ? 'token' : 'basic')).toLowerCase();
    if (mode !== 'basic' && mode !== 'token' && mode !== 'webhook') {
        throw new ConfigError('mode', `must be basic, token or webhook, got "${mode}"`);
    }
    const targets = pathSegments(url);
    const extraTargets = queryValue(url, 'to');
    if (extraTargets) {
        extraTargets.split(/[\s,]+/).filter((target) => target).forEach((target) => targets.push(target));
    }
    const raw: Record<string, unknown> = {};
    const destinations = targets.map((target): Record<string, string> => {
        // As in Apprise, @user (a direct message) is a webhook target only: a basic or token URL
        // naming one is refused rather than half-sent. Seed 003's sample_urls list one, but its
        // syntax section (and Apprise, which refuses the sample) keep @user to webhook mode.
        if (USER.test(target) && mode !== 'webhook') {
            throw new ConfigError('targets', `"${target}": direct messages (@user) go through a webhook URL only, as in Apprise; name a #channel or room id`);
        }
        if (CHANNEL.test(target) || USER.test(target)) {
            return { channel: target };
        }
        if (ROOM_ID.test(target)) {
            return { room_id: target };
        }
        throw new ConfigError('targets', `"${target}" is not #channel, @user or a room id`);
    });
    // Apprise: alias/avatar only when asked for in basic mode (the user may lack message-impersonate), on otherwise.
    const avatar = queryValue(url, 'avatar');
    if (avatar !== undefined) {
        raw.avatar = avatar;
    } else if (mode === 'basic') {
        raw.avatar = 'no';
    }
    if (mode === 'webhook') {
        if (!webhook) {
            throw new ConfigError('webhook', 'expected {webhook_id}%2F{webhook_token}@host (escape the / as %2F)');
        }
        raw.send_method = 'webhook';
        raw.webhook_url = `${base}/hooks/${webhook}`;
        return { config: raw, destinations };
    }
    if (!user || !password) {
        throw new ConfigError('', 'expected {user}:{password}@host, {user_id}:{token}@host or {webhook_id}%2F{webhook_token}@host');
    }
    raw.send_method = 'api';
    raw.server_url = base;
    if (mode === 'token') {
        raw.user_id = user;
        raw.auth_token = password;
    } else {
        raw.username = user;
        raw.password = password;
    }
    return { config: raw, destinations };
}

// ---------------------------------------------------------------------------------------------
// Remote ids

export interface RocketChatRemoteId {
    roomId?: string;
    messageId: string;
    upload: boolean;
}

export function encodeRemoteId(roomId: string, messageId: string, upload = false): string {
    return `${roomId}/${messageId}${upload ? UPLOAD_SUFFIX : ''}`;
}

export function decodeRemoteId(remoteId: string): RocketChatRemoteId {
    const parts = remoteId.split('/');
    if (parts.length === 1) {
        return { messageId: parts[0], upload: false };
    }
    return { roomId: parts[0], messageId: parts[1], upload: parts[2] === 'upload' };
}

// ---------------------------------------------------------------------------------------------
// Requests

interface Destination {
    roomId?: string;
    channel?: string;
}

function destinationFor(input: DeliveryInput<RocketChatConfig>): Destination {
    const { channel, config } = input;
    if (channel.room_id) {
        return { roomId: channel.room_id };
    }
    if (channel.channel) {
        return { channel: channelName(channel.channel) };
    }
    return config.roomId ? { roomId: config.roomId } : config.channel ? { channel: config.channel } : {};
}

/**
 * The `#channel` or `@user` whose room id this sent message needs (API mode): chat.sendMessage
 * (which carries the relay marker in the id) and the upload endpoints take a room id only. A
 * thread reply has its parent's room already.
 */
function channelToResolve(input: DeliveryInput<RocketChatConfig>): string | undefined {
    if (input.config.sendMethod !== 'api' || input.message.event !== 'sent') {
        return undefined;
    }
    const thread = input.remoteThreadId ? decodeRemoteId(input.remoteThreadId) : undefined;
    if (thread && thread.roomId) {
        return undefined;
    }
    return destinationFor(input).channel;
}

/**
 * The request that finds a destination's room id: `rooms.info?roomName=` for `#channel` (public
 * or private, if the account may see it; api/v1/rooms.ts findRoomByIdOrName), `im.create` for
 * `@user` (opens the direct message room, or finds it; api/v1/im.ts). Both answer `{ room: { _id } }`.
 */
function roomLookup(input: DeliveryInput<RocketChatConfig>, channel: string): OutboundRequest {
    const api = `${input.config.serverUrl}/api/v1`;
    const name = channel.slice(1);
    if (channel.charAt(0) === '@') {
        return jsonPost(`${api}/im.create`, authHeaders(input), { username: name });
    }
    return { method: 'GET', url: `${api}/rooms.info?roomName=${encodeURIComponent(name)}`, headers: authHeaders(input) };
}

/** Which lookup a request is, from its URL. */
function isRoomLookup(request: OutboundRequest): boolean {
    return /\/api\/v1\/(rooms\.info\?roomName=|im\.create$)/.test(request.url);
}

/** The room id of a destination is kept per server, account and destination (DM rooms are the account's). */
const keptRoomLookup: KeptLookup<RocketChatConfig> = {
    scope(input) {
        const channel = channelToResolve(input);
        if (!channel) {
            return undefined;
        }
        const auth = input.config.auth as RocketChatAuth;
        return `rocketchat\n${input.config.serverUrl}\n${auth.kind === 'token' ? auth.userId : auth.username}\n${channel}`;
    },
};

function rocketText(input: DeliveryInput<RocketChatConfig>): string {
    const text = neutraliseMentions(input.rendered.text);
    // Without impersonation every message would look like the API user's: name it in the text.
    return input.config.impersonate || !input.rendered.alias || !text.trim() ? text : `*${input.rendered.alias}*: ${text}`;
}

function identityFields(input: DeliveryInput<RocketChatConfig>): Record<string, unknown> {
    const fields: Record<string, unknown> = {};
    if (!input.config.impersonate) {
        return fields;
    }
    if (input.rendered.alias) {
        fields.alias = input.rendered.alias;
    }
    // Rocket.Chat lets avatar win over emoji anyway; send one.
    if (input.rendered.avatarUrl) {
        fields.avatar = input.rendered.avatarUrl;
    } else if (input.rendered.emoji) {
        fields.emoji = input.rendered.emoji;
    }
    return fields;
}

function linkAttachment(file: OutboundFile): Record<string, unknown> {
    if (file.label) {
        return { title: file.label };
    }
    const attachment: Record<string, unknown> = { title: file.name, title_link: file.url, title_link_download: true };
    const kind = mediaKind(file.mimeType);
    if (kind !== 'file') {
        attachment[`${kind}_url`] = file.url;
    }
    return attachment;
}

/** The account's headers, and the relay marker (a Relay Bridge behind the remote's API may read it). */
function authHeaders(input: DeliveryInput<RocketChatConfig>): Record<string, string> {
    const auth = input.config.auth;
    const headers = relayHeadersFor(input.message);
    if (auth && auth.kind === 'token') {
        return Object.assign(headers, { 'X-User-Id': auth.userId, 'X-Auth-Token': auth.authToken });
    }
    return Object.assign(headers, input.session || {});
}

function jsonPost(url: string, headers: Record<string, string>, payload: Record<string, unknown>): OutboundRequest {
    return { method: 'POST', url, headers: Object.assign({ 'Content-Type': 'application/json' }, headers), body: JSON.stringify(payload) };
}

/** Text chunks as messages (link attachments on the last), then two requests per file with bytes (see the top). */
function buildSent(input: DeliveryInput<RocketChatConfig>): OutboundRequest[] {
    const { config } = input;
    const thread = input.remoteThreadId ? decodeRemoteId(input.remoteThreadId) : undefined;
    const destination = destinationFor(input);
    // A `#channel`/`@user` is looked up first (or its kept room id used): see channelToResolve.
    const toResolve = channelToResolve(input);
    const lookups: OutboundRequest[] = toResolve && input.carried[KEPT_LOOKUP] === undefined ? [roomLookup(input, toResolve)] : [];
    const resolved = toResolve ? input.carried[KEPT_LOOKUP] || input.carried[LOOKED_UP] : undefined;
    if (toResolve && resolved === undefined) {
        return lookups; // the rest is built once the lookup answered
    }
    // A thread reply goes to the parent's room; the upload endpoints need a room id in their path.
    const roomId = (thread && thread.roomId) || destination.roomId || resolved;
    const canUpload = config.sendMethod === 'api' && config.uploadFiles && roomId !== undefined;
    const uploads = input.files.filter((file) => canUpload && file.bytes !== undefined && file.bytes.length <= config.maxFileSize);
    const links = input.files.filter((file) => uploads.indexOf(file) < 0).map(linkAttachment);
    const chunks = splitText(rocketText(input), MAX_TEXT);
    if (chunks.length === 0 && links.length > 0) {
        chunks.push('');
    }
    const where: Record<string, unknown> = roomId ? { roomId } : destination.channel ? { channel: destination.channel } : {};
    if (config.sendMethod === 'api' && !where.roomId && !where.channel) {
        throw new TargetError('Rocket.Chat: no destination; set room_id or channel in the rule channel or the instance', 0, false);
    }
    const url = config.sendMethod === 'api' ? `${config.serverUrl}/api/v1/chat.postMessage` : config.webhookUrl as string;
    const headers = config.sendMethod === 'api' ? authHeaders(input) : relayHeadersFor(input.message);
    const requests: OutboundRequest[] = lookups.slice();
    chunks.forEach((text, index) => {
        const payload: Record<string, unknown> = Object.assign({}, where, { text }, identityFields(input));
        if (thread) {
            payload.tmid = thread.messageId;
        }
        if (index === chunks.length - 1 && links.length > 0) {
            payload.attachments = links;
        }
        const markedId = config.sendMethod === 'api' && roomId !== undefined ? markedMessageId(input, roomId, index) : undefined;
        if (!markedId) {
            requests.push(jsonPost(url, headers, payload));
            return;
        }
        // chat.sendMessage: the same fields in the message's own names, and the id carrying the marker.
        const message: Record<string, unknown> = { _id: markedId, rid: roomId, msg: text };
        ['alias', 'avatar', 'emoji', 'tmid', 'attachments'].filter((key) => payload[key] !== undefined).forEach((key) => (message[key] = payload[key]));
        requests.push(Object.assign(jsonPost(`${config.serverUrl}/api/v1/chat.sendMessage`, headers, { message }), { tag: sendKey(index) }));
        if (input.carried[sendKey(index)] === STORED_NOTHING) {
            // The server answered without storing a message (see readSendMessage): is it there?
            requests.push({ method: 'GET', url: `${config.serverUrl}/api/v1/chat.getMessage?msgId=${encodeURIComponent(markedId)}`, headers: authHeaders(input), tag: sendKey(index) });
        }
    });
    // The file message's fields: sendFileMessage takes alias, avatar, emoji, msg, tmid (and no others).
    const fields: Record<string, string> = identityFields(input) as Record<string, string>;
    if (!input.config.impersonate && input.rendered.alias) {
        fields.msg = `*${input.rendered.alias}*`; // who sent it, as the text messages say
    }
    if (thread) {
        fields.tmid = thread.messageId;
    }
    const api = `${config.serverUrl}/api/v1`;
    const room = encodeURIComponent(roomId as string);
    uploads.forEach((file, index) => {
        const filePart: MultipartPart = {
            name: 'file',
            file: { filename: file.name, contentType: file.mimeType || 'application/octet-stream', bytes: file.bytes as Uint8Array },
        };
        requests.push({ method: 'POST', url: `${api}/rooms.media/${room}`, headers: authHeaders(input), multipart: [filePart], tag: mediaKey(index) });
        const fileId = input.carried[mediaKey(index)];
        if (fileId === LEGACY_UPLOAD) {
            const parts = [filePart].concat(Object.keys(fields).map((name) => ({ name, value: fields[name] })));
            requests.push({ method: 'POST', url: `${api}/rooms.upload/${room}`, headers: authHeaders(input), multipart: parts });
        } else {
            // Before rooms.media answered, the id is not known yet; the request is built again then.
            requests.push(jsonPost(`${api}/rooms.mediaConfirm/${room}/${encodeURIComponent(fileId || '')}`, headers, fields));
        }
    });
    return requests;
}

/**
 * The id that carries the relay marker for the `index`th text message, when the message has a
 * marker to pass on: derived from the source message and the destination, so a retry after a lost
 * answer names the same message and the server stores it once.
 */
function markedMessageId(input: DeliveryInput<RocketChatConfig>, roomId: string, index: number): string | undefined {
    const marker = input.message.relay;
    if (!marker) {
        return undefined;
    }
    return markerMessageId(marker, messageIdFrom(`${input.config.serverUrl}\n${roomId}\n${marker.server}\n${input.message.id}\n${index}`));
}

/** Tag (and carried key) of the `index`th text message's chat.sendMessage and its check. */
function sendKey(index: number): string {
    return `send.${index}`;
}

/** Carried by a chat.sendMessage answered without a message: the next request checks whether it exists. */
const STORED_NOTHING = 'stored-nothing';

/** Key of the carried rooms.media answer for the `index`th uploaded file. */
function mediaKey(index: number): string {
    return `media.${index}`;
}

/** Which upload step a request is, from its URL. */
function uploadStep(request: OutboundRequest): 'media' | 'confirm' | 'upload' | undefined {
    const match = /\/api\/v1\/rooms\.(media|mediaConfirm|upload)\//.exec(request.url);
    return match ? (match[1] === 'mediaConfirm' ? 'confirm' : match[1] as 'media' | 'upload') : undefined;
}

function buildEdited(input: DeliveryInput<RocketChatConfig>): OutboundRequest[] {
    const textParts = input.remoteIds.map(decodeRemoteId).filter((part) => !part.upload);
    const chunks = fitChunksToParts(splitText(rocketText(input), MAX_TEXT), textParts.length, MAX_TEXT);
    const fallbackRoom = destinationFor(input).roomId;
    const headers = authHeaders(input);
    const api = `${input.config.serverUrl}/api/v1`;
    return textParts.map((part, index) => {
        const target = { roomId: part.roomId || fallbackRoom, msgId: part.messageId };
        return index < Math.max(chunks.length, 1)
            ? jsonPost(`${api}/chat.update`, headers, Object.assign(target, { text: chunks[index] || '' }))
            // The text got shorter than the parts it once needed: the surplus parts go.
            : jsonPost(`${api}/chat.delete`, headers, target);
    });
}

function buildDeleted(input: DeliveryInput<RocketChatConfig>): OutboundRequest[] {
    const fallbackRoom = destinationFor(input).roomId;
    const headers = authHeaders(input);
    return input.remoteIds.map(decodeRemoteId).map((part) =>
        jsonPost(`${input.config.serverUrl}/api/v1/chat.delete`, headers, { roomId: part.roomId || fallbackRoom, msgId: part.messageId }));
}

function buildRequests(input: DeliveryInput<RocketChatConfig>): OutboundRequest[] {
    if (input.message.event === 'sent') {
        return buildSent(input);
    }
    if (input.config.sendMethod === 'webhook') {
        return []; // an incoming webhook cannot edit or delete
    }
    return input.message.event === 'edited' ? buildEdited(input) : buildDeleted(input);
}

/** The target's own error text: `{success:false, error, errorType}` or `{status:'error', message}`. */
function errorDetail(response: HttpResult): string | undefined {
    const body = parseJsonBody(response);
    if (!body || typeof body !== 'object') {
        return undefined;
    }
    const text = typeof body.error === 'string' ? body.error : typeof body.message === 'string' ? body.message : undefined;
    return text && typeof body.errorType === 'string' && text.indexOf(body.errorType) < 0 ? `${text} [${body.errorType}]` : text;
}

function failure(config: RocketChatConfig, request: OutboundRequest, response: HttpResult): TargetError {
    const detail = errorDetail(response);
    if (isSuccessStatus(response.status)) {
        // `success: false` with a 2xx status: a refusal, not a transport problem.
        return new TargetError(`Rocket.Chat refused: ${detail || 'success false'}`, response.status, false);
    }
    if (response.status === 401 && config.auth && config.auth.kind === 'login') {
        // A login session can expire: worth a retry with a fresh login.
        return new TargetError(`Rocket.Chat answered 401: ${detail || 'unauthorised'}`, 401, true);
    }
    const error = responseError('Rocket.Chat', response, detail);
    if (response.status === 404 && uploadStep(request) === 'upload') {
        const hint = 'the server has neither rooms.media nor rooms.upload: set upload_files to false to send files as links';
        return new TargetError(`${error.message} (${hint})`, 404, false);
    }
    const resetAt = Number(response.headers['x-ratelimit-reset']);
    if (error.retryable && error.retryAfterMs === undefined && resetAt > 0) {
        // Rocket.Chat's rate limiter says when its window resets (epoch milliseconds).
        return new TargetError(error.message, error.status, true, Math.max(0, resetAt - Date.now()));
    }
    return error;
}

function readResponse(input: DeliveryInput<RocketChatConfig>, request: OutboundRequest, response: HttpResult): ReadResult {
    const body = parseJsonBody(response);
    const step = uploadStep(request);
    if (step === 'media') {
        return { carry: { [request.tag as string]: readMediaFileId(input.config, request, response, body) } };
    }
    if (isRoomLookup(request)) {
        return { carry: { [LOOKED_UP]: readRoomId(input.config, request, response, body) } };
    }
    if (request.url.indexOf('/api/v1/chat.sendMessage') >= 0) {
        return readSendMessage(input, request, response, body);
    }
    if (request.url.indexOf('/api/v1/chat.getMessage') >= 0) {
        return readMessageCheck(input, request, response, body);
    }
    if (!isSuccessStatus(response.status) || (body && body.success === false)) {
        throw failure(input.config, request, response);
    }
    if (request.url.indexOf('/api/v1/chat.delete') >= 0) {
        return {};
    }
    const message = body && body.message;
    if (message && typeof message._id === 'string' && typeof message.rid === 'string') {
        return { remoteId: encodeRemoteId(message.rid, message._id, step !== undefined) };
    }
    return {};
}

/**
 * chat.sendMessage answers the stored message. When the server stored nothing (the id exists
 * already: a retry after a lost answer; or an app such as the Relay Bridge there refused the
 * message as a loop), functions/sendMessage.ts returns undefined and the route fails reading it:
 * 400 with a TypeError's text ("Cannot read properties of undefined …", older V8 "… of undefined")
 * and no errorType (servers up to 3.x: 200 without a message). Which of
 * the two it was, chat.getMessage tells.
 */
function readSendMessage(input: DeliveryInput<RocketChatConfig>, request: OutboundRequest, response: HttpResult, body: any): ReadResult {
    if (response.status === 400 && body && body.success === false && body.errorType === undefined && /of undefined/.test(String(body.error))) {
        return { carry: { [request.tag as string]: STORED_NOTHING } };
    }
    if (!isSuccessStatus(response.status) || (body && body.success === false)) {
        throw failure(input.config, request, response);
    }
    const message = body && body.message;
    if (message && typeof message._id === 'string' && typeof message.rid === 'string') {
        return { remoteId: encodeRemoteId(message.rid, message._id) };
    }
    // Servers before the route awaited sendMessage (≤ 3.x: `Meteor.call('sendMessage')`) answer success without one.
    return { carry: { [request.tag as string]: STORED_NOTHING } };
}

/** The check after an answer without a message: there (a retry) → its id; not there (refused as a loop) → nothing to keep. */
function readMessageCheck(input: DeliveryInput<RocketChatConfig>, request: OutboundRequest, response: HttpResult, body: any): ReadResult {
    const message = body && body.message;
    if (isSuccessStatus(response.status) && body && body.success !== false && message && typeof message._id === 'string' && typeof message.rid === 'string') {
        return { remoteId: encodeRemoteId(message.rid, message._id) };
    }
    if (response.status === 400 || response.status === 404) {
        return {};
    }
    throw failure(input.config, request, response);
}

/** rooms.info and im.create answer `{ room: { _id } }`; a name the account cannot see is a 400 (error-room-not-found, not-allowed). */
function readRoomId(config: RocketChatConfig, request: OutboundRequest, response: HttpResult, body: any): string {
    if (!isSuccessStatus(response.status) || (body && body.success === false)) {
        throw failure(config, request, response);
    }
    const room = body && body.room;
    if (!room || typeof room._id !== 'string' || !room._id) {
        throw new TargetError(`Rocket.Chat answered ${response.status} to a room lookup without a room id`, response.status, false);
    }
    return room._id;
}

/** rooms.media answers `{file: {_id, url}}`; 404 means a server without it (rooms.upload then). */
function readMediaFileId(config: RocketChatConfig, request: OutboundRequest, response: HttpResult, body: any): string {
    if (response.status === 404) {
        return LEGACY_UPLOAD;
    }
    if (!isSuccessStatus(response.status) || (body && body.success === false)) {
        throw failure(config, request, response);
    }
    const file = body && body.file;
    if (!file || typeof file._id !== 'string' || !file._id) {
        throw new TargetError(`Rocket.Chat answered ${response.status} to rooms.media without a file id`, response.status, false);
    }
    return file._id;
}

function login(config: RocketChatConfig): OutboundRequest | undefined {
    const auth = config.auth;
    if (!auth || auth.kind !== 'login') {
        return undefined;
    }
    return {
        method: 'POST',
        url: `${config.serverUrl}/api/v1/login`,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `username=${encodeURIComponent(auth.username)}&password=${encodeURIComponent(auth.password)}`,
    };
}

function readLogin(config: RocketChatConfig, response: HttpResult): Record<string, string> {
    const body = parseJsonBody(response);
    const data = body && body.data;
    if (isSuccessStatus(response.status) && body && body.status === 'success' && data && data.authToken && data.userId) {
        return { 'X-User-Id': String(data.userId), 'X-Auth-Token': String(data.authToken) };
    }
    const detail = errorDetail(response);
    const retryable = isRetryableStatus(response.status);
    const username = config.auth && config.auth.kind === 'login' ? config.auth.username : '';
    throw new TargetError(
        `Rocket.Chat login as ${username} failed (${response.status})${detail ? `: ${detail}` : ''}`,
        response.status,
        retryable,
        retryable ? retryAfterMs(response) : undefined,
    );
}

function describe(config: RocketChatConfig): string {
    if (config.sendMethod === 'webhook') {
        return `rocketchat webhook ${originOf(config.webhookUrl || '')}`;
    }
    const auth = config.auth as RocketChatAuth;
    return `rocketchat api ${originOf(config.serverUrl || '')} as ${auth.kind === 'token' ? auth.userId : auth.username}`;
}

export const rocketChatTarget: TargetAdapter<RocketChatConfig> = {
    type: 'rocketchat',
    schemes: ['rocket', 'rockets'],
    templates: 'rocketchat',
    instanceKeyAliases: { webhook_token: 'token' },
    slashInCredentials: true,
    capabilities: (config) => { const api = config.sendMethod === 'api'; return { edit: api, delete: api, threads: api, upload: api && config.uploadFiles }; },
    docs: {
        files: 'upload',
        filesHow: '`rooms.media` then `rooms.mediaConfirm` per file (one message each, with alias/avatar and `tmid`), `rooms.upload` on servers without them; webhook mode: link',
        rows: [
            {
                target: 'Remote Rocket.Chat',
                instance: '`rocket(s)://user:password@host/#channel[/room_id…]`, `rocket(s)://{id}/{token}@host[/@user]` (the `/` may be written `%2F`; `?webhook={id}/{token}` too), or NextBridge keys `server_url`/`auth_token`/`user_id`; `@user` targets with webhooks only, as in Apprise',
                identity: 'alias + avatar/emoji (needs the bot role / `message-impersonate`); `rocket://user:password@…` URLs only with `?avatar=yes`, as in Apprise',
                notes: '`chat.sendMessage` with a message id carrying the relay marker (see [Security](#security)); a `#channel`/`@user` destination is first turned into its room id (`rooms.info?roomName=`, `im.create`), kept in app persistence; `rooms.media` + `rooms.mediaConfirm` (`rooms.upload` on servers without them), `chat.update`, `chat.delete`',
            },
        ],
    },
    parseConfig,
    endpoints: (config) => [config.sendMethod === 'webhook' ? config.webhookUrl || '' : config.serverUrl || ''],
    fromUrl,
    acceptsNativeUrl,
    describe,
    buildRequests,
    readResponse,
    rateLimits: { announced: (response, now) => readRateLimitHeaders(response.headers, 'epoch-ms', now) },
    login,
    readLogin,
    keptLookup: keptRoomLookup,
};
