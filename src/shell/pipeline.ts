import { IHttp, ILogger, IModify, IPersistence, IPersistenceRead, IRead } from '@rocket.chat/apps-engine/definition/accessors';

import { RelayInstance } from '../core/config';
import { CLAIM_MARGIN_MS, claimedByOther, claimLeaseMs, DeadLetter, dueQueues, mayGoAhead, nextSequence, nextWakeUp, ORDER_SETTLE_MS, orderSettledAt, OutboxEntry, queuesByTarget, targetHash } from '../core/outbox';
import { RelayMessage } from '../core/message';
import { mergePace, PaceState } from '../core/pacing';
import { ActiveConfig, DeliveryPlan } from '../core/relay';
import { afterFailure } from '../core/retry';
import { OutboundFile } from '../core/adapter';
import { ConfigStore, CurrentSettings } from './configStore';
import { attemptDelivery, AttemptResult, DestinationPace, fileRulesOf, HoldLost, loadFiles } from './delivery';
import { hostedAvatarFor } from './hostedAvatar';
import { DEFAULT_TIMEOUT_MS } from './httpExecutor';
import { expireRecords, MAINTENANCE_EVERY_MS } from './upkeep';
import { DeliveryCounters } from './records/counters';
import { listPaceHolds, readPace, removePaceHold, savePace, savePaceHold } from './records/pace';
import { MessageMapRecord, readMessageMap, removeMessageMap, saveRemoteIds } from './records/messageMap';
import { listDestination, listOutbox, rekeyOutboxEntry, removeDeadLetter, removeOutboxEntry, saveDeadLetter, saveOutboxEntry, updateOutboxEntry } from './records/outbox';
import { listRuntimePresence, removeRuntimePresence, saveRuntimePresence } from './records/presence';
import { SharedRead, SharedReadResult } from './sharedRead';

export const OUTBOX_PROCESSOR_ID = 'relay-bridge-outbox';

/**
 * Between writing a claim and reading it back: longer than a write takes to land, so a racing
 * claim shows. A claim is trusted only if it was written within this long of the read it was
 * based on (see `claimsInDoubt`).
 */
const SETTLE_MS = 250;

/** A hold or claim this close to its end counts as run out: another instance's clock may be that much ahead. */
function runsOut(until: number): boolean {
    return until - Date.now() <= SETTLE_MS;
}

/**
 * Storage refused to renew a hold or claim before a request: the request still goes if the lease
 * outlasts it (the renewal starts a timeout and its margin before the end), else the attempt
 * stops there (HoldLost).
 */
function refusedRenewal(until: number, timeoutMs: number, e: unknown): void {
    if (runsOut(until - timeoutMs)) {
        throw new HoldLost(`could not renew this delivery's hold before the request (${e instanceof Error ? e.message : String(e)})`);
    }
}

/**
 * How long before a destination's oldest entry has settled (ORDER_SETTLE_MS) the job takes up the
 * destination: taking its hold (a write, SETTLE_MS, a read) overlaps the order wait, and the
 * backlog is read once the entry has settled. Before, the first request of a burst through two
 * instances left after both (issue 18, Matrix one room: 1.29 s after the first post).
 */
const HOLD_LEAD_MS = SETTLE_MS + 50;
/** How often the job looks again while another instance holds a destination's oldest entry. */
const CONTENDED_POLL_MS = 1000;
/**
 * Longest wait for a destination's rate budget inside an attempt; a longer one (Telegram's 20 a
 * minute in a group) leaves the delivery to the backlog, due when the budget allows.
 */
const PACE_INLINE_MAX_MS = 3000;
/**
 * A job run starts no delivery after this long: the engine gives a job call 30 s (the local host
 * 10 s), and a destination paced at one message a second would otherwise hold the run for minutes.
 * The run then hands over to the next one, scheduled at once.
 */
const JOB_RUN_BUDGET_MS = 5000;
/**
 * How long a wake-up that is due counts as pending: it runs on this instance at once unless a run
 * is in progress here (that run goes round again), or on another one; past this, ask again.
 */
const WAKE_UP_GRACE_MS = 1000;
/** How long after a written-ahead claim runs out the job looks for it (claimed entries may be renewed meanwhile). */
const CLAIM_WAKE_UP_SLACK_MS = 1000;
/** How long a removed entry is remembered: longer than any job run's outbox read takes to be used. */
const GONE_KEEP_MS = 60000;
/**
 * How long after a line here found another runtime's entry ahead of its own (or a budget the job
 * holds) new deliveries to that destination go straight to its backlog: written unclaimed, for
 * the job, with no wait, read or release of their own (`contended`).
 */
const CONTENDED_KEEP_MS = 10000;

/** A runtime that handled a message event counts as present this long (renewed at most every PRESENCE_RENEW_MS while it handles events). */
const PRESENCE_LEASE_MS = 10 * 60 * 1000;
const PRESENCE_RENEW_MS = 60 * 1000;
/** How stale this runtime's view of the others may get while it handles events (one read at most this often). */
const PRESENCE_READ_MS = 1000;

const sleep = (ms: number) => (ms > 0 ? new Promise<void>((resolve) => setTimeout(resolve, ms)) : Promise.resolve());

export interface PipelineAccess {
    read: IRead;
    http: IHttp;
    persistence: IPersistence;
    modify: IModify;
    logger: ILogger;
}

/** One destination's line in this runtime: deliveries in flight and those waiting for a slot, in arrival order. */
interface Line {
    /** The destination (its target key). */
    key: string;
    inFlight: number;
    waiting: Array<() => void>;
    /** Entries this line holds, in arrival order (written ahead, waiting, in flight, or delivered and not yet removed). */
    ids: Map<string, OutboxEntry>;
    /** Entries this line delivered and let go: a backlog read from before their removal still lists them. */
    passed: Set<string>;
    /** An entry of this line was left to the backlog: everything behind it waits there too. */
    blocked: boolean;
    /** Reads of the destination's backlog (one at a time; a read serves every entry settled when it started). */
    backlog: SharedRead<OutboxEntry[]>;
    /** Claim renewals of waiting entries, by entry id (renewSuccessor): an entry starts once its renewal has landed. */
    renewals: Map<string, Promise<void>>;
    /** Entries whose turn has come: no renewal may land on what their attempt stores. */
    started: Set<string>;
}

/**
 * A delivery's backlog read after its write (`alone`: no other runtime was present; `straight`:
 * written for the job, not read; `unread`: released to the job with no read, its stored budget
 * not merged either).
 */
interface BacklogCheck {
    entries: OutboxEntry[];
    mark: number;
    alone: boolean;
    straight?: boolean;
    unread?: boolean;
}

/**
 * What became of one delivery. `sent`: delivered, entry still stored until its remote ids are.
 * `left`: waits in the backlog (`lost`: its hold ran out, and this runtime writes nothing more of
 * it, not even the budget). `done`: entry removed (nothing to do, or dead-lettered).
 */
type Outcome = { kind: 'sent'; remoteIds: string[] } | { kind: 'left'; lost?: boolean } | { kind: 'done' };

/** What an attempt needs besides the entry. */
interface RunContext {
    active?: ActiveConfig;
    settings: CurrentSettings;
    files: Map<string, OutboundFile>;
    acc: PipelineAccess;
    /** The message's id map as read when the event was planned (its lines may have been written since). */
    existing?: MessageMapRecord;
    parent?: MessageMapRecord;
    /** The job's hold on the destination (holdBudget), renewed before each request instead of the entry's claim. */
    hold?: { key: string; timeoutMs: number };
}

/**
 * The one delivery pipeline. Every delivery — a message event, the backlog job, an admin's
 * dead-letter retry, `/relay test` — is built, attempted and decided here (`attempt`), so the same
 * failure gets the same treatment on every path: retryable → stays in the destination's backlog
 * with a retry time; not retryable or past the horizon → dead letter.
 *
 * Nothing accepted is lost: a delivery is written to its destination's backlog (claimed by this
 * runtime) before it waits or is attempted, and removed only after its remote ids are stored. If
 * the runtime dies, the claim runs out and the job — on any instance — delivers it. The job of
 * one runtime at a time works a destination's backlog: it holds the destination (holdBudget).
 *
 * Order per destination, across instances: entries are numbered by their event's own time (the
 * message's creation or edit time; a delete's arrival), the same on every instance. Once its event
 * is ORDER_SETTLE_MS old — every older entry of any instance has landed by then — a delivery reads
 * its destination's backlog and goes ahead only when every older entry is held by this runtime's
 * line for that destination. Otherwise it is released to the backlog, which the job works strictly
 * in order, and everything behind it in the line follows. The wait runs from the submission, for
 * all of a line's deliveries at once, and one read serves every delivery settled when it started.
 * A runtime that sees no other runtime present (none handled an event within PRESENCE_LEASE_MS)
 * does not wait: it checks right after its write, as one instance alone needs no more.
 */
