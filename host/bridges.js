// In-memory bridges that behave like Rocket.Chat where Relay Bridge touches it. Every bridge method
// the engine may call and we did not implement throws, so an unexpected call fails loudly instead
// of silently succeeding.
'use strict';

const crypto = require('crypto');
const { engineRequire } = require('./engine');

const { AppBridges } = engineRequire('server/bridges/AppBridges');
const { ApiBridge } = engineRequire('server/bridges/ApiBridge');
const { AppActivationBridge } = engineRequire('server/bridges/AppActivationBridge');
const { AppDetailChangesBridge } = engineRequire('server/bridges/AppDetailChangesBridge');
const { CommandBridge } = engineRequire('server/bridges/CommandBridge');
const { EnvironmentalVariableBridge } = engineRequire('server/bridges/EnvironmentalVariableBridge');
const { HttpBridge } = engineRequire('server/bridges/HttpBridge');
const { MessageBridge } = engineRequire('server/bridges/MessageBridge');
const { PersistenceBridge } = engineRequire('server/bridges/PersistenceBridge');
const { RoomBridge } = engineRequire('server/bridges/RoomBridge');
const { SchedulerBridge } = engineRequire('server/bridges/SchedulerBridge');
const { ServerSettingBridge } = engineRequire('server/bridges/ServerSettingBridge');
const { UploadBridge } = engineRequire('server/bridges/UploadBridge');
const { UserBridge } = engineRequire('server/bridges/UserBridge');
const { ThreadBridge } = engineRequire('server/bridges/ThreadBridge');
const { AppInterface } = engineRequire('definition/metadata');
const { convertAppAttachments, determineFileType, parseRequestOptions, parseResponseData } = require('./server-rules');

/** Makes every method of `target` not defined on `bridge` throw a clear error. */
function loud(bridge, name) {
    return new Proxy(bridge, {
        get(target, prop, receiver) {
            const value = Reflect.get(target, prop, receiver);
            if (value !== undefined || typeof prop !== 'string' || prop === 'then') return value;
            return () => {
                throw new Error(`local host: ${name}.${prop} is not implemented`);
            };
        },
    });
}

/**
 * Counts every engine-facing call (`do…` methods, which the engine and the app's RPCs go through)
 * of `bridge` in `host.counters.bridges['<name>.<method>']`, for the benchmarks' round-trip breakdown.
 */
function countCalls(bridge, name, host) {
    const seen = new Set();
    for (let proto = Object.getPrototypeOf(bridge); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
        for (const method of Object.getOwnPropertyNames(proto)) {
            if (!method.startsWith('do') || seen.has(method) || typeof proto[method] !== 'function') continue;
            seen.add(method);
            const original = proto[method];
            const key = `${name}.${method}`;
            bridge[method] = function counted(...args) {
                const counters = host.counters.bridges;
                counters[key] = (counters[key] || 0) + 1;
                return original.apply(this, args);
            };
        }
    }
    return bridge;
}

/** A message in the server's shape (after convertAppMessage and the send checks) as the host stores it. */
function fromServerShape(m) {
    const record = {
        id: m._id,
        roomId: m.rid,
        senderId: m.u._id,
        text: m.msg || '',
        threadId: m.tmid,
        alias: m.alias,
        avatarUrl: m.avatar,
        emoji: m.emoji,
        attachments: m.attachments,
        file: m.file,
        files: m.files,
        t: m.t,
        customFields: m.customFields,
        groupable: m.groupable,
        parseUrls: m.parseUrls,
        blocks: m.blocks,
        createdAt: m.ts,
    };
    for (const key of Object.keys(record)) if (record[key] === undefined) delete record[key];
    return record;
}

function notImplemented(bridge, method) {
    return () => Promise.reject(new Error(`local host: ${bridge}.${method} is not implemented`));
}

function associationKey(association) {
    const model = typeof association.getModel === 'function' ? association.getModel() : association.model;
    const id = typeof association.getID === 'function' ? association.getID() : association.id;
    return `${model}:${id}`;
}

class HostApiBridge extends ApiBridge {
    constructor(host) {
        super();
        this.host = host;
    }
    async registerApi({ api, computedPath, endpoint }, appId) {
        this.host.routes.register(appId, { computedPath, path: endpoint.path, visibility: api.visibility, methods: endpoint._availableMethods });
    }
    async unregisterApis(appId) {
        this.host.routes.unregister(appId);
    }
}

