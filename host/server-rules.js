// The rules a real Rocket.Chat server applies to what an app posts and uploads, read from its
// source (RocketChat/Rocket.Chat, paths below) and listed with their tests in docs/HOST-FIDELITY.md.
// The bridges call these; the host must refuse what the server refuses, with the server's errors.
'use strict';

const dns = require('dns');
const net = require('net');
const Ajv = require('ajv');

/** Server setting defaults (apps/meteor/server/settings/message.ts, threads.ts, file-upload.ts, e2e.ts). */
const SERVER_SETTING_DEFAULTS = Object.freeze({
    Message_MaxAllowedSize: 5000,
    Threads_enabled: true,
    Message_CustomFields_Enabled: false,
    Message_CustomFields: '{"properties":{"priority":{"type":"string","nullable":false,"enum":["low","medium","high"]}},"required":["priority"]}',
    FileUpload_Enabled: true,
    FileUpload_MaxFileSize: 104857600,
    FileUpload_MediaTypeWhiteList: '',
    FileUpload_MediaTypeBlackList: 'image/svg+xml',
    FileUpload_ProtectFiles: true,
    FileUpload_Enabled_Direct: true,
    E2E_Enable: false,
    E2E_Allow_Unencrypted_Messages: false,
    SSRF_Allowlist: '',
});

/** Default roles of the permissions these rules check (server/lib/... upsertPermissions). */
const PERMISSION_ROLES = Object.freeze({
    'message-impersonate': ['bot', 'app'],
    'post-readonly': ['admin', 'owner', 'moderator'],
    'mention-all': ['admin', 'owner', 'moderator', 'user'],
    'mention-here': ['admin', 'owner', 'moderator', 'user'],
});

/** Meteor.Error as it reaches an app: the runtime passes on `error.message`, "<reason> [<error>]". */
class MeteorError extends Error {
    constructor(error, reason) {
        super(reason ? `${reason} [${error}]` : `[${error}]`);
        this.error = error;
        this.reason = reason;
    }
}

class ServerRules {
    /**
     * @param {object} host the local host: its `state` (users, rooms, messages) and `serverSettings`
     */
    constructor(host) {
        this.host = host;
        this.ajv = new Ajv({ allErrors: false });
    }

    setting(id) {
        return this.host.serverSettings[id];
    }

    /** hasPermissionAsync: a global role of the user, or a room role (owner/moderator) in that room. */
    hasPermission(user, permission, room) {
        const roles = PERMISSION_ROLES[permission] || [];
        if ((user.roles || []).some((r) => roles.includes(r))) return true;
        if (room && roles.includes('owner') && (room.ownerIds || [room.creatorId]).includes(user.id)) return true;
        if (room && roles.includes('moderator') && (room.moderatorIds || []).includes(user.id)) return true;
        return false;
    }

    /**
     * converters/messages.ts convertAppMessage (create): the app's message in the server's shape.
     * The id the app set is gone by now (the runtime's ModifyCreator deletes it); `_unmappedProperties_`
     * is merged over the result, `_id` included.
     */
    convertAppMessage(message, appUser) {
        const { state } = this.host;
        const rid = message.room && message.room.id && state.rooms.has(message.room.id) ? message.room.id : undefined;
        if (!rid) throw new Error('Invalid room provided on the message.');
        const senderId = (message.sender && message.sender.id) || (appUser && appUser.id);
        const user = senderId && state.users.get(senderId);
        const converted = {
            _id: message.id || undefined,
            ...('threadId' in message && { tmid: message.threadId }),
            rid,
            u: user ? { _id: user.id, username: user.username, name: user.name } : { _id: senderId },
            msg: message.text,
            ts: message.createdAt,
            ...('emoji' in message && { emoji: message.emoji }),
            ...('avatarUrl' in message && { avatar: message.avatarUrl }),
            ...('alias' in message && { alias: message.alias }),
            ...('customFields' in message && { customFields: message.customFields }),
            ...('groupable' in message && { groupable: message.groupable }),
            ...(Array.isArray(message.attachments) && { attachments: convertAppAttachments(message.attachments) }),
            ...('parseUrls' in message && { parseUrls: message.parseUrls }),
            ...('blocks' in message && { blocks: message.blocks }),
        };
        Object.assign(converted, message._unmappedProperties_);
        return converted;
    }

