// The local host's "database": users, rooms, messages, uploads, app persistence and scheduled jobs,
// kept in memory in the shapes the Apps-Engine bridges hand to apps (IUser, IRoom, IMessage…).
'use strict';

const crypto = require('crypto');
const { EventEmitter } = require('events');
const { convertAttachmentsToApp, convertMessageFiles } = require('./server-rules');

const ROOM_TYPES = { channel: 'c', private: 'p', direct: 'd' };

function newId() {
    // Rocket.Chat ids are 17 characters from this alphabet.
    const alphabet = '23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz';
    const bytes = crypto.randomBytes(17);
    let id = '';
    for (const b of bytes) id += alphabet[b % alphabet.length];
    return id;
}

class HostState extends EventEmitter {
    constructor({ siteUrl }) {
        super();
        this.siteUrl = siteUrl;
        this.users = new Map(); // id -> IUser
        this.rooms = new Map(); // id -> IRoom (without creator object expanded)
        this.messages = new Map(); // id -> stored message (IMessage-like, room/sender by id)
        this.roomMessages = new Map(); // roomId -> [messageId]
        this.uploads = new Map(); // id -> { upload, bytes }
        this.persistence = new Map(); // appId -> Map(id -> { data, associations })
        // false: the converter of 7.x, `files` only in `_unmappedProperties_`; true: the newer one.
        this.convertsMessageFiles = false;
        this.setMaxListeners(100);
    }

    createUser({ id, username, name, type = 'user', roles = ['user'], appId }) {
        if (this.findUserByUsername(username)) {
            throw new Error(`username already taken: ${username}`);
        }
        const now = new Date();
        const user = {
            id: id || newId(),
            username,
            name: name || username,
            emails: [],
            type,
            isEnabled: true,
            roles,
            status: 'online',
            statusConnection: 'online',
            utcOffset: 0,
            createdAt: now,
            updatedAt: now,
            lastLoginAt: now,
            ...(appId ? { appId } : {}),
        };
        this.users.set(user.id, user);
        return user;
    }

    findUserByUsername(username) {
        for (const user of this.users.values()) {
            if (user.username === username) return user;
        }
        return undefined;
    }

    requireUser(id) {
        const user = this.users.get(id);
        if (!user) throw new Error(`no user with id ${id}`);
        return user;
    }

    createRoom({ id, name, kind = 'channel', creatorId, memberIds = [] }) {
        const type = ROOM_TYPES[kind] || kind;
        if (!['c', 'p', 'd'].includes(type)) throw new Error(`unknown room kind ${kind}`);
        if (type !== 'd' && this.findRoomByName(name)) throw new Error(`room name already taken: ${name}`);
        const creator = this.requireUser(creatorId);
        const userIds = Array.from(new Set([creatorId, ...memberIds]));
        const now = new Date();
        const room = {
            id: id || newId(),
            slugifiedName: type === 'd' ? userIds.map((u) => this.requireUser(u).username).sort().join('') : name,
            displayName: type === 'd' ? undefined : name,
            type,
            creatorId: creator.id,
            userIds,
            isDefault: false,
            isReadOnly: false,
            displaySystemMessages: true,
            messageCount: 0,
            createdAt: now,
            updatedAt: now,
            lastModifiedAt: now,
        };
        this.rooms.set(room.id, room);
        this.roomMessages.set(room.id, []);
        this.emit('room', room);
        return room;
    }

