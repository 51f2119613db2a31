import { CLAIM_MARGIN_MS, claimLeaseMs, claimedByOther, dueQueues, mayGoAhead, nextSequence, nextWakeUp, ORDER_SETTLE_MS, orderSettledAt, OutboxEntry, queuesByTarget, targetHash } from '../../../src/core/outbox';

/** The fixtures' entries have events at time 0: their times here count from when they are settled. */
const S = ORDER_SETTLE_MS;
const settledFixture = (e: OutboxEntry): OutboxEntry => ({ ...e, nextAttemptAt: e.nextAttemptAt + S, ...(e.claimedUntil !== undefined ? { claimedUntil: e.claimedUntil + S } : {}) });

function entry(targetKey: string, seq: number, fields: Partial<OutboxEntry> = {}): OutboxEntry {
    return {
        id: `${targetKey}-${seq}`,
        targetKey,
        instance: targetKey,
        channel: {},
        seq,
        event: 'sent',
        message: {} as any,
        rendered: { text: '', alias: '' },
        partsDone: 0,
        remoteIds: [],
        attempts: 1,
        firstAttemptAt: 0,
        nextAttemptAt: 0,
        ...fields,
    };
}

describe('outbox queues', () => {
    it('orders each target by sequence, whatever the storage order', () => {
        const queues = queuesByTarget([entry('b', 3), entry('a', 2), entry('a', 1), entry('b', 1)]);
        expect(Array.from(queues.keys()).sort()).toEqual(['a', 'b']);
        expect(queues.get('a')!.map((e) => e.seq)).toEqual([1, 2]);
        expect(queues.get('b')!.map((e) => e.seq)).toEqual([1, 3]);
    });

    it.each([
        ['a due head makes its queue due', [entry('a', 1, { nextAttemptAt: 50 })], 100, ['a']],
        ['a head waiting for its retry holds the whole queue, even if later entries are due', [entry('a', 1, { nextAttemptAt: 500 }), entry('a', 2, { nextAttemptAt: 0 })], 100, []],
        ['a live claim of another runtime is respected', [entry('a', 1, { claimedBy: 'other', claimedUntil: 200 })], 100, []],
        ['an expired claim is taken over', [entry('a', 1, { claimedBy: 'other', claimedUntil: 50 })], 100, ['a']],
        ['our own claim does not block us', [entry('a', 1, { claimedBy: 'me', claimedUntil: 500 })], 100, ['a']],
        ['targets are independent', [entry('a', 1, { nextAttemptAt: 500 }), entry('b', 2)], 100, ['b']],
    ])('%s', (_label, entries, now, due) => {
        expect(dueQueues((entries as OutboxEntry[]).map(settledFixture), 'me', now + S).map((q) => q[0].targetKey)).toEqual(due);
    });

    it('a head whose event is younger than ORDER_SETTLE_MS waits (another instance may still write an older entry), and the job wakes up then', () => {
        const young = entry('a', nextSequence(10000), { nextAttemptAt: 0 });
        expect(orderSettledAt(young)).toBe(10000 + S);
        expect(dueQueues([young], 'me', 10000 + S - 1)).toEqual([]);
        expect(dueQueues([young], 'me', 10000 + S).length).toBe(1);
        expect(nextWakeUp([young], 10000)).toBe(10000 + S);
    });

    it.each([
        ['no entries: no wake-up', [], undefined],
        ['earliest head wins', [entry('a', 1, { nextAttemptAt: 300 }), entry('b', 1, { nextAttemptAt: 200 })], 200],
        ['entries behind a head do not count', [entry('a', 1, { nextAttemptAt: 300 }), entry('a', 2, { nextAttemptAt: 10 })], 300],
        ['a claimed head wakes up when the claim expires', [entry('a', 1, { nextAttemptAt: 0, claimedBy: 'x', claimedUntil: 900 })], 900],
    ])('%s', (_label, entries, expected) => {
        expect(nextWakeUp((entries as OutboxEntry[]).map(settledFixture), 100 + S)).toBe(expected === undefined ? undefined : (expected as number) + S);
    });

    it('claims are only "other" while they last', () => {
        expect(claimedByOther(entry('a', 1, { claimedBy: 'x', claimedUntil: 200 }), 'me', 100)).toBe(true);
        expect(claimedByOther(entry('a', 1, { claimedBy: 'x', claimedUntil: 200 }), 'me', 300)).toBe(false);
        expect(claimedByOther(entry('a', 1, { claimedBy: 'me', claimedUntil: 200 }), 'me', 100)).toBe(false);
    });

    it('sequences grow within one millisecond and across time', () => {
        const a = nextSequence(1000);
        const b = nextSequence(1000);
        const c = nextSequence(1001);
        expect(b).toBeGreaterThan(a);
        expect(c).toBeGreaterThan(b);
        expect(targetHash('dc\n{}')).toBe(targetHash('dc\n{}'));
        expect(targetHash('dc\n{}')).not.toBe(targetHash('dc\n{"thread_id":"1"}'));
    });
});

describe('write-ahead ordering and claim leases', () => {
    const mine = entry('a', 5, { id: 'mine' });
    it.each([
        ['an empty backlog (only mine)', [mine], [], true],
        ['older entries all held by my line', [entry('a', 1, { id: 'x' }), mine], ['x'], true],
        ['an older entry of another instance', [entry('a', 1, { id: 'other' }), mine], [], false],
        ['an older retry waiting in the backlog', [entry('a', 2, { id: 'retry', nextAttemptAt: 9e15 }), mine], [], false],
        ['only newer entries of others', [mine, entry('a', 9, { id: 'later' })], [], true],
    ])('%s → may go ahead: %s', (_label, backlog, held, expected) => {
        expect(mayGoAhead(mine, backlog as OutboxEntry[], (id) => (held as string[]).indexOf(id) >= 0)).toBe(expected);
    });

    it('a claim outlasts the longest request: 2 timeouts + margin (300 s timeout → 615 s)', () => {
        expect(claimLeaseMs(300000)).toBe(615000);
        expect(claimLeaseMs(10000)).toBeGreaterThan(10000 + CLAIM_MARGIN_MS - 1);
    });

    it("this runtime's lines keep the job off their destinations", () => {
        expect(dueQueues([entry('a', 1, { id: 'held' }), entry('b', 1, { id: 'free' })], 'me', 100 + S, (id) => id === 'held').map((q) => q[0].id)).toEqual(['free']);
    });
});
