// The REST routes another server's Relay Bridge calls to post into this one with a chosen message
// id: chat.sendMessage and chat.getMessage (apps/meteor/app/api/server/v1/chat.ts, schema in
// packages/rest-typings/src/v1/chat.ts; functions/sendMessage.ts; RocketChat/Rocket.Chat), and
// the room lookups that turn a `#channel`/`@user` into the room id they need: rooms.info
// (api/v1/rooms.ts) and im.create (api/v1/im.ts, server/methods/createDirectMessage.ts).
// Mounted by AppsRestApi, which authenticates (X-User-Id + X-Auth-Token) and turns a thrown error
// into the server's 400 `{ success: false, error, errorType }`. Rules in docs/HOST-FIDELITY.md.
'use strict';

const { engineRequire } = require('./engine');
const { fromServerShape } = require('./bridges');

const { AppInterface } = engineRequire('definition/metadata');

const STRINGS = ['_id', 'rid', 'tmid', 'msg', 'alias', 'emoji', 'avatar'];
const ARRAYS = ['attachments', 'blocks'];

/** isChatSendMessageProps (ajv): `message` required, nothing else but `previewUrls`; the message's known fields typed. */
function validSendMessageBody(body) {
    if (!body || typeof body !== 'object' || !body.message || typeof body.message !== 'object' || Array.isArray(body.message)) return "must have required property 'message'";
    const extra = Object.keys(body).find((key) => key !== 'message' && key !== 'previewUrls');
    if (extra) return 'must NOT have additional properties';
    const m = body.message;
    for (const key of STRINGS) if (m[key] != null && typeof m[key] !== 'string') return `must be string`;
    for (const key of ARRAYS) if (m[key] != null && !Array.isArray(m[key])) return `must be array`;
    if (m.tshow != null && typeof m.tshow !== 'boolean') return 'must be boolean';
    if (m.customFields != null && (typeof m.customFields !== 'object' || Array.isArray(m.customFields))) return 'must be object';
    return undefined;
}

/** A server-side message as the REST answer shows it. */
function restMessage(stored) {
    const { id, roomId, senderId, text, threadId, createdAt, avatarUrl, ...rest } = stored;
    const out = { _id: id, rid: roomId, msg: text, ts: createdAt, u: { _id: senderId }, ...(threadId ? { tmid: threadId } : {}), ...(avatarUrl ? { avatar: avatarUrl } : {}) };
    for (const key of ['alias', 'emoji', 'attachments', 'groupable']) if (rest[key] !== undefined) out[key] = rest[key];
    return out;
}

/**
 * chat.sendMessage: executeSendMessage with the client's `_id`; the apps' IPreMessageSentPrevent;
 * an `_id` that exists or a prevented message makes sendMessage return undefined, and the route
 * then fails in normalizeMessagesForUser reading a field of it (a TypeError: 400, no errorType).
 */
async function sendMessage(host, { bodyParams, user }, result) {
    const invalid = validSendMessageBody(bodyParams);
    if (invalid) return result.failure(invalid, 'invalid-params');
    const message = { ...bodyParams.message };
    if (message.t && message.t !== 'e2e') throw new Error("Cannot send system messages using 'chat.sendMessage'");
    message.u = { _id: user.id, username: user.username, name: user.name };
    let sent = host.rules.executeSendMessage(message);
    if (sent && (await preventedByApps(host, sent))) sent = undefined;
    if (!sent) throw new TypeError("Cannot read properties of undefined (reading 'starred')");
    const stored = host.state.insertMessage(fromServerShape(sent));
    host.firePostSent(stored);
    return result.success({ message: restMessage(stored) });
}

/** functions/sendMessage.ts: `Apps.self.triggerEvent(IPreMessageSentPrevent, message)` before the insert. */
async function preventedByApps(host, serverMessage) {
    const candidate = { ...fromServerShape(serverMessage), createdAt: serverMessage.ts || new Date() };
    const appMessage = host.state.messageForApp(candidate);
    return Boolean(await host.manager.getListenerManager().executeListener(AppInterface.IPreMessageSentPrevent, appMessage));
}

/** chat.getMessage: `msgId` required; a message that is not there (or not readable) is `failure()`. */
function getMessage(host, { queryParams, user }, result) {
    if (!queryParams.msgId) return result.failure('The "msgId" query parameter must be provided.');
    const stored = host.state.messages.get(String(queryParams.msgId));
    const room = stored && host.state.rooms.get(stored.roomId);
    if (!stored || !room || (room.type !== 'c' && !room.userIds.includes(user.id))) return result.failure();
    return result.success({ message: restMessage(stored) });
}

/** A room as the REST answers show it (the fields a client reads). */
function restRoom(host, room) {
    const out = { _id: room.id, t: room.type, usersCount: room.userIds.length, ts: room.createdAt };
    if (room.type === 'd') out.usernames = room.userIds.map((id) => host.state.requireUser(id).username);
    else Object.assign(out, { name: room.slugifiedName, fname: room.displayName });
    return out;
}

/**
 * rooms.info: findRoomByIdOrName (roomId, else roomName matched exactly: Rooms.findOneByName, so
 * no `#`; direct rooms have no name), archived refused, then canAccessRoomAsync (a public room,
 * or a member) else `failure('not-allowed', 'Not Allowed')`.
 */