class HostActivationBridge extends AppActivationBridge {
    constructor(host) {
        super();
        this.host = host;
    }
    async appAdded() {}
    async appUpdated() {}
    async appRemoved() {}
    async appStatusChanged(app, status) {
        this.host.emit('appStatus', app.getID(), status);
    }
    async actionsChanged() {}
}

/** Rocket.Chat's bridge hands a changed setting to AppServerNotifier, which tells the other instances. */
class HostDetailChangesBridge extends AppDetailChangesBridge {
    constructor(host) {
        super();
        this.host = host;
    }
    onAppSettingsChange(appId, setting) {
        if (this.host.instance) this.host.instance.cluster.settingChanged(this.host, appId, setting);
    }
}

class HostCommandBridge extends CommandBridge {
    constructor(host) {
        super();
        this.host = host;
        this.commands = new Map(); // command -> { appId, command, enabled }
    }
    /** Whether another app (or the server) has the command; an app re-enabled keeps its own. */
    async doesCommandExist(command, appId) {
        const entry = this.commands.get(command.toLowerCase());
        return !!entry && entry.appId !== appId;
    }
    async enableCommand(command) {
        this.requireCommand(command).enabled = true;
    }
    async disableCommand(command) {
        this.requireCommand(command).enabled = false;
    }
    async modifyCommand(command) {
        this.requireCommand(command.command).command = command;
    }
    async registerCommand(command, appId) {
        this.commands.set(command.command.toLowerCase(), { appId, command, enabled: true });
    }
    async unregisterCommand(command) {
        this.commands.delete(command.toLowerCase());
    }
    requireCommand(command) {
        const entry = this.commands.get(command.toLowerCase());
        if (!entry) throw new Error(`no slash command /${command}`);
        return entry;
    }
}

class HostEnvBridge extends EnvironmentalVariableBridge {
    async getValueByName() {
        return undefined;
    }
    async isReadable() {
        return false;
    }
    async isSet() {
        return false;
    }
}

/**
 * Performs the app's requests for real, like Rocket.Chat's AppHttpBridge (bridges/http.ts) on
 * serverFetch (packages/server-fetch): the same option handling, body rule and response parsing.
 * (Fetch itself is Node's, not node-fetch; bodies reach it as the server's would.)
 */
class HostHttpBridge extends HttpBridge {
    constructor(host) {
        super();
        this.host = host;
    }
    async call(info) {
        const { request, method } = info;
        const url = new URL(info.url);
        const { headers = {} } = request;
        let { content } = request;
        if (!content && typeof request.data === 'object') content = request.data;
        if (request.auth) {
            if (request.auth.indexOf(':') < 0) throw new Error('auth option should be of the form "username:password"');
            headers.Authorization = `Basic ${Buffer.from(request.auth, 'ascii').toString('base64')}`;
        }
        const getOrHead = ['GET', 'HEAD'].includes(String(method).toUpperCase());
        if (request.params) {
            if (content || getOrHead) {
                for (const [k, v] of Object.entries(request.params)) if (v) url.searchParams.append(k, v);
            } else {
                content = new URLSearchParams(request.params).toString();
                headers['Content-Type'] = 'application/x-www-form-urlencoded';
            }
        }
        // (`request.query` is ignored: bridges/http.ts never reads it.)
        if (getOrHead) content = undefined;
        // Newer servers check the address (after resolving it) when the app asks for ssrfValidation.
        if (request.ssrfValidation === true) await this.host.rules.checkForSsrf(url);
        // A body that is not a Node Buffer is JSON-stringified here, whatever its Content-Type said.
        const options = parseRequestOptions({ method, body: content, headers });
        this.host.counters.http += 1;
        const timeout = request.timeout || 3 * 60 * 1000;
        try {
            const response = await fetch(url.href, {
                method: String(method).toUpperCase(),
                body: options.body,
                headers: options.headers,
                signal: AbortSignal.timeout(timeout),
            });
            const result = {
                url: info.url,
                method: info.method,
                statusCode: response.status,
                headers: Object.fromEntries(response.headers),
            };
            const body = Buffer.from(await response.arrayBuffer());
            if (request.encoding === null) {
                result.content = body;
            } else {
                result.content = body.toString(request.encoding);
                result.data = parseResponseData(response.headers.get('content-type'), result.content);
            }
            return result;
        } catch (e) {
            // Rocket.Chat returns e.response (undefined for network errors): the app sees a rejection.
            throw new Error(`request to ${url.origin} failed: ${e.cause ? e.cause.code || e.cause.message : e.message}`);
        }
    }
}