    /**
     * app/lib/server/methods/sendMessage.ts executeSendMessage, then functions/sendMessage.ts
     * (validateMessage, preventMention, insert). Returns the message to store, or undefined when
     * its `_id` exists already (sendMessage returns silently; the bridge then fails on `._id`).
     */
    executeSendMessage(message) {
        const { state } = this.host;
        if (message.tshow && !message.tmid) throw new MeteorError('invalid-params', 'tshow provided but missing tmid');
        if (message.tmid && !this.setting('Threads_enabled')) throw new MeteorError('error-not-allowed', 'not-allowed');
        if (message.ts) {
            const drift = Math.abs(new Date(message.ts).getTime() - Date.now());
            if (drift > 60000) throw new MeteorError('error-message-ts-out-of-sync', 'Message timestamp is out of sync');
            if (drift > 10000) message.ts = new Date();
        } else {
            message.ts = new Date();
        }
        if (message.msg && message.msg.length > (this.setting('Message_MaxAllowedSize') || 0)) {
            throw new MeteorError('error-message-size-exceeded', 'Message size exceeds Message_MaxAllowedSize');
        }
        const user = state.users.get(message.u && message.u._id);
        if (!user || !user.username) throw new MeteorError('error-invalid-user', 'Invalid user');
        let { rid } = message;
        // Do not allow nested threads; a reply goes into its parent's room, whatever rid it named.
        if (message.tmid) {
            const parent = state.messages.get(message.tmid);
            message.tmid = (parent && parent.threadId) || message.tmid;
            if (parent) rid = parent.roomId;
        }
        const room = this.canSendMessage(rid, user);
        if (room.encrypted && this.setting('E2E_Enable') && !this.setting('E2E_Allow_Unencrypted_Messages') && message.t !== 'e2e') {
            throw new MeteorError('error-not-allowed', 'Not allowed to send un-encrypted messages in an encrypted room');
        }
        message.rid = room.id;
        this.validateMessage(message, room, user);
        this.preventMention(message, room, user);
        if (message._id && state.messages.has(message._id)) return undefined;
        return message;
    }

    /** authorization/server/functions/canSendMessage.ts (an app user skips the room-access check). */
    canSendMessage(rid, user) {
        const room = this.host.state.rooms.get(rid);
        if (!room) throw new Error('error-invalid-room');
        if (room.archived) throw new Error('room_is_archived');
        if (user.type !== 'app' && !room.userIds.includes(user.id) && room.type !== 'c') throw new Error('error-not-allowed');
        if (room.isReadOnly && !this.hasPermission(user, 'post-readonly', room) && !(room.unmuted || []).includes(user.username)) {
            throw new Error("You can't send messages because the room is readonly.");
        }
        if ((room.muted || []).includes(user.username)) throw new Error('You_have_been_muted');
        return room;
    }

    /** functions/sendMessage.ts validateMessage: field types, impersonation, attachments, customFields. */
    validateMessage(message, room, user) {
        for (const key of ['msg', 'alias', 'emoji', 'tmid']) {
            if (message[key] != null && typeof message[key] !== 'string') throw matchError(`Expected string, got ${typeof message[key]}`, key);
        }
        if (message.avatar != null) validPartialUrl(message.avatar);
        if ((message.alias || message.avatar) && !this.hasPermission(user, 'message-impersonate', room)) {
            throw new Error('Not enough permission');
        }
        if (Array.isArray(message.attachments) && message.attachments.length) message.attachments.forEach(validateAttachment);
        if (message.customFields) this.validateCustomFields(message.customFields);
    }

    /** lib/validateCustomMessageFields.ts (ajv, the admin's schema with additionalProperties: false). */
    validateCustomFields(customFields) {
        if (this.setting('Message_CustomFields_Enabled') !== true) throw new Error('Custom fields not enabled');
        const schema = JSON.parse(this.setting('Message_CustomFields'));
        if (schema.type && schema.type !== 'object') throw new Error('Invalid custom fields config');
        const validate = this.ajv.compile({ ...schema, type: 'object', additionalProperties: false });
        if (!validate(customFields)) throw new Error('Invalid custom fields');
    }

