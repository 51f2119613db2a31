// Matrix through the client-server API with an access token (a bot account's, or any user's):
// `PUT /_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}`.
//
// Identity: MSC4144 per-message profiles (`com.beeper.per_message_profile`, its unstable prefix)
// show the sender's name in clients that support them; every other client reads the `Name: `
// fallback at the start of the body (`has_fallback` tells profile-aware clients to hide it).
// The profile's avatar must be an mxc:// URL: the shell uploads the sender's avatar to the media
// repository once per homeserver and avatar URL (`hostedAvatar`) and hands back its mxc:// URI;
// without one the instance `avatar_url` (an mxc://) is used.
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
// `m.replace` events and report no ids, so the map keeps pointing at the original events; deletes redact. Room aliases would need a directory lookup,
// so only room ids (`!opaque:server`) are accepted.

import { ConfigError } from '../core/errors';
import type { HttpResult, OutboundRequest } from '../core/http';
import { parseJsonBody } from '../core/http';
import { escapeHtml, neutraliseMentions, toHtml, toPlainText } from '../core/text';
import {
    fileMarkdown, decodeUrlPart, fitChunksToParts, isSuccessStatus, mediaKind, optionalString, originOf, pathSegments, queryValue,
    requireHttpUrl, requireString, responseError,
    requestsForEvent,
} from './common';
import { fingerprint, splitToFit, truncateToFit, utf8Length } from './sizing';
import type { DeliveryInput, OutboundFile, ReadResult, TargetAdapter } from '../core/adapter';
import { TargetError } from '../core/adapter';