    findRoomByName(name) {
        const bare = String(name).replace(/^#/, '');
        for (const room of this.rooms.values()) {
            if (room.type !== 'd' && room.slugifiedName === bare) return room;
        }
        return undefined;
    }

    findDirectRoom(usernames) {
        const key = [...usernames].sort().join('');
        for (const room of this.rooms.values()) {
            if (room.type === 'd' && room.slugifiedName === key) return room;
        }
        return undefined;
    }

    requireRoom(id) {
        const room = this.rooms.get(id);
        if (!room) throw new Error(`no room with id ${id}`);
        return room;
    }

    /** IRoom as the engine hands it to apps: creator expanded, usernames for DMs. */
    roomForApp(room) {
        // muted/unmuted/encrypted/archived are server-side room fields the rooms converter does not map.
        const { creatorId, muted, unmuted, encrypted, archived, ...rest } = room;
        return {
            ...rest,
            creator: this.requireUser(creatorId),
            ...(room.type === 'd' ? { usernames: room.userIds.map((u) => this.requireUser(u).username) } : {}),
        };
    }

    /** Stores a message; returns the stored record. */
    insertMessage(record) {
        const id = record.id || newId();
        if (this.messages.has(id)) throw new Error(`duplicate message id ${id}`);
        const room = this.requireRoom(record.roomId);
        const stored = { ...record, id, createdAt: record.createdAt || new Date(), updatedAt: new Date() };
        this.messages.set(id, stored);
        this.roomMessages.get(room.id).push(id);
        room.messageCount += 1;
        room.lastModifiedAt = new Date();
        this.emit('message', stored, 'created');
        return stored;
    }

    updateMessage(id, changes) {
        const stored = this.messages.get(id);
        if (!stored) throw new Error(`no message with id ${id}`);
        Object.assign(stored, changes, { updatedAt: new Date() });
        this.emit('message', stored, 'updated');
        return stored;
    }

    deleteMessage(id) {
        const stored = this.messages.get(id);
        if (!stored) throw new Error(`no message with id ${id}`);
        this.messages.delete(id);
        const list = this.roomMessages.get(stored.roomId);
        list.splice(list.indexOf(id), 1);
        this.emit('message', stored, 'deleted');
        return stored;
    }

    /**
     * IMessage as the engine hands it to apps (converters/messages.ts `convertMessage`): `t`
     * becomes `type`; `files` is not in the converter's map, so it arrives only inside
     * `_unmappedProperties_` — unless `convertsMessageFiles` models the newer converter, which
     * maps it through convertMessageFiles (and, since that function deletes nothing, leaves it in
     * `_unmappedProperties_` too).
     */
    messageForApp(stored) {
        const { roomId, senderId, attachments, t, files, ...rest } = stored;
        return {
            ...rest,
            ...(t ? { type: t } : {}),
            ...(files && this.convertsMessageFiles ? { files: convertMessageFiles(files, attachments) } : {}),
            ...(files ? { _unmappedProperties_: { files } } : {}),
            // Stored in the server's shape; converters/messages.ts hands apps their own shape.
            ...(attachments ? { attachments: convertAttachmentsToApp(attachments) } : {}),
            room: this.roomForApp(this.requireRoom(roomId)),
            sender: this.requireUser(senderId),
        };
    }

    messagesInRoom(roomId) {
        return (this.roomMessages.get(roomId) || []).map((id) => this.messages.get(id));
    }

    appPersistence(appId) {
        if (!this.persistence.has(appId)) this.persistence.set(appId, new PersistenceStore());
        return this.persistence.get(appId);
    }
}

/**
 * An app's persistence records (id → { data, keys }) with an index by association key, as
 * Rocket.Chat's collection is indexed: a lookup by associations touches only the records that
 * carry the rarest of the wanted keys instead of scanning them all. A Map, so tests can read,
 * count and clear it directly.
 */
class PersistenceStore extends Map {
    constructor() {
        super();
        this.byKey = new Map(); // association key → Set of record ids
    }
    set(id, record) {
        this.unindex(id);
        super.set(id, record);
        for (const key of record.keys) {
            let ids = this.byKey.get(key);
            if (!ids) this.byKey.set(key, (ids = new Set()));
            ids.add(id);
        }
        return this;
    }
    delete(id) {
        this.unindex(id);
        return super.delete(id);
    }
    clear() {
        super.clear();
        if (this.byKey) this.byKey.clear();
    }
    unindex(id) {
        const old = super.get(id);
        if (!old) return;
        for (const key of old.keys) {
            const ids = this.byKey.get(key);
            ids.delete(id);
            if (ids.size === 0) this.byKey.delete(key);
        }
    }
    /** [id, record] pairs carrying every one of `keys`, in insertion order. */
    withKeys(keys) {
        if (keys.length === 0) return [...this.entries()];
        let smallest;
        for (const key of keys) {
            const ids = this.byKey.get(key);
            if (!ids) return [];
            if (!smallest || ids.size < smallest.size) smallest = ids;
        }
        const out = [];
        for (const id of smallest) {
            const record = super.get(id);
            if (keys.every((k) => record.keys.includes(k))) out.push([id, record]);
        }
        return out;
    }
}

module.exports = { HostState, PersistenceStore, newId };
