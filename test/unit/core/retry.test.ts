import { afterFailure, DEFAULT_RETRY_POLICY, formatDuration, retryDelayMs, RetryPolicy } from '../../../src/core/retry';

const policy: RetryPolicy = { baseDelayMs: 1000, maxDelayMs: 60000, horizonMs: 3600000, jitter: 0.2 };
const middle = () => 0.5; // no jitter
const low = () => 0;
const high = () => 0.999999;

describe('retryDelayMs', () => {
    it.each([
        [1, middle, undefined, 1000],
        [2, middle, undefined, 2000],
        [3, middle, undefined, 4000],
        [7, middle, undefined, 60000], // capped at maxDelayMs
        [30, middle, undefined, 60000],
        [1, low, undefined, 800], // -20 %
        [1, high, undefined, 1200], // +20 %
        [1, middle, 5000, 5000], // Retry-After longer than the backoff wins
        [3, middle, 500, 500], // the service's own wait, exactly: no backoff on top
        [5, middle, 0, 16000], // still failing and still asking for no wait: the backoff
        [1, middle, 10 * 3600000, 60000], // capped by the longest wait between retries (not a day's freeze)
        [1, middle, 86400000, 60000], // Retry-After: 86400
    ])('attempt %i → %i ms', (attempt, random, retryAfter, expected) => {
        expect(retryDelayMs(attempt, policy, retryAfter, random)).toBe(expected);
    });
});

describe('afterFailure', () => {
    const t0 = 1_000_000;
    it.each([
        ['non-retryable errors give up at once', { retryable: false }, 1, t0, { action: 'give-up' }],
        ['retryable errors retry after the backoff', { retryable: true }, 1, t0, { action: 'retry', at: t0 + 1000 }],
        ['Retry-After is honoured', { retryable: true, retryAfterMs: 30000 }, 1, t0, { action: 'retry', at: t0 + 30000 }],
        ['past the horizon the delivery is given up', { retryable: true }, 12, t0 + 3590000, { action: 'give-up' }],
    ])('%s', (_label, failure, attempts, now, expected) => {
        expect(afterFailure(failure, attempts, t0, now, policy, middle)).toMatchObject(expected);
    });

    it('explains a give-up with the durations', () => {
        const decision = afterFailure({ retryable: true }, 12, t0, t0 + 3590000, policy, middle);
        expect(decision).toEqual({ action: 'give-up', reason: 'still failing after 60 min (horizon 60 min)' });
    });

    it('the defaults: 2 s first retry, 10 min cap, 24 h horizon', () => {
        expect(DEFAULT_RETRY_POLICY).toMatchObject({ baseDelayMs: 2000, maxDelayMs: 600000, horizonMs: 86400000 });
        expect(formatDuration(86400000)).toBe('24 h');
    });
});