    /** services/messages/hooks/BeforeSavePreventMention.ts: @all / @here need mention-all / mention-here. */
    preventMention(message, room, user) {
        for (const [mention, permission] of [['all', 'mention-all'], ['here', 'mention-here']]) {
            const mentioned = new RegExp(`(^|[^\\w@.])@${mention}(?![\\w.-])`).test(message.msg || '');
            if (mentioned && !this.hasPermission(user, permission, room)) {
                throw new MeteorError('error-action-not-allowed', `Notify ${mention} in this room not allowed`);
            }
        }
    }

    /** functions/updateMessage.ts via the bridge: only existence and customFields are checked. */
    checkUpdate(id, changes) {
        if (!this.host.state.messages.has(id)) throw new Error('Invalid message ID.');
        if (changes.customFields) this.validateCustomFields(changes.customFields);
    }

    /**
     * file-upload/server/lib/FileUpload.ts validateFileUpload (through ufs-filter's check): what an
     * upload must pass before it is stored. `type` comes from determineFileType (name first).
     */
    validateFileUpload({ size, type, rid, user }) {
        if (!(size > 0)) throw new MeteorError('file-too-small', `File size (size = ${size}) is too small (min = 1)`);
        const room = this.host.state.rooms.get(rid);
        if (!room) throw new MeteorError('invalid-file', 'File does not match filter');
        if (user.type !== 'app' && !room.userIds.includes(user.id)) throw new MeteorError('invalid-file', 'File does not match filter');
        if (!this.setting('FileUpload_Enabled')) throw new MeteorError('error-file-upload-disabled', 'File upload is disabled');
        if (!this.setting('FileUpload_Enabled_Direct') && room.type === 'd') {
            throw new MeteorError('error-direct-message-file-upload-not-allowed', 'File upload not allowed in direct messages');
        }
        const max = Number(this.setting('FileUpload_MaxFileSize'));
        if (max > -1 && size > max) throw new MeteorError('error-file-too-large', `File exceeds allowed size of ${max} bytes`);
        if (!contentTypeAllowed(type, this.setting('FileUpload_MediaTypeWhiteList'), this.setting('FileUpload_MediaTypeBlackList'))) {
            throw new MeteorError('error-invalid-file-type', 'File type is not accepted');
        }
    }
}

// packages/server-fetch/src/checkForSsrf.ts: the ranges a server refuses to fetch from.
const SSRF_BLOCKED_V4 = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.0.2.0/24', '192.88.99.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4', '255.255.255.255/32', '100.100.100.200/32'];
// (::ffff:0:0/96 is checked on its own: node's BlockList would also apply it to every IPv4 address.)
const SSRF_BLOCKED_V6 = ['::/128', '::1/128', '64:ff9b::/96', '100::/64', '2001::/32', '2001:db8::/32', '2002::/16', 'fc00::/7', 'fe80::/10', 'ff00::/8'];
const ssrfBlockList = new net.BlockList();
for (const range of SSRF_BLOCKED_V4) ssrfBlockList.addSubnet(range.split('/')[0], Number(range.split('/')[1]), 'ipv4');
for (const range of SSRF_BLOCKED_V6) ssrfBlockList.addSubnet(range.split('/')[0], Number(range.split('/')[1]), 'ipv6');

/**
 * bridges/http.ts with `ssrfValidation: true` → server-fetch's checkForSsrf: http(s) only, the
 * host (resolved when it is a name) outside the blocked ranges, unless on SSRF_Allowlist.
 * (The exact error text of a refusal is not taken from the source; apps see a failed request.)
 */
ServerRules.prototype.checkForSsrf = async function checkForSsrf(url) {
    const allow = String(this.setting('SSRF_Allowlist') || '').split(',').map((h) => h.trim()).filter(Boolean);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (allow.includes(host)) return;
    const blocked = () => new Error(`request to ${url.origin} blocked: SSRF validation`);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw blocked();
    if (/metadata\.google\.internal/i.test(host) || /^::ffff:/i.test(host)) throw blocked();
    const address = net.isIP(host) ? host : await dns.promises.lookup(host).then((r) => r.address, () => undefined);
    if (!address || allow.includes(address) || !ssrfBlockList.check(address, net.isIP(address) === 6 ? 'ipv6' : 'ipv4')) {
        if (!address) throw blocked();
        return;
    }
    throw blocked();
};

/**
 * packages/server-fetch/src/parsers.ts `parseRequestOptions`, which serverFetch applies to every
 * request: unless the Content-Type is exactly `application/x-www-form-urlencoded`, a body that is
 * an object but not a Node Buffer (a plain Uint8Array included) is JSON-stringified and the
 * Content-Type forced to `application/json`. Mutates and returns `options`, as the source does.
 */
