// Pacing: wait before a request instead of after a 429. Each service says how fast it may be
// called, either in every answer (Discord's, Zulip's and Rocket.Chat's X-RateLimit-* headers) or
// in its documentation only (Slack about 1 message a second per channel, Telegram 1 a second per
// chat and 20 a minute per group). A destination's budget is kept from those announcements; the
// delivery runner asks how long to wait before each request. Pure: numbers in, numbers out.

/** What one answer said about the rate limit (every field optional: services say different things). */
export interface RateAnnouncement {
    /** Requests left in the current window (X-RateLimit-Remaining). */
    remaining?: number;
    /** When the window starts over, as an absolute time (ms since the epoch). */
    resetAt?: number;
    /** The bucket the service counts this request in, when it names one (Discord's X-RateLimit-Bucket). */
    bucket?: string;
}

/** A limit a service publishes without announcing it per answer: `requests` per `perMs`. */
export interface PublishedLimit {
    requests: number;
    perMs: number;
}

/** A destination's budget, small enough to be stored with its queue. */
export interface PaceState {
    /** No request before this time: an exhausted window or a 429's announced wait. */
    notBefore: number;
    /** Send times inside the longest published window (only kept for published limits). */
    recent: number[];
    /** The bucket the service last named for this destination. */
    bucket?: string;
}

export function freshPace(): PaceState {
    return { notBefore: 0, recent: [] };
}

/**
 * How long to wait before the next request may go, in ms (0 = now): the announced reset of an
 * exhausted window, a 429's wait, or the time until the oldest send leaves a published window.
 */
export function paceDelay(state: PaceState | undefined, limits: readonly PublishedLimit[], now: number): number {
    if (!state) {
        return 0;
    }
    let at = state.notBefore;
    for (const limit of limits) {
        const inWindow = state.recent.filter((t) => t > now - limit.perMs);
        if (limit.requests > 0 && inWindow.length >= limit.requests) {
            // The request may go once enough older sends have left the window.
            at = Math.max(at, inWindow[inWindow.length - limit.requests] + limit.perMs);
        }
    }
    return Math.max(0, at - now);
}

/** Notes a request going out now (the published windows count it). */
export function recordSend(state: PaceState | undefined, limits: readonly PublishedLimit[], now: number): PaceState {
    const base = state || freshPace();
    if (limits.length === 0) {
        return base.recent.length ? { ...base, recent: [] } : base;
    }
    const longest = Math.max(...limits.map((l) => l.perMs));
    const keep = Math.max(...limits.map((l) => l.requests));
    const recent = base.recent.filter((t) => t > now - longest).concat(now);
    return { ...base, recent: recent.slice(-keep) };
}

/**
 * Notes what an answer announced: with nothing left in the window, nothing goes before it resets;
 * a 429's wait (`retryAfterMs`) is honoured exactly.
 */
export function recordAnswer(state: PaceState | undefined, announcement: RateAnnouncement | undefined, retryAfterMs: number | undefined, now: number): PaceState {
    const base = state || freshPace();
    let notBefore = base.notBefore;
    if (announcement && announcement.remaining !== undefined && announcement.remaining <= 0 && announcement.resetAt !== undefined) {
        notBefore = Math.max(notBefore, announcement.resetAt);
    }
    if (retryAfterMs !== undefined && retryAfterMs >= 0) {
        notBefore = Math.max(notBefore, now + retryAfterMs);
    }
    const bucket = announcement && announcement.bucket ? announcement.bucket : base.bucket;
    return { ...base, notBefore, bucket };
}

/** The clock forms X-RateLimit-Reset comes in, per service. */
export type ResetForm = 'after-seconds' | 'epoch-seconds' | 'epoch-ms';

/**
 * Reads the usual X-RateLimit-* headers (header names lower-case, as HttpResult has them).
 * Discord: Reset-After in seconds (fractional); Zulip: Reset in epoch seconds; Rocket.Chat:
 * Reset in epoch ms.
 */
export function readRateLimitHeaders(headers: Record<string, string>, form: ResetForm, now: number): RateAnnouncement | undefined {
    const remaining = numberHeader(headers['x-ratelimit-remaining']);
    let resetAt: number | undefined;
    if (form === 'after-seconds') {
        const after = numberHeader(headers['x-ratelimit-reset-after']);
        resetAt = after === undefined ? undefined : now + Math.ceil(after * 1000);
    } else {
        const reset = numberHeader(headers['x-ratelimit-reset']);
        resetAt = reset === undefined ? undefined : form === 'epoch-seconds' ? Math.ceil(reset * 1000) : reset;
    }
    const bucket = (headers['x-ratelimit-bucket'] || '').trim() || undefined;
    if (remaining === undefined && resetAt === undefined && bucket === undefined) {
        return undefined;
    }
    return { remaining, resetAt, bucket };
}

function numberHeader(value: string | undefined): number | undefined {
    if (value === undefined || !/^\s*\d+(\.\d+)?\s*$/.test(value)) {
        return undefined;
    }
    return Number(value);
}