class HostMessageBridge extends MessageBridge {
    constructor(host) {
        super();
        this.host = host;
    }
    /** bridges/messages.ts create: convertAppMessage, then executeSendMessage with all its checks. */
    async create(message, appId) {
        const rules = this.host.rules;
        const converted = rules.convertAppMessage(message, this.host.appUser(appId));
        const sent = rules.executeSendMessage(converted);
        // sendMessage returns nothing for an _id that exists; the bridge then reads `._id` of it.
        if (!sent) throw new TypeError("Cannot read properties of undefined (reading '_id')");
        const stored = this.host.state.insertMessage(fromServerShape(sent));
        this.host.firePostSent(stored);
        return stored.id;
    }
    /**
     * bridges/messages.ts update → functions/updateMessage.ts: the engine sends only the changed
     * fields (plus id); the server checks that the message exists and its customFields, nothing else.
     */
    async update(message) {
        if (!message.editor) throw new Error('Invalid editor assigned to the message for the update.');
        const changes = {};
        for (const key of ['text', 'alias', 'avatarUrl', 'emoji', 'customFields', 'blocks', 'groupable', 'parseUrls', 'threadId']) {
            if (message[key] !== undefined) changes[key] = message[key];
        }
        if (Array.isArray(message.attachments)) changes.attachments = convertAppAttachments(message.attachments);
        this.host.rules.checkUpdate(message.id, changes);
        const editor = message.editor && message.editor.id ? this.host.state.users.get(message.editor.id) : undefined;
        if (!editor) throw new Error('Invalid editor assigned to the message for the update.');
        const stored = this.host.state.updateMessage(message.id, { ...changes, editedAt: new Date(), editor });
        this.host.firePostMessage(AppInterface.IPostMessageUpdated, stored);
    }
    async delete(message, user) {
        const stored = this.host.state.deleteMessage(message.id);
        this.host.firePostMessage(AppInterface.IPostMessageDeleted, stored, user);
    }
    async getById(messageId) {
        const stored = this.host.state.messages.get(messageId);
        return stored ? this.host.state.messageForApp(stored) : undefined;
    }
    async notifyUser(user, message) {
        this.host.notifications.push({ userId: user.id, text: message.text, roomId: message.room && message.room.id, blocks: message.blocks });
        this.host.emit('notify', { userId: user.id, message });
    }
    async notifyRoom(room, message) {
        this.host.notifications.push({ roomId: room.id, text: message.text });
    }
    async typing() {}
    addReaction = notImplemented('message', 'addReaction');
    removeReaction = notImplemented('message', 'removeReaction');
}

class HostPersistenceBridge extends PersistenceBridge {
    constructor(host) {
        super();
        this.host = host;
    }
    store(appId) {
        this.host.counters.persistence += 1;
        return this.host.state.appPersistence(appId);
    }
    async purge(appId) {
        this.store(appId).clear();
    }
    async create(data, appId) {
        return this.createWithAssociations(data, [], appId);
    }
    async createWithAssociations(data, associations, appId) {
        const id = crypto.randomUUID();
        this.store(appId).set(id, { data: structuredClone(data), keys: associations.map(associationKey) });
        return id;
    }
    async readById(id, appId) {
        const record = this.store(appId).get(id);
        return record ? structuredClone(record.data) : undefined;
    }
    matching(associations, appId) {
        return this.store(appId).withKeys(associations.map(associationKey));
    }
    async readByAssociations(associations, appId) {
        return this.matching(associations, appId).map(([, r]) => structuredClone(r.data));
    }
    async remove(id, appId) {
        const record = this.store(appId).get(id);
        this.store(appId).delete(id);
        return record ? record.data : undefined;
    }
    async removeByAssociations(associations, appId) {
        const found = this.matching(associations, appId);
        for (const [id] of found) this.store(appId).delete(id);
        return found.length ? found.map(([, r]) => r.data) : undefined;
    }
    async update(id, data, upsert, appId) {
        const record = this.store(appId).get(id);
        if (!record && !upsert) throw new Error(`persistence record ${id} does not exist`);
        this.store(appId).set(id, { data: structuredClone(data), keys: record ? record.keys : [] });
        return id;
    }
    /**
     * As the server's `updateByAssociations` (bridges/persistence.ts): `updateOne({ appId,
     * associations }, { $set: { data } }, { upsert })` — the association array must equal the
     * record's exactly (same records, same order; a read matches by `$all`), one record is
     * updated, and without `upsert` a missing record is no error: nothing is written.
     */
    async updateByAssociations(associations, data, upsert, appId) {
        const keys = associations.map(associationKey);
        const found = this.matching(associations, appId).find(([, r]) => r.keys.length === keys.length && r.keys.every((k, i) => k === keys[i]));
        if (!found) {
            return upsert ? this.createWithAssociations(data, associations, appId) : undefined;
        }
        found[1].data = structuredClone(data);
        return found[0];
    }
}