export class DeliveryPipeline {
    /** Identifies this runtime in claims and counter records. */
    public readonly runtimeId = `rt-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    public readonly counters = new DeliveryCounters(this.runtimeId);
    private readonly lines = new Map<string, Line>();
    /** Entry ids held by this runtime's lines: the job leaves those destinations to them. */
    private readonly held = new Set<string>();
    /** Remote ids this runtime got and has not stored yet (message id → destination → ids), for an edit right behind its send. */
    private readonly fresh = new Map<string, Record<string, string[]>>();
    /** Message id → this runtime's events of it not yet stored: its fresh ids stay until the last is (an edit's call must not drop what its send's call still has to store). */
    private readonly freshHolds = new Map<string, number>();
    /** Each destination's rate budget as its last answers left it (core/pacing.ts), shared by its deliveries here. */
    private readonly paces = new Map<string, DestinationPace>();
    /** The same budgets by where they are kept (one per account where the service counts per account). */
    private readonly pacesByKey = new Map<string, DestinationPace>();
    /** Destinations (or budgets several share) this runtime's job holds now (holdBudget), by budget key. */
    private readonly budgetHolds = new Map<string, { since: number; until: number }>();
    /** Holds being taken, by budget key: a run's destinations of one account ask once. */
    private readonly holding = new Map<string, Promise<boolean>>();
    /** Message id → the job's store of its last delivered entry (ids, then removal), still running. */
    private readonly storingIds = new Map<string, Promise<void>>();
    /**
     * Destinations whose backlog this runtime read while alone and found holding no older entry
     * but its line's: later deliveries there skip the read. Alone, only this runtime writes
     * entries, and each way it leaves one behind (a release, a retry, an interrupted delivery, the
     * job finding work, an admin's dead-letter retry) invalidates. What another instance's admin
     * retries while this one believes itself alone is not seen (docs/RELIABILITY.md).
     */
    private readonly clean = new Set<string>();
    private invalidations = 0;
    /** Entries this runtime removed lately (removeEntry), by id → when. */
    private readonly gone = new Map<string, number>();
    /**
     * Entries this runtime claimed more than SETTLE_MS after the read that showed them free, by id
     * → the claim's end. Such a claim may have landed after another runtime read its own claim back
     * and went ahead: this runtime neither delivers nor releases them (a release could clear the
     * other's claim) and treats them as another's until the claim runs out (seen past saturation
     * with two instances: a job run's claims landed 0.9 s after its outbox read, over claims
     * another instance had confirmed, and 35 messages were delivered twice). Only a line's
     * `reclaim` claims so now: the job holds a destination instead (holdBudget), and a hold
     * written that late is given up at once.
     */
    private readonly claimsInDoubt = new Map<string, number>();
    /** Entries whose write-ahead failed: delivered anyway, they protect no successor's claim. */
    private readonly notStored = new Set<string>();
    /**
     * Destinations whose deliveries go straight to the backlog until the time given (see
     * CONTENDED_KEEP_MS). With each room's messages handled by two instances in turn, every line
     * delivery found the other's entry ahead and was released: a write, a wait, a backlog read and
     * a second write each, all for the job (bench section 8). Only a shortcut: a delivery that
     * finds contention the long way sets it again, and a lapsed one costs one round of that.
     */
    private readonly contended = new Map<string, number>();
    private running = false;
    private rerun = false;
    /** While a run works its destinations: looks again at those a line here let go (letGoHere), and starts those due. */
    private joinRun?: () => void;
    /** Destinations a line here let an entry go to since the job last took them up. */
    private readonly letGoHere = new Set<string>();
    /** When the current job run began (JOB_RUN_BUDGET_MS). */
    private runStartedAt = 0;
    private scheduledFor = 0;
    private maintainedAt = 0;
    private announcedAt = 0;
    /** Reads of the presence records (whether others are about), shared by concurrent deliveries. */
    private presence = new SharedRead<boolean>();
    /** This runtime's presence record being written: entries are written after it (see `announce`). */
    private announcing: Promise<void> = Promise.resolve();

    constructor(private readonly configStore: ConfigStore, private readonly logger: () => ILogger) {}

    /** Forgets in-memory state: after a re-enable, persistence is the only truth (held entries go to the job). */
    public reset(): void {
        this.running = false;
        this.rerun = false;
        this.scheduledFor = 0;
        this.lines.clear();
        this.letGoHere.clear();
        this.held.clear();
        this.fresh.clear();
        this.freshHolds.clear();
        this.paces.clear();
        this.pacesByKey.clear();
        this.storingIds.clear();
        this.budgetHolds.clear();
        this.holding.clear();
        this.clean.clear();
        this.notStored.clear();
        this.contended.clear();
        this.claimsInDoubt.clear();
        this.invalidations += 1;
        this.announcedAt = 0;
        this.presence.clear();
    }

    /**
     * Records that this runtime handles message events (a write at most every
     * PRESENCE_RENEW_MS). Resolves once the record is written: this runtime's entries are written
     * after it, so a runtime that reads the presence records after another's entry landed sees
     * that runtime (the check that lets a lone runtime skip its backlog read relies on it).
     */
    private announce(acc: PipelineAccess): Promise<void> {
        const now = Date.now();
        if (now - this.announcedAt >= PRESENCE_RENEW_MS) {
            this.announcedAt = now;
            this.announcing = saveRuntimePresence(acc.persistence, { runtimeId: this.runtimeId, until: now + PRESENCE_LEASE_MS }).catch(() => {
                this.announcedAt = 0;
            });
        }
        return this.announcing;
    }

    /**
     * Whether other runtimes handled message events lately, as read at `since` or later (default:
     * a read at most PRESENCE_READ_MS old). Unknown (storage failed) counts as present.
     */
    private othersPresent(acc: PipelineAccess, since = Date.now() - PRESENCE_READ_MS): Promise<boolean> {
        return this.presence.get(since, () =>
            listRuntimePresence(acc.read.getPersistenceReader()).then(
                async (all) => {
                    const at = Date.now();
                    const gone = all.filter((p) => p.until < at && p.runtimeId !== this.runtimeId);
                    await Promise.all(gone.map((p) => removeRuntimePresence(acc.persistence, p.runtimeId))).catch(() => undefined);
                    return all.some((p) => p.runtimeId !== this.runtimeId && p.until >= at);
                },
                () => true,
            ),
        ).result;
    }

    /** A new entry for a delivery of an event at `at` (default now), claimed by this runtime when `claimFor` (its request timeout) is given. */
    public newEntry(fields: Pick<OutboxEntry, 'targetKey' | 'instance' | 'channel' | 'event' | 'message' | 'rendered'> & Partial<OutboxEntry>, claimFor?: number, at?: number): OutboxEntry {
        const now = Date.now();
        const seq = nextSequence(at !== undefined ? at : now);
        return {
            // The runtime in the id: two instances may number events of one millisecond alike.
            id: `${targetHash(fields.targetKey)}-${seq}-${this.runtimeId.slice(-6)}`,
            seq,
            partsDone: 0,
            remoteIds: [],
            attempts: 0,
            firstAttemptAt: now,
            nextAttemptAt: now,
            ...fields,
            ...(claimFor !== undefined ? { claimedBy: this.runtimeId, claimedUntil: now + claimLeaseMs(claimFor) } : {}),
        };
    }

    /**
     * The message event (`at`: its time, see `eventTime` in outbound.ts): one delivery per plan.
     * Must be called in arrival order; it takes the deliveries' places in their lines before it
     * returns (synchronously), then runs them.
     */
    public submit(plans: DeliveryPlan[], message: RelayMessage, at: number, existing: MessageMapRecord | undefined, parent: MessageMapRecord | undefined, settings: CurrentSettings, acc: PipelineAccess): Promise<void> {
        const ctx: RunContext = { active: settings.active, settings, files: new Map(), acc, existing, parent };
        const entries = plans
            .filter((plan) => message.event === 'sent' || plan.instance.trackEdits) // track_edits: false → new messages only
            .map((plan) =>
                this.newEntry(
                    { targetKey: plan.key, instance: plan.instance.name, channel: plan.channel, event: message.event, message, rendered: plan.rendered },
                    this.isContended(plan.key) ? undefined : plan.instance.timeoutMs || DEFAULT_TIMEOUT_MS,
                    at,
                ),
            );
        const announced = entries.length > 0 ? this.announce(acc) : Promise.resolve();
        this.freshHolds.set(message.id, (this.freshHolds.get(message.id) || 0) + 1);
        const runs = entries.map((entry, i) => {
            const line = this.lineFor(entry.targetKey);
            line.ids.set(entry.id, entry);
            this.held.add(entry.id);
            const reader = acc.read.getPersistenceReader();
            // Written ahead, before the delivery waits: a killed runtime leaves it to the job. The
            // backlog is read once every older entry of any instance has landed (its settle time;
            // with no other runtime present, right after the write).
            // Alone, a destination whose backlog this runtime read and found holding nothing of
            // anyone else's needs no second read: nothing but this runtime writes older entries
            // (see `clean`). Under sustained overload each read returned the whole written-ahead
            // line (bench section 6). "Alone" as read after the write: another runtime records
            // its presence before its first entry, so one whose older entry landed first is seen.
            const timeoutMs = plans[i].instance.timeoutMs || DEFAULT_TIMEOUT_MS;
            const straight = !entry.claimedBy; // a contended destination: the entry is the job's from its write
            let written = false;
            const checked: Promise<BacklogCheck | undefined> = announced
                .then(() => saveOutboxEntry(acc.persistence, entry))
                .then(async () => {
                    written = true;
                    if (straight) {
                        return { entries: [], mark: -1, alone: false, straight };
                    }
                    this.wakeUpAfterClaim(entry, acc.modify);
                    const writtenAt = Date.now();
                    let shared = await this.othersPresent(acc);
                    // Skipping the read needs a view of who is about from after this write (the one above may be a second old).
                    if (!shared && this.clean.has(entry.targetKey) && !(shared = await this.othersPresent(acc, writtenAt))) {
                        return undefined;
                    }
                    this.clean.delete(entry.targetKey); // others about: what they wrote must be read again once alone
                    const budget = shared ? this.rateLimited(entry, plans[i].instance) : undefined;
                    if (budget && budget.key !== entry.targetKey) {
                        // A budget several destinations share is the job's to spend (see sharedBudget below): handed over
                        // now, not after the order wait and a read (the job takes its hold meanwhile, HOLD_LEAD_MS).
                        return { entries: [], mark: -1, alone: false, unread: true };
                    }
                    const since = shared ? orderSettledAt(entry) : Date.now();
                    await sleep(since - Date.now());
                    if (line.blocked) {
                        // Its turn releases it to the backlog whatever a read shows: no read (two instances, each
                        // room's messages through both: every read returned the whole backlog, 73 entries per message).
                        return { entries: [], mark: -1, alone: false, unread: true };
                    }
                    // With other runtimes about, the destination's last sends may have been theirs: their budget comes along.
                    // Its mark: `invalidations` when the read started — one older than an invalidation proves nothing clean.
                    const read = this.readBacklog(line, since, reader, entry.targetKey, shared ? this.rateLimited(entry, plans[i].instance) : undefined);
                    return { entries: await read.result, mark: read.mark, alone: !shared };
                })
                .catch((e) => {
                    // Storage refused: deliver anyway (in order within this runtime) rather than drop it.
                    // Written, and only the backlog's read refused: stored and claimed as any entry.
                    if (!written) {
                        this.notStored.add(entry.id);
                    }
                    if (straight) {
                        Object.assign(entry, { claimedBy: this.runtimeId, claimedUntil: Date.now() + claimLeaseMs(timeoutMs) }); // held here, as a line's entry
                    }
                    this.invalidate(entry.targetKey);
                    acc.logger.warn(`delivery ${message.event} ${message.id} → ${entry.instance} ${written ? 'written ahead, its backlog not read' : 'not written ahead'}: ${e instanceof Error ? e.message : String(e)}`);
                    return { entries: [], mark: -1, alone: false };
                });
            return this.inLine(line, plans[i].instance.maxInFlight || 1, async (): Promise<Outcome> => {
                const check = await checked;
                const renewal = line.renewals.get(entry.id);
                line.started.add(entry.id); // from here on no renewal starts (several in flight): none may land on what this attempt stores
                await renewal;
                line.renewals.delete(entry.id);
                if (check && check.straight) {
                    // Stored for the job: nothing behind it in this line may overtake it.
                    this.block(line);
                    await this.release(entry, acc, true);
                    return { kind: 'left' };
                }
                const foreign = check !== undefined && !mayGoAhead(entry, check.entries, (id) => line.ids.has(id) || line.passed.has(id));
                // With another instance about, a budget several destinations share (one Matrix
                // account's rooms) is spent by the one job that holds it: lines on two instances
                // each spent it from their own view (declared Matrix limit, 3 rooms × 20: a 429
                // in the first burst, 4 ms after the other instance's send).
                const pace = this.rateLimited(entry, plans[i].instance);
                const sharedBudget = check !== undefined && !check.alone && pace !== undefined && pace.key !== entry.targetKey;
                if ((foreign || sharedBudget) && check && !check.alone) {
                    // Another instance's entries ahead (alone, a foreign entry is a retry here: its line resumes once it is delivered).
                    this.contended.set(entry.targetKey, Date.now() + CONTENDED_KEEP_MS);
                }
                if (line.blocked || foreign || sharedBudget) {
                    this.block(line); // newer deliveries in this line must not overtake it
                    await this.release(entry, acc, false, !(check && check.unread));
                    return { kind: 'left' };
                }
                if (check && check.alone && check.mark === this.invalidations) {
                    this.clean.add(entry.targetKey);
                }
                if (runsOut(entry.claimedUntil || 0) && !(await this.reclaim(entry, timeoutMs, this.paceOf(entry, plans[i].instance).key, acc))) {
                    // Waited in line past its lease (its predecessor could not renew it) and another instance's job took it meanwhile.
                    this.block(line);
                    this.letGo(entry);
                    return { kind: 'left' };
                }
                const renewing = this.renewSuccessor(line, entry, timeoutMs, acc);
                try {
                    if ((check ? check.entries.length : line.ids.size) > settings.limits.maxOutboxEntries) {
                        await this.deadLetter(entry, `the destination's backlog is full (${settings.limits.maxOutboxEntries} entries); raise "Outbox size" or fix the target`, acc.persistence);
                        return { kind: 'done' };
                    }
                    const outcome = await this.attempt(entry, ctx);
                    if (outcome.kind === 'left') {
                        this.block(line); // waits for its retry in the backlog: the rest of the line follows it there
                        this.letGo(entry);
                    }
                    return outcome;
                } finally {
                    await renewing;
                }
            }).then(
                (outcome) => ({ entry, outcome }),
                (e) => {
                    // Not recorded or not decided: whatever is stored stays for the job, and the rest of the line follows it there.
                    this.block(line);
                    acc.logger.error(`delivery ${message.event} ${message.id} → ${entry.instance} interrupted, left to the backlog: ${e instanceof Error ? e.message : String(e)}`);
                    return { entry, outcome: { kind: 'left' } as Outcome };
                },
            );
        });
        return (async () => {
            const results = await Promise.all(runs);
            try {
                await this.storeIds(message, results, existing, acc);
                // Counters before the entries go: whoever sees the backlog empty sees the counts.
                await this.counters.flush(acc.persistence);
                if (await this.othersPresent(acc)) {
                    // And the budget those sends used: the next delivery may be another runtime's.
                    const keys = new Set(results.filter((r) => r.outcome.kind === 'sent').map((r) => r.entry.targetKey));
                    await Promise.all([...keys].map((key) => this.sharePace(key, acc.persistence)));
                }
                await Promise.all(results.filter((r) => r.outcome.kind === 'sent').map((r) => this.removeEntry(r.entry, acc.persistence)));
            } finally {
                this.releaseFresh(message.id);
                results.forEach((r) => (this.letGo(r.entry), this.notStored.delete(r.entry.id)));
            }
        })();
    }

    /** `/relay test`: the same job and attempt as a relay, nothing stored, counted or retried. */
    public async tryOut(plan: DeliveryPlan, message: RelayMessage, active: ActiveConfig, access: Omit<PipelineAccess, 'logger'>): Promise<AttemptResult> {
        const acc = { ...access, logger: this.logger() };
        const entry = this.newEntry({ targetKey: plan.key, instance: plan.instance.name, channel: plan.channel, event: 'sent', message, rendered: plan.rendered });
        return this.run(entry, plan.instance, [], undefined, { active, settings: await this.configStore.current(acc.read), files: new Map(), acc }, false);
    }

    /**
     * The one place a delivery is attempted and decided: builds the job (ids from what this
     * runtime just sent, the planning-time map or persistence), attempts, and on failure either
     * keeps the entry for a retry or dead-letters it. On success the entry stays until the
     * caller has stored the remote ids.
     */
    private async attempt(entry: OutboxEntry, ctx: RunContext): Promise<Outcome> {
        const { acc } = ctx;
        const instance = ctx.active && ctx.active.config.instances.get(entry.instance);
        if (!instance || !instance.adapter) {
            await this.deadLetter(entry, `instance "${entry.instance}" is no longer in the relay configuration`, acc.persistence);
            return { kind: 'done' };
        }
        const existingIds = entry.event === 'sent' ? [] : await this.idsOf(entry.message.id, entry.targetKey, ctx.existing, acc);
        if (entry.event !== 'sent' && existingIds.length === 0) {
            // The original never reached this destination (dead-lettered or dropped): nothing to edit or delete.
            await this.removeEntry(entry, acc.persistence);
            return { kind: 'done' };
        }
        const parentIds = entry.message.threadId ? await this.idsOf(entry.message.threadId, entry.targetKey, ctx.parent, acc) : [];
        const result = await this.run(entry, instance, existingIds, parentIds[0], ctx, true);
        if (result.ok) {
            this.counters.count(entry.targetKey, entry.instance, 'sent');
            const remoteIds = instance.trackEdits ? result.remoteIds : [];
            // What the message's ids at this destination now are (an edit may answer with none: they stay).
            if (entry.event === 'deleted' || remoteIds.length > 0) {
                const fresh = this.fresh.get(entry.message.id) || {};
                fresh[entry.targetKey] = entry.event === 'deleted' ? [] : remoteIds;
                this.fresh.set(entry.message.id, fresh);
            }
            return { kind: 'sent', remoteIds };
        }
        if (result.holdLost) {
            // Not ours any more: the entry stays as stored, for whoever holds it now, or for this
            // runtime's job once its own claim has run out. Nothing counted, nothing written (parts
            // it sent go again: progress written now could land over the new holder's).
            acc.logger.warn(`${entry.event} ${entry.message.id} → ${entry.instance}: ${result.error}; left to the backlog`);
            this.invalidate(entry.targetKey);
            await this.scheduleAt(Math.max(Date.now() + SETTLE_MS, entry.claimedUntil || 0), acc.modify);
            return { kind: 'left', lost: true };
        }
        if (result.paced) {
            // Not a failure: the service's budget is spent. Due again when it allows, nothing counted.
            const at = Date.now() + (result.retryAfterMs || 0);
            this.invalidate(entry.targetKey);
            await this.sharePace(entry.targetKey, acc.persistence); // the job that sends it may run elsewhere
            await saveOutboxEntry(acc.persistence, { ...entry, partsDone: result.partsDone, remoteIds: result.remoteIds, carried: result.carried, nextAttemptAt: at, claimedBy: undefined, claimedUntil: undefined });
            await this.scheduleAt(at, acc.modify);
            return { kind: 'left' };
        }
        const what = `${entry.event} ${entry.message.id} → ${entry.instance} ${result.error}`;
        const now = Date.now();
        const attempts = entry.attempts + 1;
        const decision = afterFailure(result, attempts, entry.firstAttemptAt, now, ctx.settings.policy);
        const updated: OutboxEntry = { ...entry, attempts, partsDone: result.partsDone, remoteIds: result.remoteIds, carried: result.carried, lastError: result.error, claimedBy: undefined, claimedUntil: undefined };
        if (decision.action === 'retry') {
            acc.logger.warn(`${what}; retrying`);
            this.counters.count(entry.targetKey, entry.instance, 'retried', result.error);
            this.invalidate(entry.targetKey);
            await this.sharePace(entry.targetKey, acc.persistence); // what a 429 said (its wait, a learned spacing) holds wherever the retry runs
            // Stays in the backlog, older than what follows: every line that reads it queues behind it.
            await saveOutboxEntry(acc.persistence, { ...updated, nextAttemptAt: decision.at });
            await this.scheduleAt(decision.at, acc.modify);
            return { kind: 'left' };
        }
        if (!result.retryable) {
            this.counters.count(entry.targetKey, entry.instance, 'failed', result.error);
        }
        await this.deadLetter(updated, `${decision.reason}; last error ${result.error}`, acc.persistence);
        return { kind: 'done' };
    }

    /** Builds the job and runs its requests; `claimed`: the entry's claim (or the job's hold, `ctx.hold`) is renewed before a request when it runs short. */
    private async run(entry: OutboxEntry, instance: NonNullable<ReturnType<ActiveConfig['config']['instances']['get']>>, existingIds: string[], parentId: string | undefined, ctx: RunContext, claimed: boolean): Promise<AttemptResult> {
        const { acc } = ctx;
        const adapter = instance.adapter!;
        const timeoutMs = instance.timeoutMs || DEFAULT_TIMEOUT_MS;
        let current = entry;
        const pace = this.paceOf(entry, instance);
        const result = await attemptDelivery(
            {
                instance: entry.instance,
                adapter,
                config: instance.adapterConfig,
                channel: entry.channel,
                message: entry.message,
                rendered: entry.rendered,
                partsDone: entry.partsDone,
                remoteIds: entry.remoteIds,
                carried: entry.carried || {},
                existingIds,
                parentId,
                files: await loadFiles(entry.message, instance, acc.read, acc.logger, ctx.files, fileRulesOf(ctx.settings.limits.maxFileSize, ctx.settings.server)),
                hostedAvatarUrl: entry.event === 'deleted' ? undefined : await hostedAvatarFor(adapter, instance.adapterConfig, entry.rendered, ctx.active!, acc),
                timeoutMs: instance.timeoutMs,
                guard: ctx.active!,
                sessions: { read: acc.read, persistence: acc.persistence },
                // An entry storage refused is seen by no other runtime: nothing to keep.
                beforeRequest: !claimed || this.notStored.has(entry.id)
                    ? undefined
                    : ctx.hold
                      ? () => this.keepHold(ctx.hold!, acc)
                      : async () => {
                            current = await this.extendClaim(current, timeoutMs, acc.persistence);
                        },
                pace,
            },
            acc.http,
        );
        return result;
    }

    /**
     * Stores a destination's budget for the runtime that works it next, when there is something
     * to pass on: a service that states limits, or a wait still to come.
     */
    private async sharePace(targetKey: string, persistence: IPersistence): Promise<void> {
        const pace = this.paces.get(targetKey);
        const state = pace && pace.state;
        if (state && (pace!.limits.length > 0 || (pace!.passOnSends && state.lastSentAt !== undefined) || state.learnedGapMs || state.notBefore > Date.now() || state.recent.length > 0)) {
            await savePace(persistence, pace!.key, state);
        }
    }

    /**
     * Another runtime's view of a budget, merged into this one's as it is now. Never
     * `pace.state = mergePace(pace.state, await …)`: that reads the state before the await and
     * drops a send noted during it (two instances, Telegram 3 rooms × 20: a request 316 ms after
     * the previous one, answered 429).
     */
    private mergeStoredPace(pace: DestinationPace, stored: PaceState | undefined): void {
        pace.state = mergePace(pace.state, stored);
    }

    /** The destination's pace when its service has limits to keep (published or learned), else undefined. */
    private rateLimited(entry: OutboxEntry, instance: RelayInstance): DestinationPace | undefined {
        return instance.adapter && instance.adapter.rateLimits ? this.paceOf(entry, instance) : undefined;
    }

    private paceOf(entry: OutboxEntry, instance: RelayInstance): DestinationPace {
        const rateLimits = instance.adapter && instance.adapter.rateLimits;
        const limits = rateLimits && rateLimits.published ? rateLimits.published(instance.adapterConfig, entry.channel) : [];
        const key = (rateLimits && rateLimits.sharedBy && rateLimits.sharedBy(instance.adapterConfig)) || entry.targetKey;
        let pace = this.paces.get(entry.targetKey);
        if (!pace || pace.key !== key) {
            pace = this.pacesByKey.get(key) || { key, limits, maxWaitMs: PACE_INLINE_MAX_MS };
            this.pacesByKey.set(key, pace);
            this.paces.set(entry.targetKey, pace);
        }
        pace.limits = limits; // the configuration may have changed
        pace.passOnSends = !!rateLimits;
        pace.oneAtATime = !!(rateLimits && rateLimits.learnedFrom429) && limits.length === 0;
        return pace;
    }

    /** Keeps the claim longer than the next request can take (write only when it runs short). */
    private async extendClaim(entry: OutboxEntry, timeoutMs: number, persistence: IPersistence): Promise<OutboxEntry> {
        const now = Date.now();
        if (entry.claimedUntil !== undefined && runsOut(entry.claimedUntil)) {
            // Ran out: another runtime's job may have taken the entry (reclaim, a hold); rewritten, both would send it.
            throw new HoldLost("this delivery's claim ran out before the request");
        }
        if ((entry.claimedUntil || 0) - now >= timeoutMs + CLAIM_MARGIN_MS) {
            return entry;
        }
        const extended = { ...entry, claimedBy: this.runtimeId, claimedUntil: now + claimLeaseMs(timeoutMs) };
        try {
            await updateOutboxEntry(persistence, extended);
        } catch (e) {
            refusedRenewal(entry.claimedUntil || 0, timeoutMs, e);
            return entry;
        }
        return extended;
    }

    /**
     * Whether claims just written came too late after the read they were based on (SETTLE_MS or
     * more): another runtime's claim, written after that read, may have been read back and
     * confirmed before these landed over it. Those entries are left alone until their claim ends.
     */
    private inDoubt(claimed: OutboxEntry[], readAt: number): boolean {
        const now = Date.now();
        if (now - readAt < SETTLE_MS) {
            return false;
        }
        for (const [id, until] of this.claimsInDoubt) {
            if (until <= now) {
                this.claimsInDoubt.delete(id);
            }
        }
        claimed.forEach((entry) => this.claimsInDoubt.set(entry.id, entry.claimedUntil || 0));
        this.logger().debug(`${claimed.length} claim(s) written ${now - readAt} ms after their read: left alone until they run out`);
        return true;
    }

    /** A claim of this runtime's left alone until it runs out (claimsInDoubt). */
    private doubted(id: string): boolean {
        const until = this.claimsInDoubt.get(id);
        if (until === undefined) {
            return false;
        }
        if (until > Date.now()) {
            return true;
        }
        this.claimsInDoubt.delete(id);
        return false;
    }

    /**
     * Claims an entry whose lease ran out again (write, settle, read back); false when another
     * runtime has it, or another runtime's job holds the destination (`budget`: its hold key) and
     * may have taken it (the claim is then given back: the job stops at a claimed entry).
     */
    private async reclaim(entry: OutboxEntry, timeoutMs: number, budget: string, acc: PipelineAccess): Promise<boolean> {
        const reader = acc.read.getPersistenceReader();
        const find = async () => (await listDestination(reader, entry.targetKey)).filter((e) => e.id === entry.id)[0];
        const readAt = Date.now();
        const before = await find();
        if (!before || claimedByOther(before, this.runtimeId, Date.now())) {
            return false;
        }
        const claimed = { ...before, claimedBy: this.runtimeId, claimedUntil: Date.now() + claimLeaseMs(timeoutMs) };
        await updateOutboxEntry(acc.persistence, claimed);
        if (this.inDoubt([claimed], readAt)) {
            return false;
        }
        await sleep(SETTLE_MS);
        const [stored, holds] = await Promise.all([find(), listPaceHolds(reader, budget)]);
        if (!stored || stored.claimedBy !== this.runtimeId) {
            return false;
        }
        if (holds.some((h) => h.runtimeId !== this.runtimeId && h.until >= Date.now())) {
            await updateOutboxEntry(acc.persistence, { ...stored, claimedBy: undefined, claimedUntil: undefined });
            return false;
        }
        entry.claimedUntil = claimed.claimedUntil;
        return true;
    }

    /** A message's remote ids at a destination: just sent here, read at planning, or stored meanwhile. */
    private async idsOf(messageId: string, targetKey: string, planned: MessageMapRecord | undefined, acc: PipelineAccess): Promise<string[]> {
        const fresh = this.fresh.get(messageId);
        if (fresh && fresh[targetKey]) {
            return fresh[targetKey];
        }
        // The job may still be storing them (storeDelivered): the map read below must see them.
        await (this.storingIds.get(messageId) || Promise.resolve()).catch(() => undefined);
        if (planned && planned.messageId === messageId && planned.targets[targetKey]) {
            return planned.targets[targetKey];
        }
        const stored = await readMessageMap(acc.read.getPersistenceReader(), messageId);
        return (stored && stored.targets[targetKey]) || [];
    }

    /**
     * Stores an event's remote ids in one write, no read: a part of the message's id map of its
     * own (records/messageMap.ts) for the destinations this event reached here. `existing` (the
     * map as planned) only spares a write when an edit's answer repeats the ids.
     */
    private async storeIds(message: RelayMessage, results: Array<{ entry: OutboxEntry; outcome: Outcome }>, existing: MessageMapRecord | undefined, acc: PipelineAccess): Promise<void> {
        if (message.event === 'deleted' && results.length > 0 && results.every((r) => r.outcome.kind === 'sent')) {
            // Deleted at every destination here (none left to the job or dead-lettered, whose retry would still need its ids): the map goes.
            await removeMessageMap(acc.persistence, message.id);
            return;
        }
        const targets: Record<string, string[]> = {};
        const at: Record<string, number> = {};
        for (const { entry, outcome } of results) {
            if (outcome.kind !== 'sent') {
                continue;
            }
            const ids = message.event === 'deleted' ? [] : outcome.remoteIds;
            const known = existing && existing.targets[entry.targetKey];
            if (message.event === 'deleted' || (ids.length > 0 && JSON.stringify(known) !== JSON.stringify(ids))) {
                targets[entry.targetKey] = ids;
                at[entry.targetKey] = entry.seq;
            }
        }
        const first = results.filter((r) => targets[r.entry.targetKey] !== undefined)[0];
        if (first) {
            await saveRemoteIds(acc.persistence, message, first.entry.id, targets, at);
        }
    }

    /**
     * Hands an entry this runtime wrote to the backlog job (its claim released). `straight`: it was
     * written unclaimed (a contended destination), so nothing to write. `share`: this runtime's
     * view of the budget goes along (only right after a read merged the stored one: a view that has
     * not seen another instance's last sends would overwrite them).
     */
    private async release(entry: OutboxEntry, acc: PipelineAccess, straight = false, share = !straight): Promise<void> {
        this.invalidate(entry.targetKey);
        this.letGoHere.add(entry.targetKey);
        if (!straight) {
            await saveOutboxEntry(acc.persistence, { ...entry, claimedBy: undefined, claimedUntil: undefined });
        }
        if (share) {
            await this.sharePace(entry.targetKey, acc.persistence); // the job that takes over may run elsewhere
        }
        this.letGo(entry);
        // With others about, not before the job may take the destination up (it reads once the entry has settled).
        const now = Date.now();
        await this.scheduleAt((await this.othersPresent(acc)) ? Math.max(now, orderSettledAt(entry) - HOLD_LEAD_MS) : now, acc.modify);
    }

    /** One event's ids are stored: the message's fresh ids go when no other event of it is still storing. */
    private releaseFresh(messageId: string): void {
        const holds = (this.freshHolds.get(messageId) || 1) - 1;
        if (holds > 0) {
            this.freshHolds.set(messageId, holds);
            return;
        }
        this.freshHolds.delete(messageId);
        this.fresh.delete(messageId);
    }

    private letGo(entry: OutboxEntry): void {
        this.held.delete(entry.id);
        const line = this.lines.get(entry.targetKey);
        if (line) {
            line.started.delete(entry.id);
            line.renewals.delete(entry.id);
        }
        if (line && line.ids.delete(entry.id)) {
            line.passed.add(entry.id);
            this.dropIfIdle(entry.targetKey, line);
        }
    }

    /** The destination's backlog as read at `since` or later (shared by the line's deliveries, see SharedRead). */
    private readBacklog(line: Line, since: number, reader: IPersistenceRead, targetKey: string, pace?: DestinationPace): SharedReadResult<OutboxEntry[]> {
        return line.backlog.get(since, () => {
            const backlog = listDestination(reader, targetKey);
            // The budget after the backlog: what another runtime sent before removing its entries is stored by then.
            // The stored budget is merged into the state as it is once read: a send noted meanwhile stays.
            return pace ? backlog.then(async (entries) => (this.mergeStoredPace(pace, await readPace(reader, pace.key).catch(() => undefined)), entries)) : backlog;
        });
    }

    /**
     * Makes sure the job looks at the backlog once this written-ahead entry's claim has run out:
     * if this runtime dies, nothing else would before the recurring job's next minute (a runtime
     * the engine restarts after a crash gets no onEnable on apps-engine 1.53.1). One pending
     * wake-up covers every later claim, so a busy line asks about once per lease.
     */
    private wakeUpAfterClaim(entry: OutboxEntry, modify: IModify): void {
        if (entry.claimedUntil) {
            this.scheduleAt(entry.claimedUntil + CLAIM_WAKE_UP_SLACK_MS, modify).catch(() => undefined);
        }
    }

    /** Whether new deliveries to the destination go straight to its backlog (`contended`). */
    private isContended(targetKey: string): boolean {
        const until = this.contended.get(targetKey);
        if (until !== undefined && until <= Date.now()) {
            this.contended.delete(targetKey);
        }
        return until !== undefined && until > Date.now();
    }

    /** Something may stand in the destination's backlog that no line here holds: the next delivery reads it. */
    private invalidate(targetKey: string): void {
        this.invalidations += 1;
        this.clean.delete(targetKey);
    }

    /** The line's order cannot be kept from memory any more: its deliveries go to the backlog. */
    private block(line: Line): void {
        line.blocked = true;
        this.invalidate(line.key);
    }

    /**
     * Renews the claim of the delivery next in line while this one — stored, claimed, older — still
     * keeps every job off the destination (the job takes a backlog's oldest entries only, up to
     * the first one claimed by someone else). A delivery waiting longer than its lease (a backlog
     * of minutes under sustained load) then finds its claim valid: no reclaim, which writes, waits
     * SETTLE_MS and reads the whole backlog twice for every delivery (bench section 6).
     */
    private async renewSuccessor(line: Line, entry: OutboxEntry, timeoutMs: number, acc: PipelineAccess): Promise<void> {
        if (this.notStored.has(entry.id)) {
            return;
        }
        let next: OutboxEntry | undefined;
        let after = false;
        for (const [id, waiting] of line.ids) {
            if (after) {
                next = waiting;
                break;
            }
            after = id === entry.id;
        }
        const now = Date.now();
        if (!next || next.claimedBy !== this.runtimeId || this.notStored.has(next.id) || (next.claimedUntil || 0) - now >= timeoutMs + CLAIM_MARGIN_MS) {
            return;
        }
        if (line.renewals.has(next.id) || line.started.has(next.id)) {
            return;
        }
        const until = now + claimLeaseMs(timeoutMs);
        const renewal = updateOutboxEntry(acc.persistence, { ...next, claimedUntil: until }).then(
            () => {
                next!.claimedUntil = until;
                this.wakeUpAfterClaim(next!, acc.modify);
            },
            () => undefined, // not renewed: it reclaims when its turn comes
        );
        line.renewals.set(next.id, renewal);
        await renewal;
    }

    private lineFor(key: string): Line {
        let line = this.lines.get(key);
        if (!line) {
            line = { key, inFlight: 0, waiting: [], ids: new Map(), passed: new Set(), blocked: false, renewals: new Map(), started: new Set(), backlog: new SharedRead(() => this.invalidations) };
            this.lines.set(key, line);
        }
        return line;
    }

    private dropIfIdle(key: string, line: Line): void {
        if (line.inFlight === 0 && line.waiting.length === 0 && line.ids.size === 0 && this.lines.get(key) === line) {
            this.lines.delete(key);
        }
    }

    /**
     * Runs `work` when the line has a free slot (`limit` at a time; 1 = strictly one after
     * another). Entered synchronously in arrival order: a freed slot goes straight to the next
     * waiter, so a later arrival can never overtake.
     */
    private inLine<T>(line: Line, limit: number, work: () => Promise<T>): Promise<T> {
        const turn = line.inFlight >= limit || line.waiting.length > 0 ? new Promise<void>((resolve) => line.waiting.push(resolve)) : ((line.inFlight += 1), Promise.resolve());
        return turn.then(async () => {
            try {
                return await work();
            } finally {
                const next = line.waiting.shift();
                if (next) {
                    next(); // the slot passes on as it is
                } else {
                    line.inFlight -= 1;
                    // A blocked line whose last entry was let go while in flight goes once idle,
                    // and with it the block (a new line checks the backlog before it delivers).
                    // An unblocked one stays until its entries are let go: it remembers what it
                    // delivered (`passed`) for backlog reads from before their removal.
                    if (line.blocked) {
                        this.dropIfIdle(line.key, line);
                    }
                }
            }
        });
    }

    /** The scheduler job: works every destination's backlog that is due, then schedules itself for the next. */
    public async process(read: IRead, modify: IModify, http: IHttp, persistence: IPersistence): Promise<void> {
        if (this.running) {
            this.rerun = true; // a run is in progress in this runtime; it will go round again
            if (this.scheduledFor <= Date.now()) {
                // This is the wake-up asked for, taken up by that run: still noted as pending, it
                // kept a wake-up asked for within its second from being scheduled (scheduleAt), and
                // that work waited for the recurring job, up to a minute.
                this.scheduledFor = 0;
            }
            if (this.joinRun) {
                this.joinRun(); // and what became due (a line let an entry go) need not wait for its slowest destination
            }
            return;
        }
        this.running = true;
        this.scheduledFor = 0; // this is the run a pending wake-up asked for (a later one is asked for again)
        const acc: PipelineAccess = { read, modify, http, persistence, logger: this.logger() };
        this.runStartedAt = Date.now();
        try {
            do {
                this.rerun = false;
                await this.processOnce(acc);
            } while (this.rerun && Date.now() - this.runStartedAt <= JOB_RUN_BUDGET_MS);
            if (Date.now() - this.maintainedAt > MAINTENANCE_EVERY_MS) {
                this.maintainedAt = Date.now();
                await expireRecords(read, persistence, this.logger());
            }
        } finally {
            this.running = false;
            if (!this.rerun) {
                await this.releaseBudgets(persistence); // else the next run, here at once, goes on under them
            }
            await this.counters.flush(persistence).catch(() => undefined);
            if (this.rerun) {
                // Work is left (the run's time is up, or a wake-up came while it ran): the next run, at once.
                this.rerun = false;
                await this.scheduleAt(Date.now(), modify).catch(() => undefined);
            }
        }
    }

    private async processOnce(acc: PipelineAccess): Promise<void> {
        const settings = await this.configStore.current(acc.read);
        const reader = acc.read.getPersistenceReader();
        let entries = (await listOutbox(reader)).filter((e) => !this.gone.has(e.id));
        if (entries.some((e) => !e.keyed)) {
            entries = await Promise.all(entries.map((e) => (e.keyed ? e : rekeyOutboxEntry(acc.persistence, e))));
        }
        const ctx: RunContext = { active: settings.active, settings, files: new Map(), acc };
        const heldHere = (id: string) => this.held.has(id) || this.doubted(id);
        const settleMs = (await this.othersPresent(acc)) ? ORDER_SETTLE_MS : 0;
        const takeUpMs = Math.max(0, settleMs - HOLD_LEAD_MS); // when a destination is taken up (its hold), before its entries settle
        // Destinations are independent: work their backlogs at the same time, each strictly in order.
        const elsewhere = new Set<string>(); // destinations whose shared budget another runtime's job holds
        const working = new Map<string, Promise<void>>();
        const start = (list: OutboxEntry[]) =>
            dueQueues(list, this.runtimeId, Date.now(), heldHere, takeUpMs)
                .map((queue) => queue[0])
                .filter((head) => !working.has(head.targetKey) && !elsewhere.has(head.targetKey))
                .forEach((head) => {
                    const key = head.targetKey;
                    this.letGoHere.delete(key);
                    working.set(key, this.workQueue(head, ctx, settleMs, elsewhere).finally(() => working.delete(key)));
                });
        start(entries);
        // While the run works some destinations, a line here may let an entry go to the backlog
        // (scheduleAt wakes the run), often behind another instance's older entry that its line
        // is still delivering. Those destinations' backlogs are read again every CONTENDED_POLL_MS,
        // as between runs, and each starts once due, not after the run's slowest destination: up
        // to its 5 s before (issue 18, two instances, Telegram 3 rooms × 20: a chat stood 5.3 s,
        // ratio 0.79). Only these: the rest waits for the next run, as another instance's job may
        // be working it.
        let wake: (() => void) | undefined;
        let lookedAt = 0;
        this.joinRun = () => wake && wake();
        try {
            while (working.size > 0) {
                const inTime = () => Date.now() - this.runStartedAt <= JOB_RUN_BUDGET_MS;
                const watched = () => Array.from(this.letGoHere).filter((key) => !working.has(key) && !elsewhere.has(key));
                const woken = new Promise<void>((resolve) => (wake = resolve));
                const done = Promise.all(Array.from(working.values()));
                await Promise.race(inTime() && watched().length > 0 ? [done, woken, sleep(CONTENDED_POLL_MS)] : [done, woken]);
                wake = undefined;
                if (working.size > 0 && inTime() && watched().length > 0) {
                    await sleep(lookedAt + SETTLE_MS - Date.now()); // a burst of wake-ups: one look
                    lookedAt = Date.now();
                    const keys = watched();
                    const backlogs = await Promise.all(keys.map((key) => listDestination(reader, key).catch(() => undefined)));
                    keys.filter((_, k) => backlogs[k] && backlogs[k]!.length === 0).forEach((key) => this.letGoHere.delete(key)); // taken up elsewhere
                    start(([] as OutboxEntry[]).concat(...backlogs.map((b) => b || [])).filter((e) => !this.gone.has(e.id)));
                }
            }
        } finally {
            this.joinRun = undefined;
        }
        const now = Date.now();
        // Claims in doubt stay in: their end is when to look again.
        const waiting = (await listOutbox(reader)).filter((e) => !this.held.has(e.id) && !this.gone.has(e.id) && !elsewhere.has(e.targetKey));
        const next = nextWakeUp(waiting, now, takeUpMs);
        // Another runtime's live claim or hold: look again soon, it may end long before its lease
        // does. Otherwise at the next retry or settle time, not every second (a dead target's
        // backlog waiting for its retries had the whole outbox read once a second).
        const soon = elsewhere.size > 0 || waiting.some((e) => claimedByOther(e, this.runtimeId, now));
        if (next !== undefined || soon) {
            await this.scheduleAt(soon ? Math.min(next === undefined ? Infinity : next, now + CONTENDED_POLL_MS) : next!, acc.modify);
        }
    }

    /**
     * Works one destination's backlog: takes its hold (holdBudget), reads the backlog after it,
     * and delivers the due run of oldest entries in order: up to the first one waiting for its
     * retry or for older entries of other instances to land, or held by a line (here or, claimed,
     * on another instance).
     */
    private async workQueue(head: OutboxEntry, ctx: RunContext, settleMs: number, elsewhere: Set<string>): Promise<void> {
        const { acc } = ctx;
        const targetKey = head.targetKey;
        this.invalidate(targetKey); // the destination has entries no line holds
        const instance = ctx.active && ctx.active.config.instances.get(head.instance);
        const timeoutMs = (instance && instance.timeoutMs) || DEFAULT_TIMEOUT_MS;
        const key = instance ? this.paceOf(head, instance).key : targetKey;
        if (!(await this.holdBudget(key, timeoutMs, acc))) {
            elsewhere.add(targetKey);
            return;
        }
        let keep = false; // the hold stays: the next run (this one is out of time) or this destination's next round goes on under it
        try {
            await sleep(orderSettledAt(head, settleMs) - Date.now()); // taken up early (HOLD_LEAD_MS): read once it has settled
            // Read under the hold: what another runtime's job delivered and removed before it let go is gone.
            const queue = queuesByTarget(await listDestination(acc.read.getPersistenceReader(), targetKey)).get(targetKey) || [];
            const now = Date.now();
            const mine: OutboxEntry[] = [];
            for (const entry of queue) {
                if (this.gone.has(entry.id)) {
                    continue; // removed here since the read started
                }
                if (entry.nextAttemptAt > now || orderSettledAt(entry, settleMs) > now || this.held.has(entry.id) || this.doubted(entry.id) || claimedByOther(entry, this.runtimeId, now)) {
                    // Waits for its retry time or for older entries of other instances to land, or a
                    // line (here or on another instance) wrote it and is checking its place:
                    // everything behind it waits too.
                    break;
                }
                mine.push(entry);
            }
            if (mine.length > 0 && instance) {
                // The last job run for this destination may have been on another instance: start from its budget.
                const pace = this.paceOf(mine[0], instance);
                this.mergeStoredPace(pace, await readPace(acc.read.getPersistenceReader(), pace.key));
            }
            // A delivered entry's ids and removal are stored behind the next attempt (its place at the
            // target is taken; the hold keeps it ours until removed): the run's pace is one request per
            // entry, not four round trips (bench section 8, two instances, where most deliveries go here).
            const storing: Array<Promise<void>> = [];
            const held: RunContext = { ...ctx, hold: { key, timeoutMs } };
            try {
                for (let i = 0; i < mine.length; i++) {
                    if (i > 0 && Date.now() - this.runStartedAt > JOB_RUN_BUDGET_MS) {
                        // This run has had its time: the next one, which this instance starts at once,
                        // goes on under the same hold (no second settle; before, a claim per entry
                        // kept them: every hand-over cost a destination 250 ms).
                        this.rerun = true;
                        keep = true;
                        return;
                    }
                    if (!(await this.holdBudget(key, timeoutMs, acc))) {
                        return; // not renewed: whatever is left waits for the next run
                    }
                    const outcome = await this.attempt(mine[i], held);
                    if (outcome.kind === 'left' && outcome.lost) {
                        return; // another runtime's job may hold it now: not even the budget is written over its
                    }
                    await this.sharePace(targetKey, acc.persistence);
                    if (outcome.kind === 'sent') {
                        storing.push(this.storeDelivered(mine[i], outcome.remoteIds, ctx));
                    } else if (outcome.kind === 'left') {
                        return; // waits for its retry: the rest keep their places behind it
                    }
                }
            } finally {
                await Promise.all(storing);
            }
            if (queue.length > mine.length) {
                // More arrived (or a line had not let them go yet when this run read). Due now and
                // within the run's time, this destination goes on at once: a rerun waits for the
                // run's slowest destination first (issue 18: with two instances a Slack channel
                // stood 2.35 s while the run paced two others).
                const more = Date.now() - this.runStartedAt <= JOB_RUN_BUDGET_MS ? await listDestination(acc.read.getPersistenceReader(), targetKey) : [];
                const due = dueQueues(more.filter((e) => !this.gone.has(e.id)), this.runtimeId, Date.now(), (id) => this.held.has(id) || this.doubted(id), Math.max(0, settleMs - HOLD_LEAD_MS));
                if (due.length > 0) {
                    keep = true;
                    return this.workQueue(due[0][0], ctx, settleMs, elsewhere); // under the hold it still has
                }
                this.rerun = true; // go round again
            }
        } finally {
            if (!keep && key === targetKey) {
                // A shared budget's hold stays for the run's other destinations of it (releaseBudgets).
                await this.releaseHold(key, acc.persistence);
            }
        }
    }

    /**
     * Whether this runtime's job may work the destination: one runtime's job at a time works a
     * destination's backlog, or — where several destinations share one budget (one Matrix
     * account's rooms: Synapse counts per account) — every destination of that budget. The hold
     * is what keeps two jobs off the same entries: the job writes no claim on each entry it takes
     * (before, every entry a line handed over was written twice, unclaimed and then claimed: two
     * instances cost 5.30 round trips per message against one's 4.19, bench section 8). It also
     * keeps two jobs from pacing one account each from their own view (issue 18, bench section
     * 7, two instances, 3 rooms × 20: 14 of 74 requests answered 429).
     *
     * Taken as a claim is: no write while another runtime's live hold is seen; else write, settle,
     * read back, and the earliest live hold wins. A hold whose write took SETTLE_MS or more is
     * given up (a runtime that read after its own settle may not have seen it). Renewed without a
     * settle while it is live (it stays the earliest). Kept while the run works the destination,
     * and across a run out of time (the next one starts here at once); given up when the
     * destination's work ends (a shared budget's when the run ends). Storage refused: not held.
     */
    private holdBudget(key: string, timeoutMs: number, acc: PipelineAccess): Promise<boolean> {
        const held = this.budgetHolds.get(key);
        const now = Date.now();
        if (held && held.until - now >= timeoutMs + CLAIM_MARGIN_MS) {
            return Promise.resolve(true);
        }
        let pending = this.holding.get(key);
        if (!pending) {
            const live = held && held.until > now + SETTLE_MS ? held : undefined;
            pending = (live ? this.renewHold(key, live.since, timeoutMs, acc) : this.takeHold(key, timeoutMs, acc)).catch(() => {
                this.budgetHolds.delete(key);
                return false;
            });
            const taken = pending;
            this.holding.set(key, taken);
            taken.then(() => this.holding.get(key) === taken && this.holding.delete(key));
        }
        return pending;
    }

    /** Renews the job's hold before a request when it runs short, as a claim is (extendClaim). */
    private async keepHold(hold: { key: string; timeoutMs: number }, acc: PipelineAccess): Promise<void> {
        const held = this.budgetHolds.get(hold.key);
        if (!held || runsOut(held.until)) {
            // Ran out (a stall longer than its margin): another runtime's job may hold it now; renewed,
            // both would work it. Its record goes when the run gives up the destination.
            throw new HoldLost('the hold on this destination ran out before the request');
        }
        if (held.until - Date.now() < hold.timeoutMs + CLAIM_MARGIN_MS) {
            await this.renewHold(hold.key, held.since, hold.timeoutMs, acc).catch((e) => refusedRenewal(held.until, hold.timeoutMs, e));
        }
    }

    private async renewHold(key: string, since: number, timeoutMs: number, acc: PipelineAccess): Promise<boolean> {
        const until = Date.now() + claimLeaseMs(timeoutMs);
        await savePaceHold(acc.persistence, key, { runtimeId: this.runtimeId, since, until });
        this.budgetHolds.set(key, { since, until });
        return true;
    }

    private async takeHold(key: string, timeoutMs: number, acc: PipelineAccess): Promise<boolean> {
        this.budgetHolds.delete(key); // lapsed, or nearly
        const reader = acc.read.getPersistenceReader();
        const othersLive = (holds: Array<{ runtimeId: string; until: number }>, at: number) => holds.some((h) => h.runtimeId !== this.runtimeId && h.until >= at);
        if (othersLive(await listPaceHolds(reader, key), Date.now())) {
            return false; // another runtime's job works it: no write (it would lose)
        }
        const since = Date.now();
        const until = since + claimLeaseMs(timeoutMs);
        await savePaceHold(acc.persistence, key, { runtimeId: this.runtimeId, since, until });
        if (Date.now() - since >= SETTLE_MS) {
            // Landed too late to be sure a racing runtime saw it after its settle: not ours.
            await removePaceHold(acc.persistence, key, this.runtimeId);
            return false;
        }
        await sleep(SETTLE_MS);
        const now = Date.now();
        const holds = await listPaceHolds(reader, key);
        // Holds of runtimes gone without giving them up: nobody else removes them.
        await Promise.all(holds.filter((h) => h.until < now && h.runtimeId !== this.runtimeId).map((h) => removePaceHold(acc.persistence, key, h.runtimeId))).catch(() => undefined);
        const first = holds.filter((h) => h.until >= now).sort((a, b) => a.since - b.since || (a.runtimeId < b.runtimeId ? -1 : 1))[0];
        if (first && first.runtimeId !== this.runtimeId) {
            await removePaceHold(acc.persistence, key, this.runtimeId);
            return false;
        }
        this.budgetHolds.set(key, { since, until });
        return true;
    }

    /** Gives up one hold (the destination's work is done). */
    private async releaseHold(key: string, persistence: IPersistence): Promise<void> {
        if (this.budgetHolds.delete(key)) {
            await removePaceHold(persistence, key, this.runtimeId).catch(() => undefined);
        }
    }

    /** The run ends: the budgets it held are free for another runtime's job. */
    private async releaseBudgets(persistence: IPersistence): Promise<void> {
        const keys = Array.from(this.budgetHolds.keys());
        await Promise.all(keys.map((key) => this.releaseHold(key, persistence)));
    }

    /**
     * The job's delivered entry: its remote ids into the message's map, then the entry goes. One
     * message's stores run one after another (a send and its edit in one run, or its deliveries to
     * several destinations, each read and rewrite the same map).
     */
    private storeDelivered(entry: OutboxEntry, remoteIds: string[], ctx: RunContext): Promise<void> {
        const { acc } = ctx;
        const messageId = entry.message.id;
        const before = this.storingIds.get(messageId) || Promise.resolve();
        const stored = before
            .catch(() => undefined)
            .then(async () => {
                const inst = ctx.active!.config.instances.get(entry.instance)!;
                if (inst.trackEdits && (entry.event === 'deleted' || remoteIds.length > 0)) {
                    // A part of the map of its own: no read, and nothing another instance writes for the message is lost.
                    await saveRemoteIds(acc.persistence, entry.message, entry.id, { [entry.targetKey]: entry.event === 'deleted' ? [] : remoteIds }, { [entry.targetKey]: entry.seq });
                }
                if (!this.freshHolds.has(messageId)) {
                    this.fresh.delete(messageId);
                }
                await this.removeEntry(entry, acc.persistence);
            });
        this.storingIds.set(messageId, stored);
        const forget = () => {
            if (this.storingIds.get(messageId) === stored) {
                this.storingIds.delete(messageId);
            }
        };
        stored.then(forget, forget);
        return stored;
    }

    /** Puts a dead letter back into its destination's backlog as a fresh delivery (the admin's "retry"). */
    public async retryDeadLetter(id: string, read: IRead, persistence: IPersistence, modify: IModify): Promise<boolean> {
        const letter = await removeDeadLetter(persistence, id);
        if (!letter) {
            return false;
        }
        const old = letter.entry;
        const entry = this.newEntry({ targetKey: old.targetKey, instance: old.instance, channel: old.channel, event: old.event, message: old.message, rendered: old.rendered, partsDone: old.partsDone, remoteIds: old.remoteIds, carried: old.carried });
        this.invalidate(entry.targetKey);
        await saveOutboxEntry(persistence, entry);
        await this.scheduleAt(orderSettledAt(entry), modify);
        return true;
    }

    /** Drops a dead letter for good (the admin's "drop"). */
    public async dropDeadLetter(id: string, persistence: IPersistence): Promise<boolean> {
        return !!(await removeDeadLetter(persistence, id));
    }

    /**
     * Removes an entry and remembers it for GONE_KEEP_MS: a job run whose outbox read started
     * before the removal landed still lists it, and its claim — an upsert — would write it back
     * to be delivered again (seen under sustained load once the job ran alongside busy lines).
     */
    private removeEntry(entry: OutboxEntry, persistence: IPersistence): Promise<void> {
        const now = Date.now();
        this.gone.set(entry.id, now);
        for (const [id, at] of this.gone) {
            if (now - at < GONE_KEEP_MS) {
                break; // in insertion order: the rest are younger
            }
            this.gone.delete(id);
        }
        return removeOutboxEntry(persistence, entry);
    }

    /** Gives a delivery up: a dead letter the admin can list, retry or drop; its entry goes. */
    private async deadLetter(entry: OutboxEntry, reason: string, persistence: IPersistence): Promise<void> {
        const letter: DeadLetter = { id: entry.id, entry: { ...entry, claimedBy: undefined, claimedUntil: undefined }, reason, deadAt: Date.now() };
        await saveDeadLetter(persistence, letter);
        await this.removeEntry(entry, persistence);
        this.counters.count(entry.targetKey, entry.instance, 'deadLettered', reason);
        this.logger().error(`gave up ${entry.event} ${entry.message.id} → ${entry.instance}: ${reason}`);
    }

    /**
     * Wakes the job at `at`. Work due now while a run is in progress here: that run goes round
     * again (or hands over at once). Otherwise one pending wake-up is enough unless this one is
     * earlier — one already due counts until it has had WAKE_UP_GRACE_MS to start (each run
     * clears it): under contention every delivery released to the backlog asked for a wake-up at
     * once, and each was a job document and a run of its own (bench section 8, two instances at
     * 512 msg/s: 512 wake-ups and 397 runs for 512 messages, runs starting 2.3 s late).
     */
    private async scheduleAt(at: number, modify: IModify): Promise<void> {
        const now = Date.now();
        if (this.running && at <= now) {
            this.rerun = true;
            if (this.joinRun) {
                this.joinRun(); // due now: the run takes it up without finishing first
            }
            return;
        }
        if (this.scheduledFor > 0 && this.scheduledFor <= Math.max(at, now) && now - this.scheduledFor < WAKE_UP_GRACE_MS) {
            return;
        }
        this.scheduledFor = Math.max(at, now);
        await modify.getScheduler().scheduleOnce({ id: OUTBOX_PROCESSOR_ID, when: new Date(this.scheduledFor) }).catch((e) => {
            this.scheduledFor = 0; // not scheduled: the next caller tries again
            throw e;
        });
    }
}
