// The REST routes another server's Relay Bridge calls to post into this one with a chosen message
// id: chat.sendMessage and chat.getMessage (apps/meteor/app/api/server/v1/chat.ts, schema in
// packages/rest-typings/src/v1/chat.ts; functions/sendMessage.ts; RocketChat/Rocket.Chat).
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

module.exports = { sendMessage, getMessage };
