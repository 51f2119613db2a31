// The local host: the real Apps-Engine AppManager (1.62.0; 1.53.1 with RELAY_BRIDGE_ENGINE=oldest)
// and its Deno runtime, in-memory bridges that behave like Rocket.Chat, and a real HTTP server for
// the app's API endpoints.
// Used by `npm start`, the integration tests and the benchmarks.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const { EventEmitter } = require('events');
const { denoBinary, DENO_DIR } = require('./paths');
const { engineRequire } = require('./engine');
const { HostState } = require('./state');
const { HostBridges } = require('./bridges');
const { AppRouter } = require('./app-router');
const { AppsRestApi } = require('./apps-rest');
const { serveFileUpload } = require('./file-upload');
const { ServerRules, SERVER_SETTING_DEFAULTS } = require('./server-rules');
const { MemoryMetadataStorage, MemorySourceStorage, MemoryLogStorage } = require('./storages');
const { AgendaSchedulerBridge } = require('./cluster');

const { AppManager } = engineRequire('server/AppManager');
const { ProcessMessenger } = engineRequire('server/runtime/deno/ProcessMessenger');

// A reply written to a Deno process that was just killed (a restart, the host stopping) fails
// with EPIPE on its stdin; unhandled, that error would crash the whole Node process. Rocket.Chat
// survives it through its process-wide handlers; here each runtime's stdin gets a listener.
const originalSetReceiver = ProcessMessenger.prototype.setReceiver;
ProcessMessenger.prototype.setReceiver = function setReceiver(deno) {
    if (deno && deno.stdin && !deno.stdin.listenerCount('error')) {
        deno.stdin.on('error', (e) => {
            if (e.code !== 'EPIPE') console.error('deno runtime stdin:', e);
        });
    }
    return originalSetReceiver.call(this, deno);
};
const { AppInterface } = engineRequire('definition/metadata');

// The engine skips every app permission check when NODE_ENV is 'test' (AppPermissionManager),
// which jest sets. A server never runs that way, so neither does the host.
if (process.env.NODE_ENV === 'test') process.env.NODE_ENV = 'production';

/** The seeded users' passwords for the REST login (`rc-apps deploy --username admin --password admin`). */
const DEFAULT_PASSWORDS = { admin: 'admin', alice: 'alice', bob: 'bob' };

/**
 * The engine keeps one AppManager per process (`AppManager.Instance`) and reads an app's granted
 * permissions through it (`getPermissionsByAppId`, its only other use). Tests may run two hosts
 * (two "servers") in one process: each app's permissions are then read from the live manager that
 * has it, whichever host started last.
 */
const LIVE_MANAGERS = new Set();
const PERMISSIONS_OF_LIVE_MANAGERS = {
    getPermissionsById(appId) {
        const managers = [...LIVE_MANAGERS].reverse();
        const owner = managers.find((manager) => manager.getOneById(appId)) || managers[0];
        return owner ? owner.getPermissionsById(appId) : [];
    },
};

class LocalHost extends EventEmitter {
    /**
     * @param {object} options
     * @param {number} [options.port] HTTP port (0 = any free port)
     * @param {string} [options.siteUrl] public URL of this "server" (default http://localhost:<port>)
     * @param {(entry: object) => void} [options.onLog] receives the app's log entries
     * @param {Record<string, string>} [options.passwords] username → password for the REST login
     * @param {boolean} [options.license] false: a community workspace without a valid license
     * @param {string} [options.serverVersion] the Rocket.Chat version /api/info reports
     */
    constructor(options = {}) {
        super();
        this.options = options;
        this.routes = new AppRouter(() => this.manager.getApiManager(), (call) => this.trackPending(call));
        this.appsRest = new AppsRestApi(this, { passwords: options.passwords || DEFAULT_PASSWORDS });
        this.license = { valid: options.license !== false };
        this.serverVersion = options.serverVersion || '7.0.0';
        this.rules = new ServerRules(this);
        this.notifications = [];
        // bridges: engine-facing bridge calls by `bridge.method`; rpc: the app's calls out of its
        // Deno sandbox by JSON-RPC method (persistence ones with their record kind); appCalls: the
        // engine's calls into the sandbox. Each RPC is a round trip between the processes.
        this.resetCounters();
        this.serverSettings = {};
        this.extraHandlers = [];
        this.pending = new Set();
        // One of several instances on one database (host/cluster.js), or a single server (undefined).
        this.instance = options.instance;
        this.persistenceLatencyMs = this.instance ? this.instance.persistenceLatencyMs || 0 : 0;
    }

