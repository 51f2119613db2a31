// Several Rocket.Chat server instances on one database, as a scaled-out server runs them: each
// instance is a LocalHost with its own AppManager, Deno runtime (so its own app memory) and HTTP
// port, and all of them share the users, rooms, messages, app persistence, app metadata and the
// scheduler's job collection. The scheduler follows Agenda (packages/agenda, used by
// apps/meteor/app/apps/server/bridges/scheduler.ts): every instance polls the shared job
// collection, a job document is locked (`lockedAt`) by one instance at a time and the lock
// expires after `lockLifetime`. Settings changed on one instance reach the others the way
// AppServerNotifier/AppServerListener carry them (ee/server/apps/communication/websockets.ts).
// Rules and their sources: docs/HOST-FIDELITY.md ("Several instances").
'use strict';

const crypto = require('crypto');
const { engineRequire } = require('./engine');
const { MemoryMetadataStorage, MemorySourceStorage } = require('./storages');
const { parseInterval, workspaceKeys } = require('./bridges');

const { SchedulerBridge } = engineRequire('server/bridges/SchedulerBridge');

/** Agenda's defaults: `processEvery` 5 s, `defaultLockLifetime` 10 min (Rocket.Chat sets neither). */
const AGENDA_PROCESS_EVERY_MS = 5000;
const AGENDA_LOCK_LIFETIME_MS = 10 * 60 * 1000;

const delay = (ms) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());

/**
 * App metadata in one shared collection: every instance reads its own copy of a document (as
 * from MongoDB), so one AppManager changing its storage item does not change another's.
 */
class SharedMetadataStorage extends MemoryMetadataStorage {
    async create(item) {
        return structuredClone(await super.create(structuredClone(item)));
    }
    async retrieveOne(id) {
        const item = this.find(id);
        return item ? structuredClone(item) : null;
    }
    async retrieveAll() {
        return new Map([...this.items].map(([id, item]) => [id, structuredClone(item)]));
    }
    async retrieveAllPrivate() {
        return new Map([...this.items].filter(([, item]) => item.installationSource === 'private').map(([id, item]) => [id, structuredClone(item)]));
    }
    async updatePartialAndReturnDocument(item) {
        return structuredClone(await super.updatePartialAndReturnDocument(structuredClone(item)));
    }
    async updateSetting(id, setting) {
        return super.updateSetting(id, structuredClone(setting));
    }
}

/**
 * The shared `rocketchat_apps_scheduler` collection: job documents by `_id`. Each operation is one
 * atomic database operation (Agenda's findOneAndUpdate / insertOne / deleteMany).
 */
class AgendaJobStore {
    constructor() {
        this.docs = new Map();
    }
    insert(doc) {
        const stored = { ...doc, _id: newObjectId() };
        this.docs.set(stored._id, stored);
        return { ...stored };
    }
    /** findOneAndUpdate(query, {$set}) sorted by nextRunAt: the first match gets `set`, returned after the update. */
    findOneAndSet(matches, set) {
        const found = [...this.docs.values()].filter(matches).sort((a, b) => time(a.nextRunAt) - time(b.nextRunAt))[0];
        if (!found) return undefined;
        Object.assign(found, set);
        return { ...found };
    }
    find(matches) {
        return [...this.docs.values()].filter(matches).map((doc) => ({ ...doc }));
    }
    deleteMany(matches) {
        let n = 0;
        for (const [id, doc] of this.docs) {
            if (matches(doc)) {
                this.docs.delete(id);
                n += 1;
            }
        }
        return n;
    }
}

function time(date) {
    return date ? date.getTime() : Infinity;
}

/** A 24-hex-digit id, as MongoDB's ObjectId prints (cancelJob tells job ids from names by it). */
function newObjectId() {
    return crypto.randomBytes(12).toString('hex');
}

/**
 * One instance's Agenda on the shared job store, behind Rocket.Chat's AppSchedulerBridge:
 * - scheduleOnce inserts a new `normal` job document; a successful run removes it, a failed run
 *   leaves it with no next run (never retried);
 * - scheduleRecurring upserts the one `single` document per job name (`every`), so all instances
 *   share one recurring job;
 * - every `processEvery` the instance locks each due job (nextRunAt before the next scan, lock free;
 *   or a lock older than `lockLifetime`) and runs it at its time; within one instance one job of a
 *   name runs at a time (`defaultConcurrency: 1`); across instances only the lock separates runs.
 * Every store operation takes this instance's database latency.
 */