class HostRoomBridge extends RoomBridge {
    constructor(host) {
        super();
        this.host = host;
    }
    async getById(roomId) {
        const room = this.host.state.rooms.get(roomId);
        return room ? this.host.state.roomForApp(room) : undefined;
    }
    async getByName(roomName) {
        const room = this.host.state.findRoomByName(roomName);
        return room ? this.host.state.roomForApp(room) : undefined;
    }
    async getCreatorById(roomId) {
        const room = this.host.state.rooms.get(roomId);
        return room ? this.host.state.requireUser(room.creatorId) : undefined;
    }
    async getCreatorByName(roomName) {
        const room = this.host.state.findRoomByName(roomName);
        return room ? this.host.state.requireUser(room.creatorId) : undefined;
    }
    async getDirectByUsernames(usernames) {
        const room = this.host.state.findDirectRoom(usernames);
        return room ? this.host.state.roomForApp(room) : undefined;
    }
    async getMembers(roomId) {
        return this.host.state.requireRoom(roomId).userIds.map((id) => this.host.state.requireUser(id));
    }
    async create(room, members) {
        const { state } = this.host;
        const memberIds = members.map((username) => {
            const user = state.findUserByUsername(username);
            if (!user) throw new Error(`no user ${username}`);
            return user.id;
        });
        const kind = { c: 'channel', p: 'private', d: 'direct' }[room.type];
        return state.createRoom({ name: room.slugifiedName || room.displayName, kind, creatorId: room.creator.id, memberIds }).id;
    }
    async getOwners(roomId) {
        const room = this.host.state.requireRoom(roomId);
        return (room.ownerIds || [room.creatorId]).map((id) => this.host.state.requireUser(id));
    }
    async getModerators(roomId) {
        const room = this.host.state.requireRoom(roomId);
        return (room.moderatorIds || []).map((id) => this.host.state.requireUser(id));
    }
    async getLeaders() {
        return [];
    }
    async getMessages(roomId, options = {}) {
        const list = this.host.state.messagesInRoom(roomId);
        const limit = options.limit || 100;
        return list.slice(-limit).map((m) => ({ ...m, rid: m.roomId }));
    }
    getAllRooms = notImplemented('room', 'getAllRooms');
    update = notImplemented('room', 'update');
    createDiscussion = notImplemented('room', 'createDiscussion');
    delete = notImplemented('room', 'delete');
    removeUsers = notImplemented('room', 'removeUsers');
    getUnreadByUser = notImplemented('room', 'getUnreadByUser');
    getUserUnreadMessageCount = notImplemented('room', 'getUserUnreadMessageCount');
}

class HostServerSettingBridge extends ServerSettingBridge {
    constructor(host) {
        super();
        this.host = host;
    }
    setting(id) {
        return { id, value: this.host.serverSettings[id], packageValue: '', type: 'string', required: false, public: true, i18nLabel: id };
    }
    async getAll() {
        return Object.keys(this.host.serverSettings).map((id) => this.setting(id));
    }
    async getOneById(id) {
        if (!(id in this.host.serverSettings)) throw new Error(`no server setting ${id}`);
        return this.setting(id);
    }
    async isReadableById(id) {
        return id in this.host.serverSettings;
    }
    hideGroup = notImplemented('serverSetting', 'hideGroup');
    hideSetting = notImplemented('serverSetting', 'hideSetting');
    updateOne = notImplemented('serverSetting', 'updateOne');
    incrementValue = notImplemented('serverSetting', 'incrementValue');
}