function parseRequestOptions(options) {
    const headers = options.headers || {};
    const contentType = headers['Content-Type'] || headers['content-type'];
    if (contentType && contentType.toLowerCase() === 'application/x-www-form-urlencoded') return options;
    try {
        if (typeof options.body === 'object' && !Buffer.isBuffer(options.body)) {
            options.body = JSON.stringify(options.body);
            options.headers = { ...options.headers, 'Content-Type': 'application/json' };
        }
    } catch {
        // the source ignores a body JSON.stringify refuses (a cycle, a BigInt)
    }
    return options;
}

/** bridges/http.ts: the response types whose body is also parsed into `data` (null otherwise, or when JSON.parse fails). */
const JSON_RESPONSE_TYPES = ['application/json', 'text/javascript', 'application/javascript', 'application/x-javascript'];

function parseResponseData(contentTypeHeader, text) {
    if (!JSON_RESPONSE_TYPES.includes((contentTypeHeader || '').split(';')[0])) return null;
    try {
        return JSON.parse(text);
    } catch {
        return null;
    }
}

/** converters/messages.ts _convertAppAttachments: only the app's keys are read; snake_case ones are lost. */
function convertAppAttachments(attachments) {
    return attachments.map((a) =>
        removeEmpty({
            collapsed: a.collapsed,
            color: a.color,
            text: a.text,
            // A timestamp that is not a Date (e.g. a string) has no toJSON: the converter throws.
            ts: a.timestamp ? a.timestamp.toJSON() : a.timestamp,
            message_link: a.timestampLink,
            thumb_url: a.thumbnailUrl,
            author_name: a.author ? a.author.name : undefined,
            author_link: a.author ? a.author.link : undefined,
            author_icon: a.author ? a.author.icon : undefined,
            title: a.title ? a.title.value : undefined,
            title_link: a.title ? a.title.link : undefined,
            title_link_download: a.title ? a.title.displayDownloadLink : undefined,
            image_url: a.imageUrl,
            audio_url: a.audioUrl,
            video_url: a.videoUrl,
            fields: a.fields,
            button_alignment: a.actionButtonsAlignment,
            actions: a.actions,
            type: a.type,
            description: a.description,
            ...a._unmappedProperties_,
        }),
    );
}

/**
 * converters/convertMessageFiles.ts (newer servers): files pass as they are; an untyped second file
 * of a two-file message with one attachment is an old message's thumbnail and gets `typeGroup: 'thumb'`.
 */
function convertMessageFiles(files, attachments) {
    return files.map((file) => {
        if (!file || file.typeGroup) return file;
        if (files.length === 2 && attachments && attachments.length === 1 && file === files[1]) return { ...file, typeGroup: 'thumb' };
        return file;
    });
}

/** converters/messages.ts _convertAttachmentsToApp: the server's shape back into the app's. */
function convertAttachmentsToApp(attachments) {
    if (!Array.isArray(attachments)) return undefined;
    return attachments.map((a) => {
        const { author_name: name, author_link: link, author_icon: icon, title: value, title_link: titleLink, title_link_download: displayDownloadLink, ts, message_link: timestampLink, thumb_url: thumbnailUrl, image_url: imageUrl, audio_url: audioUrl, video_url: videoUrl, button_alignment: actionButtonsAlignment, ...rest } = a;
        return removeEmpty({
            ...rest,
            timestampLink,
            thumbnailUrl,
            imageUrl,
            audioUrl,
            videoUrl,
            actionButtonsAlignment,
            author: { name, link, icon },
            title: { value, link: titleLink, displayDownloadLink },
            timestamp: ts === undefined ? undefined : new Date(ts),
        });
    });
}

function removeEmpty(object) {
    return Object.fromEntries(Object.entries(object).filter(([, v]) => v != null));
}

/** Meteor `check` failures as they reach the app. */
function matchError(message, path) {
    const error = new Error(`Match error: ${message} in field ${path}`);
    error.path = path;
    return error;
}

const isURL = (value) => /^(https?:\/\/|data:)/.test(value);