export interface MatrixConfig {
    /** Client-server API base, e.g. `https://matrix.example.org` (without `/_matrix`). */
    homeserver: string;
    accessToken: string;
    /** Default room; the rule channel's `room_id` wins. */
    roomId?: string;
    msgtype: 'm.text' | 'm.notice';
    /** mxc:// avatar for the per-message profile when the message has no mxc avatar of its own. */
    avatarUrl?: string;
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
// Room ids: `!opaque:server`, or just `!opaque` from room version 12 on.
const ROOM_ID = /^![^\s:/]+(?::[^\s/]+)?$/;

function roomIdProblem(value: string): string | undefined {
    if (value.charAt(0) === '#') {
        return `"${value}" is a room alias; aliases need a directory lookup, so give the room id `
            + '(!…:server, shown in the room\'s settings under Advanced)';
    }
    return ROOM_ID.test(value) ? undefined : `must be a Matrix room id like !abc123:example.org, got "${value}"`;
}

function parseConfig(raw: Record<string, unknown>): MatrixConfig {
    const homeserver = requireHttpUrl(raw, 'homeserver', 'the homeserver\'s client-server API URL, e.g. https://matrix.example.org')
        .replace(/\/_matrix(\/client(\/v3)?)?$/, '');
    const accessToken = requireString(raw, 'access_token', 'an access token of the account that posts');
    const roomId = optionalString(raw, 'room_id');
    const problem = roomId !== undefined ? roomIdProblem(roomId) : undefined;
    if (problem) {
        throw new ConfigError('room_id', problem);
    }
    const msgtype = (optionalString(raw, 'msgtype') || 'text').toLowerCase().replace(/^m\./, '');
    if (msgtype !== 'text' && msgtype !== 'notice') {
        throw new ConfigError('msgtype', `must be text or notice, got "${msgtype}"`);
    }
    const avatarUrl = optionalString(raw, 'avatar_url');
    if (avatarUrl !== undefined && avatarUrl.indexOf('mxc://') !== 0) {
        throw new ConfigError('avatar_url', 'must be an mxc:// URL (Matrix clients ignore other avatar URLs)');
    }
    return { homeserver, accessToken, roomId, msgtype: msgtype === 'notice' ? 'm.notice' : 'm.text', avatarUrl };
}

/**
 * Apprise token mode: matrix(s)://{token}@host[:port]/{!room:server}, matrix(s)://{user}:{token}@host/…
 * (the password slot holds the access token), or ?token=. One room per URL (`?to=` counts too);
 * `#alias` rooms, `@user` targets, password login and Apprise's webhook modes are refused.
 */
function fromUrl(url: URL): Record<string, unknown> {
    const mode = queryValue(url, 'mode');
    if (mode !== undefined && mode.toLowerCase() !== 'off') {
        throw new ConfigError('mode', `webhook mode "${mode}" is not supported; use an access token: matrixs://{token}@host/!room:server`);
    }
    const user = decodeUrlPart(url.username);
    const password = decodeUrlPart(url.password);
    const accessToken = queryValue(url, 'token') || password || user;
    if (!url.hostname || !accessToken) {
        throw new ConfigError('', 'expected matrixs://{access_token}@host/!room:server (password login is not supported: '
            + 'create an access token, e.g. in Element under Settings → Help & About)');
    }
    const targets = pathSegments(url);
    const extraTargets = queryValue(url, 'to');
    if (extraTargets) {
        extraTargets.split(/[\s,]+/).filter((target) => target).forEach((target) => targets.push(target));
    }
    if (targets.length > 1) {
        throw new ConfigError('targets', `one room per URL, got ${targets.join(', ')}; relay to more rooms with more rules`);
    }
    const raw: Record<string, unknown> = {
        homeserver: `${url.protocol === 'matrixs:' ? 'https' : 'http'}://${url.host}`,
        access_token: accessToken,
    };
    const room = targets[0];
    if (room !== undefined) {
        if (room.charAt(0) === '@') {
            throw new ConfigError('targets', `"${room}" is a user; relay into a room the account has joined (!room:server)`);
        }
        // Apprise reads a bare name as an alias too.
        const problem = roomIdProblem(room.charAt(0) === '!' || room.charAt(0) === '#' ? room : `#${room}`);
        if (problem) {
            throw new ConfigError('targets', problem);
        }
        raw.room_id = room;
    }
    const msgtype = queryValue(url, 'msgtype');
    if (msgtype) {
        raw.msgtype = msgtype;
    }
    return raw;
}

// ---------------------------------------------------------------------------------------------
// Requests

function roomFor(input: DeliveryInput<MatrixConfig>): string {
    const roomId = input.channel.room_id || input.config.roomId;
    if (!roomId) {
        throw new TargetError('Matrix: no room; set room_id in the rule channel or the instance', 0, false);
    }
    const problem = roomIdProblem(roomId);
    if (problem) {
        throw new TargetError(`Matrix: room_id ${problem}`, 0, false);
    }
    return roomId;
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
    return {
        method: 'PUT',
        url: `${input.config.homeserver}/_matrix/client/v3/rooms/${encodeURIComponent(roomFor(input))}/${path}`,
        headers: { Authorization: `Bearer ${input.config.accessToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(content),
    };
}

function redact(input: DeliveryInput<MatrixConfig>, eventId: string, part: number): OutboundRequest {
    return put(input, `redact/${encodeURIComponent(eventId)}/${transactionId(input, part)}`, {});
}

function buildSent(input: DeliveryInput<MatrixConfig>): OutboundRequest[] {
    const chunks = splitToFit(sourceText(input), MAX_TEXT, (chunk) => fitsEvent(sentContent(input, chunk)));
    const requests = chunks.map((chunk, part) => put(input, `send/m.room.message/${transactionId(input, part)}`, sentContent(input, chunk)));
    const { config } = input;
    input.files.filter((file) => isUpload(file, true)).forEach((file, index) => {
        requests.push(Object.assign(mediaUpload(config, file.bytes as Uint8Array, file.mimeType, file.name), { tag: mediaKey(index) }));
        // Built again once the upload answered its mxc:// URI.
        const event = put(input, `send/m.room.message/${transactionId(input, chunks.length + index)}`, fileContent(input, file, input.carried[mediaKey(index)] || ''));
        event.tag = 'file';
        requests.push(event);
    });
    return requests;
}

/** A media repository upload; the answer's content_uri is the mxc:// URI. */
function mediaUpload(config: MatrixConfig, bytes: Uint8Array, mimeType: string | undefined, name: string): OutboundRequest {
    return {
        method: 'POST',
        url: `${config.homeserver}/_matrix/media/v3/upload?filename=${encodeURIComponent(name)}`,
        headers: { Authorization: `Bearer ${config.accessToken}`, 'Content-Type': mimeType || 'application/octet-stream' },
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
    return requestsForEvent(input, { sent: buildSent, edited: buildEdited, deleted: buildDeleted });
}

function buildDeleted(input: DeliveryInput<MatrixConfig>): OutboundRequest[] {
    return input.remoteIds.map((id, part) => redact(input, id.indexOf(FILE_MARK) === 0 ? id.slice(FILE_MARK.length) : id, part));
}

function readResponse(input: DeliveryInput<MatrixConfig>, request: OutboundRequest, response: HttpResult): ReadResult {
    const body = parseJsonBody(response);
    const isRedaction = request.url.indexOf('/redact/') >= 0;
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
        return fail(response, `${detail} (the access token was rejected; password login is not supported, create an access token)`);
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

export const matrixTarget: TargetAdapter<MatrixConfig> = {
    type: 'matrix',
    schemes: ['matrix', 'matrixs'],
    templates: 'webhook',
    capabilities: () => ({ edit: true, delete: true, threads: true, upload: true }),
    docs: {
        files: 'upload',
        filesHow: 'media upload (50 MiB) → `mxc://`, then an `m.image`/`m.video`/`m.audio`/`m.file` event per file',
        rows: [
            {
                target: 'Matrix',
                instance: '`matrixs://{access_token}@host/!room:server` (`matrix://` is http; `{user}:{token}@` and `?token=` work too) or `{ "type": "matrix", "homeserver": …, "access_token": …, "room_id": "!…:server" }`; rule channel `{ "room_id": "!…" }`',
                identity: '`Name: ` before the body (`<strong>Name</strong>: ` in HTML) plus an MSC4144 per-message profile for clients that show it; its avatar must be mxc://, so the sender\'s avatar (https, or http) is downloaded (address policy, 1 MB) and uploaded to the media repository once per homeserver and avatar URL, the mxc:// kept a day in persistence (every server instance reuses it); if that fails the instance\'s mxc:// `avatar_url`, or none — the message goes anyway',
                notes: 'HTML via `formatted_body`, split to fit the 64 KiB event; edits (`m.replace`), deletes (redaction), threads (`m.thread`); txn ids `rb-{msgid}-{event}-{part}` make retries idempotent; room ids only (aliases need a directory lookup), no password login; files uploaded as `m.image`/`m.file` events',
            },
        ],
    },
    parseConfig,
    endpoints: (config) => [config.homeserver],
    fromUrl: (url) => ({ config: fromUrl(url) }),
    describe: (config) => `matrix ${originOf(config.homeserver)} room ${config.roomId || '(from the rule channel)'}`,
    buildRequests,
    readResponse,
    hostedAvatar: {
        scope: (config) => config.homeserver,
        upload: (config, avatar) => mediaUpload(config, avatar.bytes, avatar.mimeType, 'avatar'),
        read: contentUri,
    },
};