class HostUploadBridge extends UploadBridge {
    constructor(host) {
        super();
        this.host = host;
    }
    async getById(id) {
        const entry = this.host.state.uploads.get(id);
        return entry ? entry.upload : undefined;
    }
    async getBuffer(upload) {
        const entry = this.host.state.uploads.get(upload.id);
        if (!entry) throw new Error(`no upload ${upload.id}`);
        return entry.bytes;
    }
    /**
     * bridges/uploads.ts createUpload: the type comes from the name (then the bytes), the upload
     * must pass validateFileUpload, is stored, and then posted as a file message through
     * executeSendMessage — whose refusal leaves the stored upload behind, as on the server.
     */
    async createUpload(details, buffer, appId) {
        if (!details.userId && !details.visitorToken) throw new Error('Missing user to perform the upload operation');
        // Fault injection for tests: a storage failure, as a full disk or a lost GridFS write would be.
        const fault = this.host.uploadFault && this.host.uploadFault(details);
        if (fault) throw fault;
        const bytes = Buffer.from(buffer);
        const type = determineFileType(bytes, details.name);
        const user = this.host.state.requireUser(details.userId);
        this.host.rules.validateFileUpload({ size: bytes.length, type, rid: details.rid, user });
        return this.host.storeUpload({ ...details, type, bytes, appId });
    }
}

class HostUserBridge extends UserBridge {
    constructor(host) {
        super();
        this.host = host;
    }
    async getById(id) {
        return this.host.state.users.get(id);
    }
    async getByUsername(username) {
        return this.host.state.findUserByUsername(username);
    }
    async getAppUser(appId) {
        return this.host.appUser(appId);
    }
    async create(data, appId) {
        const user = this.host.state.createUser({ ...data, appId: data.appId || appId, type: data.type || 'app', roles: data.roles || ['app'] });
        return user.id;
    }
    async remove(user) {
        return this.host.state.users.delete(user.id);
    }
    async deleteUsersCreatedByApp(appId) {
        for (const user of [...this.host.state.users.values()]) if (user.appId === appId) this.host.state.users.delete(user.id);
        return true;
    }
    async getActiveUserCount() {
        return this.host.state.users.size;
    }
    async getUserRoomIds(userId) {
        return [...this.host.state.rooms.values()].filter((r) => r.userIds.includes(userId)).map((r) => r.id);
    }
    getUserUnreadMessageCount = notImplemented('user', 'getUserUnreadMessageCount');
    update = notImplemented('user', 'update');
    deactivate = notImplemented('user', 'deactivate');
}

class HostThreadBridge extends ThreadBridge {
    constructor(host) {
        super();
        this.host = host;
    }
    async getById(threadId) {
        const { state } = this.host;
        return [...state.messages.values()].filter((m) => m.threadId === threadId).map((m) => state.messageForApp(m));
    }
}

/** Runs scheduled jobs for real with timers (Rocket.Chat uses Agenda; one run per job). */
class HostSchedulerBridge extends SchedulerBridge {
    constructor(host) {
        super();
        this.host = host;
        this.processors = new Map(); // processorId -> processor
        this.timers = new Map(); // jobId -> timer
        this.running = new Set(); // job runs under way
    }
    /** Like Rocket.Chat: a processor with a startup setting is scheduled as soon as it is registered. */
    async registerProcessors(processors, appId) {
        for (const p of processors) this.processors.set(p.id, { ...p, appId });
        for (const p of processors) {
            const startup = p.startupSetting;
            if (!startup) continue;
            if (startup.type === 'recurring') {
                await this.scheduleRecurring({ id: p.id, interval: startup.interval, skipImmediate: startup.skipImmediate, data: startup.data }, appId);
            } else {
                await this.scheduleOnce({ id: p.id, when: startup.when, data: startup.data }, appId);
            }
        }
        return processors.map((p) => p.id);
    }
    run(jobId, processorId, data) {
        if (this.stopped) return Promise.resolve(); // the host is shutting down: the runtime is going away
        const processor = this.processors.get(processorId);
        if (!processor) throw new Error(`no processor ${processorId}`);
        this.host.counters.jobs += 1;
        const running = Promise.resolve(processor.processor({ ...(data || {}), jobId })).catch((e) => this.host.emit('jobError', processorId, e));
        this.running.add(running);
        running.finally(() => this.running.delete(running));
        return running;
    }