/** functions/sendMessage.ts validFullURLParam. */
function validFullUrl(value, path) {
    if (typeof value !== 'string') throw matchError(`Expected string, got ${typeof value}`, path);
    if (!isURL(value) && !value.startsWith('/file-upload/')) throw new Error('Invalid href value provided');
    if (/^javascript:/i.test(value)) throw new Error('Invalid href value provided');
}

/** functions/sendMessage.ts validPartialURLParam (avatars may also be relative). */
function validPartialUrl(value) {
    if (typeof value !== 'string') throw matchError(`Expected string, got ${typeof value}`, 'avatar');
    if (/^javascript:/i.test(value)) throw new Error('Invalid href value provided');
}

const ATTACHMENT_TYPES = {
    color: 'string', text: 'string', button_alignment: 'string', author_name: 'string', title: 'string', image_preview: 'string',
    image_type: 'string', audio_type: 'string', video_type: 'string', collapsed: 'boolean', title_link_download: 'boolean',
    image_size: 'number', audio_size: 'number', video_size: 'number', image_dimensions: 'object',
};
const ATTACHMENT_URLS = ['thumb_url', 'message_link', 'author_link', 'author_icon', 'title_link', 'image_url', 'audio_url', 'video_url'];

/** functions/sendMessage.ts validateAttachment (+ validateAttachmentsFields). */
function validateAttachment(attachment) {
    for (const [key, type] of Object.entries(ATTACHMENT_TYPES)) {
        if (attachment[key] != null && typeof attachment[key] !== type) throw matchError(`Expected ${type}, got ${typeof attachment[key]}`, key);
    }
    if (attachment.ts != null && typeof attachment.ts !== 'string' && typeof attachment.ts !== 'number') throw matchError('Expected string or number', 'ts');
    for (const key of ATTACHMENT_URLS) if (attachment[key] != null) validFullUrl(attachment[key], key);
    if (attachment.fields != null) {
        if (!Array.isArray(attachment.fields)) throw matchError(`Expected array, got ${typeof attachment.fields}`, 'fields');
        for (const field of attachment.fields) {
            if (field.short != null && typeof field.short !== 'boolean') throw matchError(`Expected boolean, got ${typeof field.short}`, 'short');
            if (field.title != null && typeof field.title !== 'string') throw matchError(`Expected string, got ${typeof field.title}`, 'title');
            if (field.value != null && !['string', 'number', 'boolean'].includes(typeof field.value)) throw matchError(`Expected string, got ${typeof field.value}`, 'value');
            if (field.value !== undefined) field.value = String(field.value);
        }
    }
}

/** app/utils/lib/restrictions.ts fileUploadIsValidContentType (comma lists, `type/*` wildcards). */
function contentTypeAllowed(type, whiteList, blackList) {
    const onList = (list) => list.split(',').map((t) => t.trim()).some((entry) => entry === type || (entry.endsWith('/*') && String(type).startsWith(entry.slice(0, -1))));
    if (!type && blackList) return false;
    if (blackList && onList(blackList)) return false;
    if (!whiteList || whiteList === '*') return true;
    return onList(whiteList);
}

const MIME_TYPES = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', svg: 'image/svg+xml', txt: 'text/plain', log: 'text/plain', pdf: 'application/pdf', json: 'application/json', mp3: 'audio/mpeg', mp4: 'video/mp4', zip: 'application/zip', exe: 'application/x-msdownload' };
const MAGIC = [
    [[0x89, 0x50, 0x4e, 0x47], 'image/png'],
    [[0xff, 0xd8, 0xff], 'image/jpeg'],
    [[0x47, 0x49, 0x46, 0x38], 'image/gif'],
    [[0x25, 0x50, 0x44, 0x46], 'application/pdf'],
];

/** ee/lib/misc/determineFileType.ts: the name's extension first, then magic bytes, then octet-stream. */
function determineFileType(buffer, name) {
    const ext = String(name || '').includes('.') ? String(name).split('.').pop().toLowerCase() : '';
    if (MIME_TYPES[ext]) return MIME_TYPES[ext];
    for (const [bytes, type] of MAGIC) if (bytes.every((b, i) => buffer[i] === b)) return type;
    return 'application/octet-stream';
}

module.exports = { ServerRules, parseRequestOptions, parseResponseData, MeteorError, SERVER_SETTING_DEFAULTS, convertAppAttachments, convertAttachmentsToApp, convertMessageFiles, determineFileType, contentTypeAllowed };