    /** Starts the HTTP server and the engine, and seeds users and rooms like a fresh server. */
    async start() {
        this.server = http.createServer((req, res) => this.handle(req, res));
        await new Promise((resolve, reject) => {
            this.server.once('error', reject);
            this.server.listen(this.options.port || 0, this.options.hostname || '127.0.0.1', resolve);
        });
        this.port = this.server.address().port;
        this.siteUrl = this.options.siteUrl || `http://localhost:${this.port}`;
        // A fresh server's settings; tests change them like an admin would (host.serverSettings.X = …).
        const shared = this.instance ? this.instance.shared : {};
        if (shared.state) {
            // Another instance of the same server: its database is already seeded.
            this.serverSettings = shared.serverSettings;
            this.state = shared.state;
            this.admin = this.state.requireUser('admin-user-id');
            this.alice = this.state.requireUser('alice-user-id');
            this.bob = this.state.requireUser('bob-user-id');
        } else {
            this.serverSettings = { ...SERVER_SETTING_DEFAULTS, Site_Url: this.siteUrl, Site_Name: 'Relay Bridge local host' };
            this.state = new HostState({ siteUrl: this.siteUrl });
            this.seed();
        }
        this.appsRest.seed();

        // The engine spawns plain `deno` from PATH with this cache.
        const denoDir = path.dirname(denoBinary());
        if (!process.env.PATH.split(path.delimiter).includes(denoDir)) {
            process.env.PATH = `${denoDir}${path.delimiter}${process.env.PATH}`;
        }
        process.env.DENO_DIR = process.env.DENO_DIR || DENO_DIR;
        // How long the engine waits for an answer from the runtime (Rocket.Chat: 30 s). Shorter
        // here, so a request lost in a killed runtime does not hold a test for half a minute.
        process.env.APPS_ENGINE_RUNTIME_TIMEOUT = String(this.options.runtimeTimeoutMs || process.env.APPS_ENGINE_RUNTIME_TIMEOUT || 10000);
        // Outside node_modules: the engine links deno-runtime/ in here and Deno refuses node_modules paths.
        this.tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-bridge-host-'));

        // The engine is a singleton guarded by AppManager.Instance: a stopped host leaves one behind,
        // and each host (each instance of a cluster too) constructs its own; the slot then answers
        // permission lookups from whichever live manager holds the app (LIVE_MANAGERS).
        AppManager.Instance = undefined;
        const scheduler = this.instance ? new AgendaSchedulerBridge(this, shared.jobs, { processEveryMs: this.instance.schedulerPollMs, lockLifetimeMs: this.instance.lockLifetimeMs }) : undefined;
        this.bridges = new HostBridges(this, { scheduler, keys: shared.keys });
        this.logStorage = new MemoryLogStorage((entry) => this.onAppLog(entry));
        this.manager = new AppManager({
            metadataStorage: shared.metadataStorage || new MemoryMetadataStorage(),
            logStorage: this.logStorage,
            bridges: this.bridges,
            sourceStorage: shared.sourceStorage || new MemorySourceStorage(),
            tempFilePath: this.tempDir,
        });
        LIVE_MANAGERS.add(this.manager);
        AppManager.Instance = PERMISSIONS_OF_LIVE_MANAGERS;
        await this.manager.load();
        return this;
    }