class AgendaSchedulerBridge extends SchedulerBridge {
    constructor(host, store, { processEveryMs = AGENDA_PROCESS_EVERY_MS, lockLifetimeMs = AGENDA_LOCK_LIFETIME_MS } = {}) {
        super();
        this.host = host;
        this.store = store;
        this.processEveryMs = processEveryMs;
        this.lockLifetimeMs = lockLifetimeMs;
        this.definitions = new Map(); // name -> { fn, running }
        this.queue = []; // locked jobs waiting to run here
        this.timers = new Set();
        this.running = new Set();
        this.nextScanAt = 0;
    }

    /** One round trip to the database: half the latency there, the operation, half back. */
    async db(operation) {
        // Once the host is stopping there is no delay: answers reach the runtime before the host ends it.
        const latency = this.host.stopped ? 0 : this.host.persistenceLatencyMs || 0;
        await delay(latency / 2);
        const result = operation();
        await delay(latency / 2);
        return result;
    }

    async registerProcessors(processors, appId) {
        const startups = [];
        for (const { id, processor, startupSetting } of processors) {
            this.definitions.set(id, { fn: processor, running: 0 });
            if (!startupSetting) continue;
            if (startupSetting.type === 'recurring') {
                startups.push(this.scheduleRecurring({ id, interval: startupSetting.interval, skipImmediate: startupSetting.skipImmediate, data: startupSetting.data }, appId));
            } else {
                // scheduleOnceAfterRegister: only when no one-time job of that name is stored yet.
                startups.push(this.db(() => this.store.find((d) => d.name === id && d.type === 'normal')).then((jobs) => (jobs.length ? undefined : this.scheduleOnce({ id, when: startupSetting.when, data: startupSetting.data }, appId))));
            }
        }
        if (startups.length) return Promise.all(startups);
        return undefined;
    }

    async scheduleOnce({ id, when, data }, appId) {
        if (this.stopped) return undefined;
        this.start();
        const nextRunAt = new Date(parseWhenAgenda(when));
        const doc = await this.db(() => this.store.insert({ name: id, type: 'normal', data: { ...(data || {}), appId }, nextRunAt, lockedAt: null, priority: 0 }));
        // Agenda's _processDbResult: a job due before the next scan is locked on the fly here.
        if (nextRunAt.getTime() < this.nextScanAt) this.lockOnTheFly(doc);
        return doc._id;
    }

    async scheduleRecurring({ id, interval, skipImmediate = false, data }, appId) {
        if (this.stopped) return undefined;
        this.start();
        const every = parseInterval(interval);
        const now = Date.now();
        // Job.repeatEvery: the first run is now, or one interval away with skipImmediate.
        const nextRunAt = new Date(skipImmediate ? now + every : now);
        const doc = await this.db(() => {
            const existing = [...this.store.docs.values()].find((d) => d.name === id && d.type === 'single');
            if (existing) {
                // _saveSingleJob: a nextRunAt already due is only set on insert ($setOnInsert).
                Object.assign(existing, { repeatInterval: interval, data: { ...(data || {}), appId } }, nextRunAt.getTime() > now ? { nextRunAt } : {});
                return { ...existing };
            }
            const stored = this.store.insert({ name: id, type: 'single', repeatInterval: interval, data: { ...(data || {}), appId }, nextRunAt, lockedAt: null, priority: 0 });
            return stored;
        });
        if (doc.nextRunAt && doc.nextRunAt.getTime() < this.nextScanAt) this.lockOnTheFly(doc);
        return doc._id;
    }

    /** bridges/scheduler.ts cancelJob: by document id when the part before `_` is an ObjectId, else by job name. */
    async cancelJob(jobId) {
        const head = String(jobId).split('_')[0];
        const byId = /^[0-9a-f]{24}$/i.test(head);
        await this.db(() => this.store.deleteMany((d) => (byId ? d._id === head : d.name === jobId)));
    }

    async cancelAllJobs(appId) {
        await this.db(() => this.store.deleteMany((d) => d.name.endsWith(`_${appId}`)));
    }

    /** Agenda.start (called lazily by the bridge's startScheduler): poll every processEvery, and once right away. */
    start() {
        if (this.interval || this.stopped) return;
        this.interval = setInterval(() => this.processJobs(), this.processEveryMs);
        this.later(0, () => this.processJobs());
    }

    later(ms, fn) {
        const timer = setTimeout(() => {
            this.timers.delete(timer);
            fn();
        }, ms);
        this.timers.add(timer);
    }

    processJobs() {
        if (this.stopped) return;
        for (const name of this.definitions.keys()) this.fillQueue(name).catch((e) => this.host.emit('jobError', name, e));
    }