function roomsInfo(host, { queryParams, user }, result, MeteorError) {
    const { roomId, roomName } = queryParams;
    if (!roomId && !roomName) throw new MeteorError('error-roomid-param-not-provided', 'The parameter "roomId" or "roomName" is required');
    let room;
    if (roomId) room = host.state.rooms.get(String(roomId));
    else for (const candidate of host.state.rooms.values()) if (candidate.type !== 'd' && candidate.slugifiedName === String(roomName)) room = candidate;
    if (!room) throw new MeteorError('error-room-not-found', 'The required "roomId" or "roomName" param provided does not match any channel');
    if (room.archived) throw new MeteorError('error-room-archived', `The channel, ${room.slugifiedName}, is archived`);
    if (room.type !== 'c' && !room.userIds.includes(user.id)) return result.failure('not-allowed', 'Not Allowed');
    return result.success({ room: restRoom(host, room) });
}

/**
 * im.create / dm.create: `username` or `usernames` (isDmCreateProps); createDirectMessage finds or
 * creates the direct room of the caller and those users (a two-person room's id is their sorted
 * ids joined); an unknown user is `error-invalid-user`. Answers `{ room: { ...room, _id: rid } }`.
 */
function imCreate(host, { bodyParams, user }, result, MeteorError) {
    const single = typeof bodyParams.username === 'string';
    const listed = typeof bodyParams.usernames === 'string';
    const extra = Object.keys(bodyParams).find((key) => !['username', 'usernames', 'excludeSelf'].includes(key));
    if (single === listed || extra) return result.failure('must match exactly one schema in oneOf', 'invalid-params');
    const names = single ? [bodyParams.username] : bodyParams.usernames.split(',').map((name) => name.trim());
    const others = names.filter((name) => name !== user.username).map((name) => host.state.findUserByUsername(name));
    if (others.some((other) => !other)) throw new MeteorError('error-invalid-user', 'Invalid user');
    const ids = [user.id, ...others.map((other) => other.id)].sort();
    const room = host.state.rooms.get(ids.join('')) || host.state.createRoom({ id: ids.join(''), name: '', kind: 'direct', creatorId: user.id, memberIds: ids });
    const shown = restRoom(host, room);
    return result.success({ room: { ...shown, rid: shown._id } });
}

/** canAccessRoomIdAsync for the upload routes: a public room, or a member. */
function canAccessRoom(host, rid, user) {
    const room = host.state.rooms.get(String(rid));
    return Boolean(room && (room.type === 'c' || room.userIds.includes(user.id)));
}

const FORBIDDEN = { statusCode: 403, body: { success: false, error: 'unauthorized' } };

/**
 * rooms.media/:rid: the room must be accessible (else 403); one file in field `file`
 * (getUploadFormData), stored as a temporary upload (expiresAt: a day); answers
 * `{ file: { _id, url } }` and posts nothing.
 */
async function roomsMedia(host, { req, urlParams, user }, result, readUpload) {
    if (!canAccessRoom(host, urlParams.rid, user)) return FORBIDDEN;
    const upload = await readUpload(req, { field: 'file', sizeLimit: host.serverSettings.FileUpload_MaxFileSize });
    const { upload: stored } = host.storeFile({ roomId: urlParams.rid, userId: user.id, name: upload.filename, type: upload.mimetype, bytes: upload.fileBuffer });
    stored.expiresAt = new Date(Date.now() + 24 * 3600 * 1000);
    return result.success({ file: { _id: stored.id, url: stored.path } });
}

// sendFileMessage's check(msgData, Match.Maybe({...})): the only body fields it takes.
const FILE_MESSAGE_FIELDS = ['avatar', 'emoji', 'alias', 'groupable', 'msg', 'tmid', 'customFields', 't', 'content'];

/**
 * rooms.mediaConfirm/:rid/:fileId: the upload must exist (else `invalid-file`); `description`
 * goes to the file, the other body fields are sendFileMessage's msgData (others: a Match error) —
 * no `_id`: the server picks the message id. The message goes through executeSendMessage and the
 * apps' IPreMessageSentPrevent; a prevented one leaves the upload and answers `{ message: null }`
 * (getMessageByFileIdAndUsername finds none).
 */
async function roomsMediaConfirm(host, { urlParams, bodyParams, user }, result, MeteorError) {
    if (!canAccessRoom(host, urlParams.rid, user)) return FORBIDDEN;
    const entry = host.state.uploads.get(String(urlParams.fileId));
    if (!entry) throw new MeteorError('invalid-file');
    const { description, ...msgData } = bodyParams;
    const unknown = Object.keys(msgData).find((key) => !FILE_MESSAGE_FIELDS.includes(key));
    if (unknown) return result.failure(`Match error: Unknown key in field ${unknown}`);
    const { upload } = entry;
    delete upload.expiresAt; // Uploads.confirmTemporaryFile
    const file = { _id: upload.id, name: upload.name, type: upload.type, size: entry.bytes.length };
    const attachment = { title: upload.name, type: 'file', description, title_link: upload.path, title_link_download: true, ...(String(upload.type).startsWith('image/') ? { image_url: upload.path, image_type: upload.type } : {}) };
    const serverMessage = host.rules.executeSendMessage({ ...msgData, rid: urlParams.rid, u: { _id: user.id, username: user.username, name: user.name }, msg: msgData.msg || '', groupable: false, file, files: [file], attachments: [attachment] });
    if (!serverMessage || (await preventedByApps(host, serverMessage))) return result.success({ message: null });
    const stored = host.state.insertMessage(fromServerShape(serverMessage));
    host.firePostSent(stored);
    return result.success({ message: restMessage(stored) });
}

module.exports = { sendMessage, getMessage, roomsInfo, imCreate, roomsMedia, roomsMediaConfirm };