    seed() {
        const s = this.state;
        this.admin = s.createUser({ id: 'admin-user-id', username: 'admin', name: 'Admin', roles: ['admin', 'user'] });
        this.alice = s.createUser({ id: 'alice-user-id', username: 'alice', name: 'Alice Liddell' });
        this.bob = s.createUser({ id: 'bob-user-id', username: 'bob', name: 'Bob' });
        s.createRoom({ id: 'GENERAL', name: 'general', kind: 'channel', creatorId: this.admin.id, memberIds: [this.alice.id, this.bob.id] });
        s.createRoom({ id: 'RANDOM', name: 'random', kind: 'channel', creatorId: this.admin.id, memberIds: [this.alice.id] });
        s.createRoom({ id: 'STAFF', name: 'staff', kind: 'private', creatorId: this.admin.id, memberIds: [this.alice.id] });
        s.createRoom({ id: 'alice-user-idbob-user-id', name: '', kind: 'direct', creatorId: this.alice.id, memberIds: [this.bob.id] });
    }

    /** Installs and enables a packaged app zip; resolves to its id once it is enabled. */
    async installApp(zipPath) {
        const zip = fs.readFileSync(zipPath);
        const affs = await this.manager.add(zip, { enable: true, user: this.admin });
        const app = affs.getApp();
        if (!app) {
            throw new Error(`app install failed: ${JSON.stringify({ compiler: affs.getCompilerErrors(), storage: affs.getStorageError(), appUser: affs.getAppUserError(), license: affs.getLicenseValidationResult && affs.getLicenseValidationResult() })}`);
        }
        this.adoptApp(app);
        const status = await app.getStatus();
        if (!/enabled/.test(status)) throw new Error(`app installed but not enabled: status ${status}`);
        return this.appId;
    }

    /**
     * Makes an app installed or updated (also through the REST API) the one the host's helpers and
     * the playground work with, and counts its runtime's calls. An update brings a new runtime.
     */
    adoptApp(app) {
        if (!this.appId || this.appId === app.getID()) this.appId = app.getID();
        this.countRuntimeCalls(runtimeController(app));
    }

    /** Counts the requests crossing the app's sandbox boundary, in both directions. */
    countRuntimeCalls(controller) {
        const host = this;
        const handle = controller.handleIncomingMessage;
        const send = controller.sendRequest;
        if (typeof handle !== 'function' || typeof send !== 'function') return;
        controller.handleIncomingMessage = function counted(message) {
            if (host.runtimesStopped) return Promise.resolve();
            const payload = (message && message.payload) || {};
            const method = payload.method;
            if (typeof method === 'string' && (method.startsWith('accessor:') || method.startsWith('bridges:'))) {
                // Persistence calls name their record kind in the first association: `…[kind]`.
                const associations = Array.isArray(payload.params) && Array.isArray(payload.params[0]) ? payload.params[0] : [];
                const kind = associations.find((a) => a && a.model === 'misc');
                const key = kind ? `${method}[${kind.id}]` : method;
                const rpc = host.counters.rpc;
                rpc[key] = (rpc[key] || 0) + 1;
            }
            // A bridge call that started before stop() answers a subprocess that is gone: the
            // engine would log "No process configured" after the host's owner has finished.
            return handle.call(this, message).catch((error) => {
                if (!host.runtimesStopping) throw error;
            });
        };
        controller.sendRequest = function counted(message, ...rest) {
            const calls = host.counters.appCalls;
            const method = String(message && message.method);
            calls[method] = (calls[method] || 0) + 1;
            return send.call(this, message, ...rest);
        };
    }

    /** Zeroes every counter (the benchmarks count per phase). */
    resetCounters() {
        this.counters = { http: 0, persistence: 0, jobs: 0, bridges: {}, rpc: {}, appCalls: {} };
    }