    /** _jobQueueFilling: lock every job of `name` due before the next scan (or with an expired lock). */
    async fillQueue(name) {
        this.nextScanAt = Date.now() + this.processEveryMs;
        for (;;) {
            const now = new Date();
            const lockDeadline = now.getTime() - this.lockLifetimeMs;
            const scanUntil = this.nextScanAt;
            const job = await this.db(() => this.store.findOneAndSet((d) => d.name === name && !d.disabled && ((!d.lockedAt && d.nextRunAt && d.nextRunAt.getTime() <= scanUntil) || (d.lockedAt && d.lockedAt.getTime() <= lockDeadline)), { lockedAt: now }));
            if (!job || this.stopped) return;
            this.enqueue(job);
        }
    }

    /** _lockOnTheFly: lock a job this instance just saved, if no one has it yet. */
    lockOnTheFly(doc) {
        const now = new Date();
        this.db(() => this.store.findOneAndSet((d) => d._id === doc._id && !d.lockedAt && d.nextRunAt && d.nextRunAt.getTime() === doc.nextRunAt.getTime(), { lockedAt: now }))
            .then((job) => job && this.enqueue(job))
            .catch((e) => this.host.emit('jobError', doc.name, e));
    }

    enqueue(job) {
        this.queue.push(job);
        this.queue.sort((a, b) => time(a.nextRunAt) - time(b.nextRunAt));
        this.processQueue();
    }

    /** _jobProcessing: the next job whose name is not running here; run it when due. */
    processQueue() {
        if (this.stopped) return;
        const index = this.queue.findIndex((job) => this.definitions.get(job.name) && this.definitions.get(job.name).running === 0);
        if (index < 0) return;
        const job = this.queue[index];
        if (!job.nextRunAt) {
            // A one-time job whose run was cut off has no next run: Agenda never runs it again.
            this.queue.splice(index, 1);
            return;
        }
        const wait = job.nextRunAt.getTime() - Date.now();
        if (wait > 0) {
            this.later(wait, () => this.processQueue());
            return;
        }
        this.queue.splice(index, 1);
        if (job.lockedAt.getTime() < Date.now() - this.lockLifetimeMs) {
            // _runOrRetry: the lock expired while the job waited here; another instance may have it.
            this.processQueue();
            return;
        }
        const run = this.run(job);
        this.running.add(run);
        run.finally(() => {
            this.running.delete(run);
            this.processQueue();
        });
        this.processQueue();
    }

    /** Job.run + _callProcessor: save the start, call the app, remove a finished one-time job, unlock. */
    async run(job) {
        const definition = this.definitions.get(job.name);
        definition.running += 1;
        try {
            const lastRunAt = new Date();
            const nextRunAt = job.type === 'single' && job.repeatInterval ? new Date(lastRunAt.getTime() + parseInterval(job.repeatInterval)) : null;
            await this.db(() => {
                const doc = this.store.docs.get(job._id);
                if (doc) Object.assign(doc, { lastRunAt, nextRunAt });
            });
            let failed;
            try {
                const { appId, ...data } = job.data || {};
                this.host.counters.jobs += 1;
                await definition.fn({ ...data, jobId: job._id });
                if (job.type === 'normal') await this.db(() => this.store.deleteMany((d) => d._id === job._id));
            } catch (e) {
                failed = e;
                this.host.emit('jobError', job.name, e);
            }
            await this.db(() => {
                const doc = this.store.docs.get(job._id);
                if (doc) Object.assign(doc, { lockedAt: null, lastFinishedAt: new Date() }, failed ? { failReason: String(failed && failed.message), failCount: (doc.failCount || 0) + 1 } : {});
            });
        } finally {
            definition.running -= 1;
        }
    }

    settled() {
        return Promise.allSettled([...this.running]);
    }

    /** Agenda.stop: no more polling; the jobs locked here but not run are unlocked. */
    stopAll() {
        this.stopped = true;
        clearInterval(this.interval);
        for (const timer of this.timers) clearTimeout(timer);
        this.timers.clear();
        for (const job of this.queue) {
            const doc = this.store.docs.get(job._id);
            if (doc) doc.lockedAt = null;
        }
        this.queue = [];
    }
}

/** Job.schedule: a Date, or a date text; the engine hands `when` as a Date or an ISO string. */
function parseWhenAgenda(when) {
    if (when instanceof Date) return when.getTime();
    const parsed = Date.parse(when);
    if (!Number.isNaN(parsed)) return parsed;
    return Date.now() + parseInterval(String(when).replace(/^in\s+/i, ''));
}

