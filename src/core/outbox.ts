// The persistent outbox (each destination's backlog), as data and decisions. Every delivery is an
// entry before it waits or is attempted (write-ahead, src/shell/pipeline.ts); the entry is removed
// once the delivery succeeded and its remote ids are stored. Per destination, entries go strictly
// in order: only the oldest entry of a destination is ever attempted.

import { fnv1a } from './hash';
import type { RelayEvent, RelayMessage } from './message';
import type { RenderedMessage } from './adapter';

export interface OutboxEntry {
    /** Unique id: target key hash + sequence. */
    id: string;
    /** Instance + channel (see rules.ts targetKey): the ordering domain. */
    targetKey: string;
    instance: string;
    channel: Record<string, string>;
    /**
     * Position within the target's queue: the event's own time in ms × 1000 plus a counter of the
     * runtime that wrote it (see `nextSequence`). The same on every instance for the same events,
     * so two instances' entries sort as the events happened, not as their runtimes handled them.
     */
    seq: number;
    event: RelayEvent;
    message: RelayMessage;
    rendered: RenderedMessage;
    /** Requests already delivered (a split message resumes at the first undelivered part). */
    partsDone: number;
    /** Remote ids of the parts already delivered. */
    remoteIds: string[];
    /** Values the delivered parts' responses carried (upload ids) for the parts still to do; absent in entries from before. */
    carried?: Record<string, string>;
    attempts: number;
    firstAttemptAt: number;
    nextAttemptAt: number;
    lastError?: string;
    /** Which runtime is working on it, until when: two server instances never both deliver it. */
    claimedBy?: string;
    claimedUntil?: number;
    /** Stored with the destination's association (absent: written before, moved on first sight). */
    keyed?: boolean;
}

/**
 * How late another instance's entry may land after its event happened: the event's handling
 * (planning reads) plus the entry's write, on a slow database. A delivery checks its destination's
 * backlog for older entries only once its event is this old, and the job takes an entry only then,
 * so an older entry written on another instance is seen before a newer one goes. The cost: each
 * delivery leaves at the earliest this long after its event (instance clocks are assumed to agree
 * within a small part of it, as NTP keeps them).
 */
export const ORDER_SETTLE_MS = 750;

/** When an entry's event is old enough that every older entry of its destination has landed (`settleMs` 0: no other instance handles events). */
export function orderSettledAt(entry: Pick<OutboxEntry, 'seq'>, settleMs = ORDER_SETTLE_MS): number {
    return Math.floor(entry.seq / 1000) + settleMs;
}

/** Added to a claim's lease beyond the requests it covers: clock skew between instances, settling. */
export const CLAIM_MARGIN_MS = 15000;

/**
 * How long a claim lasts: longer than the delivery's next request can take (two request timeouts
 * plus a margin; the pipeline renews it before a request when less than one timeout plus the margin
 * is left). With the largest allowed `timeout_ms` (300 s) that is 615 s, never shorter than a request.
 */
export function claimLeaseMs(timeoutMs: number): number {
    return 2 * timeoutMs + CLAIM_MARGIN_MS;
}

/**
 * Whether a fresh entry may be delivered by the runtime that wrote it, given its destination's
 * backlog as read after the write: only when every older entry is one this runtime's line for the
 * destination already holds (it will deliver them first). Any other older entry — another
 * instance's, a retry waiting, one left by a killed runtime — goes first, through the job.
 */
export function mayGoAhead(mine: OutboxEntry, backlog: OutboxEntry[], heldByLine: (id: string) => boolean): boolean {
    return backlog.every((other) => other.id === mine.id || other.seq > mine.seq || heldByLine(other.id));
}

export interface DeadLetter {
    id: string;
    entry: OutboxEntry;
    reason: string;
    deadAt: number;
}

let sequenceCounter = 0;

/**
 * A sequence number for an event at `at` (ms): the event's time, then, within one runtime and one
 * millisecond, the order of the calls. Events of the same millisecond on two instances sort by
 * their counters (arbitrary, but the same for every reader).
 */
export function nextSequence(at: number): number {
    sequenceCounter = (sequenceCounter + 1) % 1000;
    return at * 1000 + sequenceCounter;
}

/** Short stable hash of a target key, for entry ids and association keys (stored: keep the format). */
export function targetHash(targetKey: string): string {
    return `t${fnv1a(targetKey).replace(/^0+(?=.)/, '')}`;
}

/** Groups entries by target, each queue in delivery order. */
export function queuesByTarget(entries: OutboxEntry[]): Map<string, OutboxEntry[]> {
    const queues = new Map<string, OutboxEntry[]>();
    for (const entry of entries) {
        const queue = queues.get(entry.targetKey);
        if (queue) {
            queue.push(entry);
        } else {
            queues.set(entry.targetKey, [entry]);
        }
    }
    queues.forEach((queue) => queue.sort((a, b) => a.seq - b.seq));
    return queues;
}

/** Whether another runtime holds a live claim on the entry. */
export function claimedByOther(entry: OutboxEntry, runtimeId: string, now: number): boolean {
    return entry.claimedBy !== undefined && entry.claimedBy !== runtimeId && (entry.claimedUntil || 0) > now;
}

/** The queues whose oldest entry is due now (its retry time and its order settle time passed) and not held by another runtime (nor by `heldHere`, this runtime's lines). */
export function dueQueues(entries: OutboxEntry[], runtimeId: string, now: number, heldHere: (id: string) => boolean = () => false, settleMs = ORDER_SETTLE_MS): OutboxEntry[][] {
    const due: OutboxEntry[][] = [];
    queuesByTarget(entries).forEach((queue) => {
        const head = queue[0];
        if (head.nextAttemptAt <= now && orderSettledAt(head, settleMs) <= now && !claimedByOther(head, runtimeId, now) && !heldHere(head.id)) {
            due.push(queue);
        }
    });
    return due;
}

/** When the job should run next: the earliest head that is not due yet (retry, settle or another's claim), or undefined. */
export function nextWakeUp(entries: OutboxEntry[], now: number, settleMs = ORDER_SETTLE_MS): number | undefined {
    let earliest: number | undefined;
    queuesByTarget(entries).forEach((queue) => {
        const head = queue[0];
        const at = Math.max(head.nextAttemptAt, orderSettledAt(head, settleMs), head.claimedUntil && head.claimedUntil > now ? head.claimedUntil : 0);
        if (earliest === undefined || at < earliest) {
            earliest = at;
        }
    });
    return earliest;
}