    /** Resolves when the job runs under way have ended (a run waiting on a killed runtime times out). */
    settled() {
        return Promise.allSettled([...this.running]);
    }
    async scheduleOnce(job, appId) {
        if (this.stopped) return undefined;
        const processorId = this.resolveId(job.id, appId);
        const jobId = crypto.randomUUID();
        const delay = Math.max(0, parseWhen(job.when) - Date.now());
        this.timers.set(jobId, { appId, timer: setTimeout(() => {
            this.timers.delete(jobId);
            this.run(jobId, processorId, job.data);
        }, delay) });
        return jobId;
    }
    async scheduleRecurring(job, appId) {
        if (this.stopped) return undefined;
        const processorId = this.resolveId(job.id, appId);
        const jobId = crypto.randomUUID();
        const every = parseInterval(job.interval);
        const timer = setInterval(() => this.run(jobId, processorId, job.data), every);
        this.timers.set(jobId, { appId, timer, processorId });
        // Agenda picks new jobs up on its next poll, not synchronously while the app is being enabled.
        if (!job.skipImmediate) {
            const first = setTimeout(() => this.run(jobId, processorId, job.data), 200);
            this.timers.set(`${jobId}:first`, { appId, timer: first, processorId });
        }
        return jobId;
    }
    resolveId(id, appId) {
        if (this.processors.has(id)) return id;
        const full = `${id}_${appId}`;
        if (this.processors.has(full)) return full;
        throw new Error(`no registered processor ${id}`);
    }
    async cancelJob(jobId) {
        this.clearTimers((key, entry) => key === jobId || key === `${jobId}:first` || entry.processorId === jobId);
    }
    async cancelAllJobs(appId) {
        this.clearTimers((key, entry) => entry.appId === appId);
    }
    clearTimers(matches) {
        for (const [key, entry] of this.timers) {
            if (!matches(key, entry)) continue;
            clearTimeout(entry.timer);
            clearInterval(entry.timer);
            this.timers.delete(key);
        }
    }
    stopAll() {
        this.stopped = true;
        this.clearTimers(() => true);
    }
}

const INTERVAL_UNITS = { ms: 1, millisecond: 1, second: 1000, minute: 60000, hour: 3600000, day: 86400000 };

/** Agenda-style human intervals: "10 seconds", "1 minute", "500 ms", or a number of ms. */
function parseInterval(value) {
    if (typeof value === 'number') return value;
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(String(value));
    const word = match ? match[2].toLowerCase() : '';
    const unit = INTERVAL_UNITS[word] || INTERVAL_UNITS[word.replace(/s$/, '')];
    if (!unit) throw new Error(`local host: unsupported schedule interval "${value}" (use e.g. "30 seconds")`);
    return Number(match[1]) * unit;
}

function parseWhen(when) {
    if (when instanceof Date) return when.getTime();
    const asDate = Date.parse(when);
    if (!Number.isNaN(asDate) && /\d{4}-\d{2}-\d{2}/.test(String(when))) return asDate;
    return Date.now() + parseInterval(String(when).replace(/^in\s+/i, ''));
}

function workspaceKeys() {
    return crypto.generateKeyPairSync('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
}

/**
 * Makes each listed method of `bridge` take one database round trip: half the latency there, half
 * back. Calls under way are kept in `bridge.inFlight`; once the host is stopping there is no delay,
 * so the answers reach the runtime before the host ends it.
 */
function withLatency(bridge, host, latencyMs, methods) {
    const half = latencyMs / 2;
    const wait = () => (host.stopped ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, half)));
    bridge.inFlight = new Set();
    for (const method of methods) {
        const original = bridge[method];
        bridge[method] = function delayed(...args) {
            const call = (async () => {
                await wait();
                const result = await original.apply(this, args);
                await wait();
                return result;
            })();
            const settled = call.catch(() => undefined);
            bridge.inFlight.add(settled);
            settled.finally(() => bridge.inFlight.delete(settled));
            return call;
        };
    }
}