/**
 * N instances of the local host on one shared store. Start with `new HostCluster(options).start(n)`;
 * `hosts[i]` is instance i (its own port, engine and runtime).
 */
class HostCluster {
    /**
     * @param {object} [options]
     * @param {number[]|number} [options.persistenceLatencyMs] database latency per instance (reads and writes), ms
     * @param {number} [options.schedulerPollMs] Agenda's processEvery (default 5000, as on the server)
     * @param {number} [options.lockLifetimeMs] Agenda's lock lifetime (default 10 min)
     * @param {number} [options.propagationMs] how long a setting change takes to reach the other instances
     * @param {object} [options.host] options for every LocalHost
     */
    constructor(options = {}) {
        this.options = options;
        this.hosts = [];
        this.shared = { metadataStorage: new SharedMetadataStorage(), sourceStorage: new MemorySourceStorage(), jobs: new AgendaJobStore(), keys: workspaceKeys() };
        this.propagating = new Set();
    }

    latencyOf(index) {
        const l = this.options.persistenceLatencyMs;
        return Array.isArray(l) ? l[index] || 0 : l || 0;
    }

    async start(count = 2) {
        const { LocalHost } = require('./host');
        for (let i = 0; i < count; i++) {
            const host = new LocalHost({
                ...(this.options.host || {}),
                instance: {
                    index: i,
                    cluster: this,
                    shared: this.shared,
                    persistenceLatencyMs: this.latencyOf(i),
                    schedulerPollMs: this.options.schedulerPollMs,
                    lockLifetimeMs: this.options.lockLifetimeMs,
                },
            });
            await host.start();
            if (i === 0) {
                // One database: the first instance's users, rooms, messages and server settings are everyone's.
                this.shared.state = host.state;
                this.shared.serverSettings = host.serverSettings;
            }
            this.hosts.push(host);
        }
        return this;
    }

    /** Installs on instance 0; every other instance loads it from the shared storage (AppServerListener.onAppAdded → addLocal). */
    async installApp(zipPath) {
        const appId = await this.hosts[0].installApp(zipPath);
        for (const host of this.hosts.slice(1)) {
            await host.manager.addLocal(appId);
            host.adoptApp(host.manager.getOneById(appId));
        }
        return appId;
    }

    /**
     * AppDetailChangesBridge → AppServerNotifier.appSettingsChange broadcasts a changed setting;
     * every other instance's AppServerListener.onAppSettingUpdated runs it through its own settings
     * manager (onPreSettingUpdate, storage, onSettingUpdated in its runtime) without broadcasting again.
     */
    settingChanged(from, appId, setting) {
        if (from.receivedSetting && from.receivedSetting.has(`${appId}:${setting.id}`)) {
            from.receivedSetting.delete(`${appId}:${setting.id}`);
            return;
        }
        for (const host of this.hosts) {
            if (host === from || host.stopped) continue;
            const run = delay(this.options.propagationMs || 0).then(async () => {
                if (!host.manager || !host.manager.getOneById(appId)) return;
                host.receivedSetting = host.receivedSetting || new Set();
                host.receivedSetting.add(`${appId}:${setting.id}`);
                await host.manager.getSettingsManager().updateAppSetting(appId, structuredClone(setting));
            }).catch((e) => host.emit('listenerError', e));
            this.propagating.add(run);
            run.finally(() => this.propagating.delete(run));
        }
    }

    /** Resolves when every setting change so far has reached every instance. */
    async propagated() {
        while (this.propagating.size) await Promise.allSettled([...this.propagating]);
    }

    /** Changes an app setting on one instance (default 0), like the admin UI, and waits until all instances have it. */
    async updateSetting(id, value, index = 0) {
        const result = await this.hosts[index].updateSetting(id, value);
        await this.propagated();
        return result;
    }

    get appId() {
        return this.hosts[0].appId;
    }

    get state() {
        return this.shared.state;
    }

    /** SIGKILLs the Deno runtime of each given instance (default all); each engine restarts its own. */
    killRuntimes(indexes = this.hosts.map((_, i) => i)) {
        return indexes.map((i) => this.hosts[i].killRuntime());
    }

    async idle() {
        await Promise.all(this.hosts.map((h) => h.idle()));
    }

    async stop() {
        await this.propagated();
        for (const host of [...this.hosts].reverse()) await host.stop();
    }
}

module.exports = { HostCluster, AgendaSchedulerBridge, AgendaJobStore, SharedMetadataStorage, AGENDA_PROCESS_EVERY_MS, AGENDA_LOCK_LIFETIME_MS };
