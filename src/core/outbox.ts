// The persistent outbox, as data and decisions. A delivery that failed its immediate attempt (or
// that must wait behind an earlier one for the same target) becomes an entry; the shell stores
// entries in persistence and a scheduler job works them off. Per target, entries go strictly in
// order: only the oldest entry of a target is ever attempted.

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
    /** Position within the target's queue (enqueue time in µs plus a counter). */
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
}

export interface DeadLetter {
    id: string;
    entry: OutboxEntry;
    reason: string;
    deadAt: number;
}

let sequenceCounter = 0;

/** A sequence number that grows with time and, within one runtime, with every call. */
export function nextSequence(now: number): number {
    sequenceCounter = (sequenceCounter + 1) % 1000;
    return now * 1000 + sequenceCounter;
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

/** The queues whose oldest entry is due now and not held by another runtime. */
export function dueQueues(entries: OutboxEntry[], runtimeId: string, now: number): OutboxEntry[][] {
    const due: OutboxEntry[][] = [];
    queuesByTarget(entries).forEach((queue) => {
        const head = queue[0];
        if (head.nextAttemptAt <= now && !claimedByOther(head, runtimeId, now)) {
            due.push(queue);
        }
    });
    return due;
}

/** When the job should run next: the earliest head that is not due yet, or undefined. */
export function nextWakeUp(entries: OutboxEntry[], now: number): number | undefined {
    let earliest: number | undefined;
    queuesByTarget(entries).forEach((queue) => {
        const head = queue[0];
        const at = Math.max(head.nextAttemptAt, head.claimedUntil && head.claimedUntil > now ? head.claimedUntil : 0);
        if (earliest === undefined || at < earliest) {
            earliest = at;
        }
    });
    return earliest;
}