class HostBridges extends AppBridges {
    /**
     * @param {LocalHost} host
     * @param {object} [options]
     * @param {SchedulerBridge} [options.scheduler] another scheduler (an instance of a cluster: Agenda on a shared store)
     */
    constructor(host, options = {}) {
        super();
        this.host = host;
        this.api = new HostApiBridge(host);
        this.activation = new HostActivationBridge(host);
        this.detailChanges = new HostDetailChangesBridge(host);
        this.command = new HostCommandBridge(host);
        this.env = new HostEnvBridge();
        this.http = new HostHttpBridge(host);
        this.message = new HostMessageBridge(host);
        this.persistence = new HostPersistenceBridge(host);
        this.room = new HostRoomBridge(host);
        this.serverSetting = new HostServerSettingBridge(host);
        this.upload = new HostUploadBridge(host);
        this.user = new HostUserBridge(host);
        this.thread = new HostThreadBridge(host);
        this.scheduler = options.scheduler || new HostSchedulerBridge(host);
        if (host.persistenceLatencyMs) {
            withLatency(this.persistence, host, host.persistenceLatencyMs, ['purge', 'create', 'createWithAssociations', 'readById', 'readByAssociations', 'remove', 'removeByAssociations', 'update', 'updateByAssociations']);
        }
        for (const name of ['api', 'command', 'env', 'http', 'message', 'persistence', 'room', 'serverSetting', 'upload', 'user', 'thread', 'scheduler']) {
            countCalls(this[name], name, host);
        }
        // The workspace key pair signs installed apps' storage items (AppSignatureManager); instances of one workspace share it.
        const keys = options.keys || workspaceKeys();
        this.federation = { getPrivateKey: async () => keys.privateKey, getPublicKey: async () => keys.publicKey };
        this.internal = loud({
            doGetUsernamesOfRoomById: async (roomId) => this.room.getMembers(roomId).then((users) => users.map((u) => u.username)),
            doGetUsernamesOfRoomByIdSync: (roomId) => host.state.requireRoom(roomId).userIds.map((id) => host.state.requireUser(id).username),
            doGetWorkspacePublicKey: async () => ({ id: 'Cloud_Workspace_PublicKey', value: keys.publicKey }),
        }, 'internal');
        this.listener = loud({
            messageEvent: async (int, message) => host.manager.getListenerManager().executeListener(int, message),
            roomEvent: async (int, room) => host.manager.getListenerManager().executeListener(int, room),
        }, 'listener');
    }
    getApiBridge() { return this.api; }
    getAppActivationBridge() { return this.activation; }
    getAppDetailChangesBridge() { return this.detailChanges; }
    getCommandBridge() { return this.command; }
    getEnvironmentalVariableBridge() { return this.env; }
    getHttpBridge() { return this.http; }
    getListenerBridge() { return this.listener; }
    getMessageBridge() { return this.message; }
    getPersistenceBridge() { return this.persistence; }
    getRoomBridge() { return this.room; }
    getInternalBridge() { return this.internal; }
    getInternalFederationBridge() { return this.federation; }
    getServerSettingBridge() { return this.serverSetting; }
    getUploadBridge() { return this.upload; }
    getUserBridge() { return this.user; }
    getSchedulerBridge() { return this.scheduler; }
    getThreadBridge() { return this.thread; }
    // Bridges Relay Bridge never uses: any call through them is a bug we want to see.
    getContactBridge() { return loud({}, 'contact'); }
    getLivechatBridge() { return loud({}, 'livechat'); }
    getEmailBridge() { return loud({}, 'email'); }
    getUiInteractionBridge() { return loud({}, 'uiInteraction'); }
    getCloudWorkspaceBridge() { return loud({}, 'cloudWorkspace'); }
    getVideoConferenceBridge() { return loud({}, 'videoConference'); }
    getOAuthAppsBridge() { return loud({}, 'oauthApps'); }
    getModerationBridge() { return loud({}, 'moderation'); }
    getRoleBridge() { return loud({}, 'role'); }
    getOutboundMessageBridge() { return loud({}, 'outboundMessage'); }
    getExperimentalBridge() { return loud({}, 'experimental'); }
}

module.exports = { HostBridges, parseInterval, fromServerShape, workspaceKeys };
