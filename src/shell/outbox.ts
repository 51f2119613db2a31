import { IHttp, ILogger, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';

import { DeadLetter, dueQueues, nextSequence, nextWakeUp, OutboxEntry, targetHash } from '../core/outbox';
import { ActiveConfig } from '../core/relay';
import { afterFailure, RetryPolicy } from '../core/retry';
import { OutboundFile } from '../core/adapter';
import { ConfigStore } from './configStore';
import { attemptDelivery, FileRules, fileRulesOf, loadFiles } from './delivery';
import { hostedAvatarFor } from './hostedAvatar';
import { DeliveryCounters } from './records/counters';
import { listHostedAvatars, removeHostedAvatar } from './records/hostedAvatar';
import { listInboundResults, removeInboundResult } from './records/inboundMap';
import { listMessageMaps, mergeRemoteIds, readMessageMap, removeMessageMap } from './records/messageMap';
import { listOrigins, removeOrigin } from './records/origin';
import { listDeadLetters, listOutbox, readOutboxEntry, removeDeadLetter, removeOutboxEntry, saveDeadLetter, saveOutboxEntry } from './records/outbox';

export const OUTBOX_PROCESSOR_ID = 'relay-bridge-outbox';

/** How long a runtime may work on a claimed entry before another may take it over. */
const CLAIM_MS = 120000;
/** How long the set of targets with waiting entries is trusted before it is read again. */
const PENDING_TTL_MS = 1000;
/** Id maps (for edits, deletes, threads) and inbound idempotency records live this long… */
export const ID_MAP_MAX_AGE_MS = 30 * 24 * 3600000;
/** …and at most this many are kept (the oldest go first). */
export const ID_MAP_MAX_RECORDS = 100000;
/** Dead letters kept for the admin; beyond this the oldest are dropped (and logged). */
export const DEAD_LETTER_MAX = 1000;
/** Copied avatars are uploaded again after this long (a sender's avatar URL stays the same when the picture changes). */
export const HOSTED_AVATAR_MAX_AGE_MS = 24 * 3600000;
const MAINTENANCE_EVERY_MS = 3600000;

/**
 * Works off the outbox: retries with backoff, strictly in order per target, gives up into dead
 * letters after the horizon, and claims entries so two server instances never both deliver one.
 */
export class Outbox {
    /** Identifies this runtime in claims and counter records. */
    public readonly runtimeId = `rt-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    public readonly counters = new DeliveryCounters(this.runtimeId);
    private pending = new Map<string, number>();
    private readonly unsaved = new Set<string>();
    private pendingReadAt = 0;
    private running = false;
    private rerun = false;
    private scheduledFor = 0;
    private maintainedAt = 0;

    constructor(private readonly configStore: ConfigStore, private readonly logger: () => ILogger) {}

    /** Forgets in-memory state: after a re-enable, persistence is the only truth. */
    public reset(): void {
        this.running = false;
        this.rerun = false;
        this.scheduledFor = 0;
        this.pendingReadAt = 0;
    }

    /** Refreshes which targets have entries waiting (cached for PENDING_TTL_MS). */
    public async pendingTargets(read: IRead): Promise<Map<string, number>> {
        if (Date.now() - this.pendingReadAt > PENDING_TTL_MS) {
            this.pendingReadAt = Date.now();
            const entries = await listOutbox(read.getPersistenceReader());
            const pending = new Map<string, number>();
            for (const entry of entries) {
                pending.set(entry.targetKey, (pending.get(entry.targetKey) || 0) + 1);
            }
            // Keep what this runtime queued but may not have written yet.
            this.unsaved.forEach((key) => pending.set(key, Math.max(1, pending.get(key) || 0)));
            this.pending = pending;
        }
        return this.pending;
    }

    /** Whether a new delivery to this target must queue behind waiting ones. */
    public isPending(targetKey: string): boolean {
        return (this.pending.get(targetKey) || 0) > 0;
    }

    /** Marks a target as having a waiting delivery, before its entry is written. */
    public markPending(targetKey: string): void {
        this.pending.set(targetKey, (this.pending.get(targetKey) || 0) + 1);
        this.unsaved.add(targetKey);
    }

    /** Creates an entry for a delivery that must be (re)tried later. */
    public newEntry(fields: Omit<OutboxEntry, 'id' | 'seq' | 'attempts' | 'firstAttemptAt' | 'nextAttemptAt'> & { attempts?: number; nextAttemptAt?: number }): OutboxEntry {
        const now = Date.now();
        const seq = nextSequence(now);
        return {
            id: `${targetHash(fields.targetKey)}-${seq}`,
            seq,
            attempts: 0,
            firstAttemptAt: now,
            nextAttemptAt: now,
            ...fields,
        };
    }

    /** Stores entries (refusing past the cap into dead letters) and makes sure the job will run. */
    public async enqueue(entries: OutboxEntry[], read: IRead, persistence: IPersistence, modify: IModify): Promise<void> {
        const { limits } = await this.configStore.current(read);
        const pending = await this.pendingTargets(read);
        let total = 0;
        pending.forEach((count) => (total += count));
        for (const entry of entries) {
            if (total >= limits.maxOutboxEntries) {
                await this.deadLetter(entry, `the outbox is full (${limits.maxOutboxEntries} entries); raise "Outbox size" or fix the target`, persistence);
                this.logger().error(`outbox full (${limits.maxOutboxEntries}): ${entry.event} ${entry.message.id} → ${entry.instance} dead-lettered`);
                continue;
            }
            await saveOutboxEntry(persistence, entry);
            total += 1;
        }
        entries.forEach((entry) => this.unsaved.delete(entry.targetKey));
        // Entries queued behind a waiting one are due only when it is: schedule for failed ones.
        const next = entries.reduce((min, e) => (e.attempts > 0 ? Math.min(min, e.nextAttemptAt) : min), Infinity);
        if (next !== Infinity) {
            await this.scheduleAt(next, modify);
        } else if (this.scheduledFor <= Date.now()) {
            await this.scheduleAt(Date.now(), modify); // no run known to be coming: make sure one does
        }
    }

    /** The scheduler job: delivers every due entry, then schedules itself for the next one. */
    public async process(read: IRead, modify: IModify, http: IHttp, persistence: IPersistence): Promise<void> {
        if (this.running) {
            this.rerun = true; // a run is in progress in this runtime; it will go round again
            return;
        }
        this.running = true;
        try {
            do {
                this.rerun = false;
                await this.processOnce(read, modify, http, persistence);
            } while (this.rerun);
            if (Date.now() - this.maintainedAt > MAINTENANCE_EVERY_MS) {
                this.maintainedAt = Date.now();
                await this.expireRecords(read, persistence);
            }
        } finally {
            this.running = false;
            await this.counters.flush(persistence).catch(() => undefined);
        }
    }

    private async processOnce(read: IRead, modify: IModify, http: IHttp, persistence: IPersistence): Promise<void> {
        const { active, policy, limits, server } = await this.configStore.current(read);
        const reader = read.getPersistenceReader();
        const entries = await listOutbox(reader);
        const queues = dueQueues(entries, this.runtimeId, Date.now());
        const files = new Map<string, OutboundFile>();
        // Targets are independent: work their queues at the same time, each strictly in order.
        await Promise.all(queues.map((queue) => this.workQueue(queue, active, policy, fileRulesOf(limits.maxFileSize, server), read, http, persistence, files)));
        const remaining = await listOutbox(reader);
        const pending = new Map<string, number>();
        for (const entry of remaining) {
            pending.set(entry.targetKey, (pending.get(entry.targetKey) || 0) + 1);
        }
        this.unsaved.forEach((key) => pending.set(key, Math.max(1, pending.get(key) || 0)));
        this.pending = pending;
        this.pendingReadAt = Date.now();
        const next = nextWakeUp(remaining, Date.now());
        if (next !== undefined) {
            await this.scheduleAt(next, modify);
        }
    }

    private async workQueue(
        queue: OutboxEntry[],
        active: ActiveConfig | undefined,
        policy: RetryPolicy,
        fileRules: FileRules,
        read: IRead,
        http: IHttp,
        persistence: IPersistence,
        files: Map<string, OutboundFile>,
    ): Promise<void> {
        for (const queued of queue) {
            if (queued.nextAttemptAt > Date.now()) {
                return; // the head waits for its retry time; everything behind it waits too
            }
            const entry = await this.claim(queued, read, persistence);
            if (!entry) {
                return; // another runtime has it
            }
            const instance = active && active.config.instances.get(entry.instance);
            if (!instance || !instance.adapter) {
                await this.deadLetter(entry, `instance "${entry.instance}" is no longer in the relay configuration`, persistence);
                await removeOutboxEntry(persistence, entry.id);
                continue;
            }
            const map = await readMessageMap(read.getPersistenceReader(), entry.message.id);
            const parent = entry.message.threadId ? await readMessageMap(read.getPersistenceReader(), entry.message.threadId) : undefined;
            const existingIds = (map && map.targets[entry.targetKey]) || [];
            if (entry.event !== 'sent' && existingIds.length === 0) {
                // The original never reached this target (dead-lettered or dropped): nothing to edit or delete.
                await removeOutboxEntry(persistence, entry.id);
                continue;
            }
            const parentIds = parent && parent.targets[entry.targetKey];
            const result = await attemptDelivery(
                {
                    instance: entry.instance,
                    adapter: instance.adapter,
                    config: instance.adapterConfig,
                    channel: entry.channel,
                    message: entry.message,
                    rendered: entry.rendered,
                    partsDone: entry.partsDone,
                    remoteIds: entry.remoteIds,
                    carried: entry.carried || {},
                    existingIds,
                    parentId: parentIds && parentIds.length ? parentIds[0] : undefined,
                    files: await loadFiles(entry.message, instance, read, this.logger(), files, fileRules),
                    hostedAvatarUrl: entry.event === 'deleted' ? undefined : await hostedAvatarFor(instance.adapter, instance.adapterConfig, entry.rendered, active!, { read, http, persistence, logger: this.logger() }),
                    timeoutMs: instance.timeoutMs,
                    guard: active!,
                },
                http,
            );
            if (result.ok) {
                // Targets that don't track edits get new messages only: no ids to keep.
                if (instance.trackEdits && entry.event === 'deleted') {
                    await mergeRemoteIds(read.getPersistenceReader(), persistence, entry.message, entry.targetKey, []);
                } else if (instance.trackEdits && result.remoteIds.length > 0) {
                    await mergeRemoteIds(read.getPersistenceReader(), persistence, entry.message, entry.targetKey, result.remoteIds);
                }
                await removeOutboxEntry(persistence, entry.id);
                this.counters.count(entry.targetKey, entry.instance, 'sent');
                continue;
            }
            const decision = afterFailure(result, entry.attempts + 1, entry.firstAttemptAt, Date.now(), policy);
            const updated: OutboxEntry = { ...entry, attempts: entry.attempts + 1, partsDone: result.partsDone, remoteIds: result.remoteIds, carried: result.carried, lastError: result.error, claimedBy: undefined, claimedUntil: undefined };
            if (decision.action === 'retry') {
                updated.nextAttemptAt = decision.at;
                await saveOutboxEntry(persistence, updated);
                this.counters.count(entry.targetKey, entry.instance, 'retried', result.error);
                return; // keep order: nothing behind it may overtake
            }
            await this.deadLetter(updated, `${decision.reason}; last error ${result.error}`, persistence);
            await removeOutboxEntry(persistence, entry.id);
        }
    }

    /** Takes an entry for this runtime; undefined when another runtime holds a live claim. */
    private async claim(entry: OutboxEntry, read: IRead, persistence: IPersistence): Promise<OutboxEntry | undefined> {
        const now = Date.now();
        const current = await readOutboxEntry(read.getPersistenceReader(), entry.id);
        if (!current || (current.claimedBy && current.claimedBy !== this.runtimeId && (current.claimedUntil || 0) > now)) {
            return undefined;
        }
        const claimed = { ...current, claimedBy: this.runtimeId, claimedUntil: now + CLAIM_MS };
        await saveOutboxEntry(persistence, claimed);
        // Read back: if two runtimes raced, the last writer wins and the other backs off.
        const confirmed = await readOutboxEntry(read.getPersistenceReader(), entry.id);
        return confirmed && confirmed.claimedBy === this.runtimeId ? confirmed : undefined;
    }

    /** Puts a dead letter back into the outbox as a fresh delivery (the admin's "retry"). */
    public async retryDeadLetter(id: string, read: IRead, persistence: IPersistence, modify: IModify): Promise<boolean> {
        const letter = await removeDeadLetter(persistence, id);
        if (!letter) {
            return false;
        }
        const old = letter.entry;
        const entry = this.newEntry({
            targetKey: old.targetKey,
            instance: old.instance,
            channel: old.channel,
            event: old.event,
            message: old.message,
            rendered: old.rendered,
            partsDone: old.partsDone,
            remoteIds: old.remoteIds,
            carried: old.carried,
        });
        this.markPending(entry.targetKey);
        await this.enqueue([entry], read, persistence, modify);
        return true;
    }

    /** Drops a dead letter for good (the admin's "drop"). */
    public async dropDeadLetter(id: string, persistence: IPersistence): Promise<boolean> {
        return !!(await removeDeadLetter(persistence, id));
    }

    /**
     * Keeps storage bounded: id maps and inbound records older than ID_MAP_MAX_AGE_MS or beyond
     * ID_MAP_MAX_RECORDS go (edits of such old messages are then not relayed), and dead letters
     * beyond DEAD_LETTER_MAX. Anything removed for a cap is reported in the log.
     */
    public async expireRecords(read: IRead, persistence: IPersistence): Promise<{ maps: number; inbound: number; origins: number; avatars: number; deadLetters: number }> {
        const reader = read.getPersistenceReader();
        const maps = expired(await listMessageMaps(reader));
        for (const map of maps.expired) {
            await removeMessageMap(persistence, map.messageId);
        }
        const inbound = expired(await listInboundResults(reader));
        for (const record of inbound.expired) {
            await removeInboundResult(persistence, record);
        }
        const origins = expired(await listOrigins(reader));
        for (const record of origins.expired) {
            await removeOrigin(persistence, record.messageId);
        }
        const avatars = expired(await listHostedAvatars(reader), HOSTED_AVATAR_MAX_AGE_MS);
        for (const record of avatars.expired) {
            await removeHostedAvatar(persistence, record);
        }
        const letters = await listDeadLetters(reader);
        const overflow = letters.slice(0, Math.max(0, letters.length - DEAD_LETTER_MAX));
        for (const letter of overflow) {
            await removeDeadLetter(persistence, letter.id);
        }
        if (maps.overCap || inbound.overCap || origins.overCap || avatars.overCap || overflow.length > 0) {
            this.logger().warn(`storage caps reached: removed ${maps.expired.length} id maps, ${inbound.expired.length} inbound records, ${origins.expired.length} origin records, ${avatars.expired.length} avatar records, ${overflow.length} dead letters (caps ${ID_MAP_MAX_RECORDS} / ${DEAD_LETTER_MAX})`);
        }
        return { maps: maps.expired.length, inbound: inbound.expired.length, origins: origins.expired.length, avatars: avatars.expired.length, deadLetters: overflow.length };
    }

    public async deadLetter(entry: OutboxEntry, reason: string, persistence: IPersistence): Promise<void> {
        const letter: DeadLetter = { id: entry.id, entry: { ...entry, claimedBy: undefined, claimedUntil: undefined }, reason, deadAt: Date.now() };
        await saveDeadLetter(persistence, letter);
        this.counters.count(entry.targetKey, entry.instance, 'deadLettered', reason);
        this.logger().error(`gave up ${entry.event} ${entry.message.id} → ${entry.instance}: ${reason}`);
    }

    private async scheduleAt(at: number, modify: IModify): Promise<void> {
        const now = Date.now();
        // One pending wake-up is enough unless this one is earlier.
        if (this.scheduledFor > now && this.scheduledFor <= at) {
            return;
        }
        this.scheduledFor = Math.max(at, now);
        await modify.getScheduler().scheduleOnce({ id: OUTBOX_PROCESSOR_ID, when: new Date(this.scheduledFor) });
    }
}

/** Records older than `maxAgeMs`, and the oldest beyond ID_MAP_MAX_RECORDS. */
function expired<T extends { createdAt: string }>(records: T[], maxAgeMs = ID_MAP_MAX_AGE_MS): { expired: T[]; overCap: boolean } {
    const now = Date.now();
    const sorted = records.slice().sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
    return {
        expired: sorted.filter((r, i) => now - Date.parse(r.createdAt) > maxAgeMs || sorted.length - i > ID_MAP_MAX_RECORDS),
        overCap: sorted.length > ID_MAP_MAX_RECORDS,
    };
}
