// When to try a failed delivery again. Pure: the outbox and its tests decide with these numbers.

export interface RetryPolicy {
    /** First retry delay; doubles per attempt. */
    baseDelayMs: number;
    /** Longest delay between two attempts; a service's Retry-After is capped by it too. */
    maxDelayMs: number;
    /** Give up (dead letter) when the first attempt is older than this. */
    horizonMs: number;
    /** Fraction of the delay that is randomised (0.2 = ±20 %), so many waiting targets don't stampede. */
    jitter: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
    baseDelayMs: 2000,
    maxDelayMs: 10 * 60 * 1000,
    horizonMs: 24 * 60 * 60 * 1000,
    jitter: 0.2,
};

/** What a failed attempt told us: whether to retry, and the service's own wait if it gave one. */
export interface AttemptFailure {
    retryable: boolean;
    retryAfterMs?: number;
}

/** Attempts for which a service's own wait is taken as it is, even when shorter than our backoff. */
const TRUSTED_RETRY_AFTER_ATTEMPTS = 3;

/**
 * Delay before attempt number `attempt + 1`, after `attempt` failed attempts (1 = the first
 * failure). When the service said how long to wait (Retry-After, a rate-limit body), that is the
 * wait, exactly: our backoff on top would only slow a paced destination down. It is capped by
 * `maxDelayMs` (the admin's "Longest wait between retries"): a `Retry-After: 86400` must not
 * freeze a destination for a day. A service that keeps failing and keeps asking for less than our
 * backoff (`Retry-After: 0` on every 503) gets the backoff from the fourth attempt on.
 */
export function retryDelayMs(attempt: number, policy: RetryPolicy, retryAfterMs?: number, random: () => number = Math.random): number {
    const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * Math.pow(2, Math.max(0, attempt - 1)));
    const spread = exponential * policy.jitter;
    const backoff = Math.max(0, Math.round(exponential - spread + 2 * spread * random()));
    if (retryAfterMs === undefined) {
        return backoff;
    }
    const asked = Math.min(Math.max(0, retryAfterMs), policy.maxDelayMs);
    return attempt <= TRUSTED_RETRY_AFTER_ATTEMPTS ? asked : Math.max(asked, backoff);
}

export type RetryDecision = { action: 'retry'; at: number } | { action: 'give-up'; reason: string };

/** Decides what happens to a delivery after a failed attempt. */
export function afterFailure(
    failure: AttemptFailure,
    attempts: number,
    firstAttemptAt: number,
    now: number,
    policy: RetryPolicy,
    random: () => number = Math.random,
): RetryDecision {
    if (!failure.retryable) {
        return { action: 'give-up', reason: 'the target refused the request (not retryable)' };
    }
    const at = now + retryDelayMs(attempts, policy, failure.retryAfterMs, random);
    if (at - firstAttemptAt > policy.horizonMs) {
        return { action: 'give-up', reason: `still failing after ${formatDuration(now - firstAttemptAt)} (horizon ${formatDuration(policy.horizonMs)})` };
    }
    return { action: 'retry', at };
}

export function formatDuration(ms: number): string {
    if (ms < 1000) {
        return `${Math.round(ms)} ms`;
    }
    if (ms < 120000) {
        return `${Math.round(ms / 1000)} s`;
    }
    if (ms < 2 * 3600000) {
        return `${Math.round(ms / 60000)} min`;
    }
    return `${Math.round(ms / 3600000)} h`;
}