    /** The admin switches the app off and on again (Administration → Apps). */
    async disableApp() {
        await this.manager.disable(this.appId);
    }

    async enableApp() {
        await this.manager.enable(this.appId);
    }

    /** Kills the app's Deno subprocess the hard way; the engine's liveness manager restarts it. */
    killRuntime() {
        const controller = runtimeController(this.manager.getOneById(this.appId));
        if (!controller.deno || !controller.deno.pid) throw new Error('the app has no running Deno process');
        const pid = controller.deno.pid;
        process.kill(pid, 'SIGKILL');
        return pid;
    }

    runtimePid() {
        const controller = runtimeController(this.manager.getOneById(this.appId));
        return controller.deno ? controller.deno.pid : undefined;
    }

    appUser(appId = this.appId) {
        for (const user of this.state.users.values()) if (user.appId === appId) return user;
        return undefined;
    }

    async appStatus() {
        return this.manager.getOneById(this.appId).getStatus();
    }

    /** Changes an app setting the way the admin UI does: through the engine's settings manager. */
    async updateSetting(id, value) {
        const item = this.manager.getOneById(this.appId).getStorageItem();
        const current = item.settings[id];
        if (!current) throw new Error(`the app has no setting ${id}`);
        await this.manager.getSettingsManager().updateAppSetting(this.appId, { ...current, value });
        return item.settings[id].value;
    }

    /**
     * Saves like Administration → Apps → Settings → Save: the UI posts every setting in storage
     * order with its form value (`value ?? packageValue` unless edited), and the REST route runs
     * each one whose value differs from the stored one through the settings manager, in turn.
     * `values`: the settings the admin edited, by id. Resolves to the ids that were updated.
     */
    async saveSettingsLikeAdminUi(values) {
        const stored = this.manager.getOneById(this.appId).getStorageItem().settings;
        const form = Object.values(stored).map((setting) => {
            const value = Object.prototype.hasOwnProperty.call(values, setting.id) ? values[setting.id] : setting.value !== undefined && setting.value !== null ? setting.value : setting.packageValue;
            return { ...setting, value };
        });
        return (await this.applyChangedSettings(this.appId, form)).map((setting) => setting.id);
    }

    /**
     * What `POST /api/apps/:id/settings` does with the settings it is sent (ee/server/apps/
     * communication/rest.ts): each one whose value differs from the stored one goes through the
     * engine's updateAppSetting, one after the other, in the order sent. Returns those applied.
     */
    async applyChangedSettings(appId, settings) {
        const stored = this.manager.getOneById(appId).getStorageItem().settings;
        const updated = [];
        for (const setting of settings) {
            if (stored[setting.id] && stored[setting.id].value !== setting.value) {
                await this.manager.getSettingsManager().updateAppSetting(appId, setting);
                updated.push(setting);
            }
        }
        return updated;
    }

    /** Every line of the app's log (all severities) as text, to search it. */
    appLogText() {
        return JSON.stringify(this.logStorage.entries);
    }

    /** The app's error-level log lines, newest last (what Administration → Apps → Logs shows). */
    appErrors() {
        const out = [];
        for (const entry of this.logStorage.entries) {
            for (const line of entry.entries || []) {
                if (line.severity === 'error') out.push(line.args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
            }
        }
        return out;
    }

    getSetting(id) {
        return this.manager.getOneById(this.appId).getStorageItem().settings[id];
    }

    /**
     * A user sends a message in a room, as the Rocket.Chat client would; a message with a type `t`
     * (a system message: a join, a topic change, an encrypted `e2e` message) fires
     * IPostSystemMessageSent instead of IPostMessageSent. `files` defaults to `[file]`.
     */
    sendMessage({ roomId, userId = this.alice.id, text = '', threadId, file, files, attachments, alias, avatarUrl, customFields, t }) {
        this.state.requireUser(userId);
        const stored = this.state.insertMessage({ roomId, senderId: userId, text, threadId, file, files: files || (file ? [file] : undefined), attachments, alias, avatarUrl, customFields, t });
        for (const key of Object.keys(stored)) if (stored[key] === undefined) delete stored[key];
        this.firePostSent(stored);
        return stored;
    }

    /** functions/sendMessage.ts: `message.t ? IPostSystemMessageSent : IPostMessageSent`. */
    firePostSent(stored) {
        this.firePostMessage(stored.t ? AppInterface.IPostSystemMessageSent : AppInterface.IPostMessageSent, stored);
    }

    editMessage(id, text, editorId = this.alice.id) {
        const stored = this.state.updateMessage(id, { text, editedAt: new Date(), editor: this.state.requireUser(editorId) });
        this.firePostMessage(AppInterface.IPostMessageUpdated, stored);
        return stored;
    }

    deleteMessage(id, userId = this.alice.id) {
        const stored = this.state.deleteMessage(id);
        this.firePostMessage(AppInterface.IPostMessageDeleted, stored, this.state.requireUser(userId));
        return stored;
    }

    /** Uploads a file as a user: stores the bytes and posts the file message, like Rocket.Chat. */
    uploadFile({ roomId, userId = this.alice.id, name, type, bytes, text }) {
        return this.storeUpload({ rid: roomId, userId, name, type, size: bytes.length, bytes, text });
    }

    /** Stores a file in the room's uploads without posting anything; returns the upload and the message's file entry. */
    storeFile({ roomId, userId, name, type, size, bytes }) {
        const room = this.state.requireRoom(roomId);
        const id = require('./state').newId();
        const url = `${this.siteUrl}/file-upload/${id}/${encodeURIComponent(name)}`;
        const upload = {
            id,
            name,
            size: String(size != null ? size : bytes.length),
            type,
            extension: path.extname(name).slice(1),
            etag: id,
            path: `/file-upload/${id}/${encodeURIComponent(name)}`,
            token: id,
            url,
            progress: 1,
            uploading: false,
            complete: true,
            updatedAt: new Date(),
            uploadedAt: new Date(),
            store: 'GridFS:Uploads',
            room: this.state.roomForApp(room),
            user: this.state.users.get(userId),
        };
        this.state.uploads.set(id, { upload, bytes });
        const file = { _id: id, name, type, size: bytes.length };
        return { upload, file };
    }

    /**
     * Stores the bytes, then posts the file message the way sendFileMessage does: through
     * executeSendMessage, so a refused message leaves the stored upload behind (as on the server).
     */
    storeUpload({ rid, userId, name, type, size, bytes, text, appId }) {
        const { upload, file } = this.storeFile({ roomId: rid, userId, name, type, size, bytes });
        const attachment = { title: name, type: 'file', title_link: upload.path, title_link_download: true, ...(type.startsWith('image/') ? { image_url: upload.path, image_type: type } : {}) };
        const senderId = userId || (this.appUser(appId) || {}).id;
        const message = this.rules.executeSendMessage({ rid, u: { _id: senderId }, msg: text || '', groupable: false, file, files: [file], attachments: [attachment] });
        const stored = this.state.insertMessage({ roomId: message.rid, senderId, text: message.msg, file, files: [file], attachments: message.attachments, groupable: false });
        this.firePostSent(stored);
        return upload;
    }

    /** Hands an event to the engine the way Rocket.Chat does after saving (not awaited by the sender). */
    firePostMessage(int, stored, user) {
        const message = this.state.messageForApp(stored);
        const data = int === AppInterface.IPostMessageDeleted ? { message, user } : message;
        this.trackPending(this.manager.getListenerManager().executeListener(int, data).catch((e) => this.emit('listenerError', e)));
    }

    /** Runs a slash command through the engine's command manager, as the user typing it in a room. */
    async runCommand({ command, args = [], roomId, userId = this.admin.id, threadId }) {
        const { SlashCommandContext } = engineRequire('definition/slashcommands');
        const context = new SlashCommandContext(this.state.requireUser(userId), this.state.roomForApp(this.state.requireRoom(roomId)), args, threadId);
        const before = this.notifications.length;
        await this.manager.getCommandManager().executeCommand(command, context);
        return this.notifications.slice(before);
    }

    onAppLog(entry) {
        this.emit('appLog', entry);
        if (this.options.onLog) this.options.onLog(entry);
    }

    /** Lets `npm start` and tests mount extra routes (playground, sinks) on the same server. */
    use(handler) {
        this.extraHandlers.push(handler);
    }

    async handle(req, res) {
        try {
            const url = new URL(req.url, 'http://localhost');
            for (const handler of this.extraHandlers) {
                if (await handler(req, res, url)) return;
            }
            if (serveFileUpload(this, req, res, url)) return;
            // Rocket.Chat's REST API (login, /api/apps management), before the apps' own endpoints.
            if (await this.appsRest.handle(req, res)) return;
            this.routes.server(req, res);
        } catch (e) {
            this.emit('serverError', e);
            if (!res.headersSent) sendJson(res, 500, { success: false, error: e.message });
            else res.end();
        }
    }

    /** Waits until the engine has finished handling every event fired so far. */
    /** Counts `run` among the work under way (event handling, endpoint calls) until it settles. */
    trackPending(run) {
        const settled = Promise.resolve(run).catch(() => undefined);
        this.pending.add(settled);
        settled.finally(() => this.pending.delete(settled));
    }

    async idle() {
        while (this.pending.size) await Promise.allSettled([...this.pending]);
    }

    async stop() {
        this.stopped = true;
        if (this.bridges) this.bridges.scheduler.stopAll();
        // Work still under way would call into an engine that is gone; a runtime that hangs is not waited for past 10 s.
        await Promise.race([this.idle(), new Promise((resolve) => setTimeout(resolve, 10000))]);
        if (this.bridges) await this.bridges.scheduler.settled();
        if (this.manager) {
            const apps = await this.manager.get();
            this.runtimesStopping = true;
            await this.manager.unload(true).catch(() => undefined);
            // Database calls with latency (a cluster instance) answer the runtime before it is stopped.
            if (this.bridges.persistence.inFlight) await Promise.allSettled([...this.bridges.persistence.inFlight]);
            // unload() does not wait for the Deno subprocesses to exit; a lingering one keeps Node alive.
            await Promise.all(apps.map((app) => runtimeController(app).stopApp().catch(() => undefined)));
            // What a killed runtime had already written to its pipe is dropped: it would call into an
            // engine that is gone, after the host's owner has finished.
            this.runtimesStopped = true;
            LIVE_MANAGERS.delete(this.manager);
            if (LIVE_MANAGERS.size === 0) AppManager.Instance = undefined;
        }
        if (this.server) {
            this.server.closeAllConnections();
            await new Promise((resolve) => this.server.close(resolve));
        }
        if (this.tempDir) fs.rmSync(this.tempDir, { recursive: true, force: true });
    }
}

/** The app's Deno subprocess controller; apps-engine < 1.62 (RELAY_BRIDGE_ENGINE=oldest) names the getter getDenoRuntime. */
function runtimeController(app) {
    return typeof app.getRuntimeController === 'function' ? app.getRuntimeController() : app.getDenoRuntime();
}

function readBody(req, limit) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        let size = 0;
        req.on('data', (chunk) => {
            size += chunk.length;
            if (size > limit) {
                resolve(null);
                req.destroy();
                return;
            }
            chunks.push(chunk);
        });
        req.on('end', () => resolve(Buffer.concat(chunks)));
        req.on('error', reject);
    });
}

function sendJson(res, status, body) {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
}

module.exports = { LocalHost, sendJson, readBody };
