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

/**
 * A limit a service publishes without announcing it per answer: `requests` per `perMs` in any
 * window of that length; with `leaky`, a bucket of `requests` that empties evenly over `perMs`
 * (Synapse's rc_message: `burst_count` at once, then `per_second`). At most one leaky limit.
 */
export interface PublishedLimit {
    requests: number;
    perMs: number;
    leaky?: boolean;
}

/** A destination's budget, small enough to be stored with its queue. */
export interface PaceState {
    /** No request before this time: an exhausted window or a 429's announced wait. */
    notBefore: number;
    /** Send times inside the longest published window (only kept for published limits). */
    recent: number[];
    /** The bucket the service last named for this destination. */
    bucket?: string;
    /** Requests left in the service's announced window until `resetAt` (counted down by our own sends too). */
    remaining?: number;
    resetAt?: number;
    /** When the last request went, and the last one the service accepted (not a 429). */
    lastSentAt?: number;
    lastAcceptedAt?: number;
    /**
     * The answer time `recent` holds for the last request answered while no other request of
     * this budget was out: the service counted that request before it answered, so a window
     * anchored there needs no allowance for the way there.
     */
    lastAnswerAt?: number;
    /**
     * For services that neither announce nor publish a limit (Matrix: each server sets its own):
     * the spacing its 429s revealed, kept so the next requests do not run into it again.
     */
    learnedGapMs?: number;
    /** When that spacing was last shown (it is forgotten LEARNED_GAP_TTL_MS later). */
    learnedAt?: number;
    /**
     * A leaky limit's bucket as one time (the generic cell rate algorithm's "theoretical arrival
     * time"): when it would be empty. Each send moves it one interval (`perMs / requests`) on from
     * now or from where it was; a send fits while it is at most `requests - 1` intervals ahead.
     */
    emptyAt?: number;
    /**
     * `emptyAt` when this view last had every request it sent answered, and the leaky sends since:
     * each of those reached the service before the answer that ends them, so the bucket is then
     * at most `sinceQuiet` exact intervals past that time or this one (anchorAtQuiet).
     */
    quietEmptyAt?: number;
    sinceQuiet?: number;
    /** Since when requests have been refused in a row (429s), if they are. */
    refusedSince?: number;
}

/**
 * Our clock and the service's differ by the time a request takes to arrive: published windows
 * are kept this much wider (2 %, 20 ms on a one-second window), or a send that is exactly on time
 * here can arrive early there.
 */
const SKEW_SHARE = 0.02;
/** A learned spacing is never longer than this (a 429 long after the last acceptance teaches nothing). */
const MAX_LEARNED_GAP_MS = 10000;
/** A send this soon after the previous accepted one is "right after" it (for learning a spacing). */
const BACK_TO_BACK_MS = 2000;
/** …and holds this long after the last 429 that showed it: a burst's limit, not the service's forever. */
const LEARNED_GAP_TTL_MS = 60000;

/** The one leaky limit among a destination's published limits, if it has one. */
function leakyLimit(limits: readonly PublishedLimit[]): PublishedLimit | undefined {
    return limits.filter((l) => l.leaky && l.requests > 0)[0];
}

export function freshPace(): PaceState {
    // Nothing sent yet from this view: its bucket holds nothing of its own.
    return { notBefore: 0, recent: [], quietEmptyAt: 0, sinceQuiet: 0 };
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
        const width = limit.perMs + Math.ceil(limit.perMs * SKEW_SHARE);
        const inWindow = state.recent.filter((t) => t > now - width);
        if (limit.leaky) {
            // The bucket's depth in exact intervals: the allowance for the way there is in
            // `emptyAt` already (each send moves it a wider interval until an answer tightens it).
            if (state.emptyAt !== undefined && limit.requests > 0) {
                at = Math.max(at, state.emptyAt - (limit.requests - 1) * (limit.perMs / limit.requests));
            }
        } else if (limit.requests > 0 && inWindow.length >= limit.requests) {
            // The request may go once enough older sends have left the window.
            const anchor = inWindow[inWindow.length - limit.requests];
            at = Math.max(at, anchor + (anchor === state.lastAnswerAt ? limit.perMs : width));
        }
    }
    if (state.remaining !== undefined && state.remaining <= 0 && state.resetAt !== undefined) {
        at = Math.max(at, state.resetAt);
    }
    const lastSent = state.lastSentAt !== undefined ? state.lastSentAt : state.lastAcceptedAt;
    if (state.learnedGapMs && lastSent !== undefined && now - (state.learnedAt || 0) < LEARNED_GAP_TTL_MS) {
        // From the last send, answered or not: several deliveries share the budget (the rooms of
        // one Matrix account), and one whose answer is still out has taken the slot. As wide as a
        // published window is kept: a send exactly on time here can arrive early there.
        at = Math.max(at, lastSent + state.learnedGapMs + Math.ceil(state.learnedGapMs * SKEW_SHARE));
    }
    return Math.max(0, at - now);
}

/** Notes a request going out now (the published windows count it). */
export function recordSend(state: PaceState | undefined, limits: readonly PublishedLimit[], now: number): PaceState {
    const base = spend(state || freshPace(), now);
    const leaky = leakyLimit(limits);
    if (leaky) {
        const interval = (leaky.perMs + Math.ceil(leaky.perMs * SKEW_SHARE)) / leaky.requests;
        base.emptyAt = Math.max(base.emptyAt || 0, now) + interval;
        if (base.sinceQuiet !== undefined) {
            base.sinceQuiet += 1;
        }
    }
    const windows = limits.filter((l) => !l.leaky);
    if (windows.length === 0) {
        return { ...base, recent: [], lastSentAt: now };
    }
    const longest = Math.max(...windows.map((l) => l.perMs + Math.ceil(l.perMs * SKEW_SHARE)));
    const keep = Math.max(...windows.map((l) => l.requests));
    const recent = base.recent.filter((t) => t > now - longest).concat(now);
    return { ...base, recent: recent.slice(-keep), lastSentAt: now };
}

/** A send uses one of the announced window's requests (so a second sender, or another instance, sees it gone). */
function spend(state: PaceState, now: number): PaceState {
    if (state.remaining === undefined || state.resetAt === undefined || state.resetAt <= now) {
        return { ...state, remaining: undefined, resetAt: undefined };
    }
    return { ...state, remaining: state.remaining - 1 };
}

/**
 * Notes what an answer said: with nothing left in the window, nothing goes before it resets; a
 * 429's wait (`retryAfterMs`) is honoured exactly. With `learn` (a service that states no limit),
 * a 429 also reveals a spacing: from the last accepted request to the moment the service allows
 * the next one.
 */
export function recordAnswer(state: PaceState | undefined, announcement: RateAnnouncement | undefined, retryAfterMs: number | undefined, now: number, learn = false, alone = false, limits: readonly PublishedLimit[] = []): PaceState {
    const base = alone ? anchorAtQuiet(state || freshPace(), limits, now) : state || freshPace();
    if (retryAfterMs === undefined) {
        // The service counted the request somewhere between its send and this answer: the
        // published windows count it from the answer, so a slow first request (a new
        // connection) cannot make the next one arrive early by the service's clock. `alone`
        // (no other request of this budget out): the answer is this request's for sure, and a
        // window anchored there needs no allowance (2 % of every spacing: 0.6 s of Slack's best
        // 29 s for 30 messages, issue 18).
        const recent = base.recent.map((t) => (t === base.lastSentAt ? now : t));
        const answered = alone && base.lastSentAt !== undefined && base.recent.indexOf(base.lastSentAt) >= 0 ? { lastAnswerAt: now } : {};
        return { ...settle(base, announcement), recent, lastAcceptedAt: base.lastSentAt !== undefined ? base.lastSentAt : now, refusedSince: undefined, ...answered };
    }
    const next = settle(base, announcement);
    next.notBefore = Math.max(next.notBefore, now + Math.max(0, retryAfterMs));
    // The service counts from when each request reached it: the refused request's send plus its
    // wait, less the accepted one's send. The way there is in both terms and cancels; the way
    // back (a busy runtime reading the answer late, a server that holds its 429s) is in neither.
    // Counted to the answer's arrival, every later request waited that much longer too (issue 18:
    // 1030–1080 ms learned where the server allowed 1000, about 1.3 s in a recorded bench run).
    const refusedSentAt = base.lastSentAt !== undefined ? base.lastSentAt : now;
    const gap = base.lastAcceptedAt === undefined ? Infinity : refusedSentAt + retryAfterMs - base.lastAcceptedAt;
    // Only the first 429 right after an accepted request shows the service's spacing; later ones
    // in a row, or one long after the last acceptance, say nothing about it.
    const firstRefusal = base.lastAcceptedAt !== undefined && base.lastSentAt !== undefined && base.lastSentAt - base.lastAcceptedAt <= BACK_TO_BACK_MS && !base.refusedSince;
    next.refusedSince = base.refusedSince || now;
    if (alone && base.lastAcceptedAt !== undefined) {
        // Nothing else of this budget is out, so the last send was the refused one, and a service
        // does not count a request it refused: spacing counts from the last one it accepted, and
        // the wait it asked for holds the next. From the refused send, every 429 cost a learned
        // gap more (Matrix, 30 at once: a second or more after each, issue 18).
        next.lastSentAt = base.lastAcceptedAt;
    }
    if (learn && firstRefusal && gap <= MAX_LEARNED_GAP_MS) {
        const fresh = now - (base.learnedAt || 0) < LEARNED_GAP_TTL_MS;
        next.learnedGapMs = Math.max(fresh ? base.learnedGapMs || 0 : 0, gap);
        next.learnedAt = now;
    }
    return next;
}

/**
 * Every request this view sent has been answered (`alone`): each reached the service by now, so
 * a leaky bucket is at most as full as if all sent since the last such moment had arrived now, in
 * exact intervals (the generic cell rate algorithm is monotone in arrival times). This replaces
 * what the sends guessed: each adds a wider interval from its send (2 % for the way there), too
 * wide for a quick request (0.4 s of Synapse's best 20 s for 30 messages, issue 18) and too narrow
 * for a slow one (a first request on a new connection, 42 ms on its way: the eleventh of a burst
 * went early and was refused).
 */
function anchorAtQuiet(state: PaceState, limits: readonly PublishedLimit[], now: number): PaceState {
    const leaky = leakyLimit(limits);
    if (!leaky || state.emptyAt === undefined) {
        return state;
    }
    const emptyAt = state.quietEmptyAt !== undefined && state.sinceQuiet !== undefined ? Math.max(state.quietEmptyAt, now) + state.sinceQuiet * (leaky.perMs / leaky.requests) : state.emptyAt;
    return { ...state, emptyAt, quietEmptyAt: emptyAt, sinceQuiet: 0 };
}

function settle(base: PaceState, announcement: RateAnnouncement | undefined): PaceState {
    let notBefore = base.notBefore;
    if (announcement && announcement.remaining !== undefined && announcement.remaining <= 0 && announcement.resetAt !== undefined) {
        notBefore = Math.max(notBefore, announcement.resetAt);
    }
    const bucket = announcement && announcement.bucket ? announcement.bucket : base.bucket;
    const window = announcement && announcement.remaining !== undefined && announcement.resetAt !== undefined ? { remaining: announcement.remaining, resetAt: announcement.resetAt } : {};
    return { ...base, notBefore, bucket, ...window };
}

/**
 * One budget from two views of it (this runtime's and the one another instance stored): the
 * later of every time, all sends either saw, the longer learned spacing.
 */
export function mergePace(a: PaceState | undefined, b: PaceState | undefined): PaceState | undefined {
    if (!a || !b) {
        return a || b;
    }
    const later = (x?: number, y?: number) => (x === undefined ? y : y === undefined ? x : Math.max(x, y));
    const learned = (a.learnedAt || 0) >= (b.learnedAt || 0) ? a : b;
    // The quiet anchor is the view's that saw the latest send, and holds only if everything the
    // other view counted had left the bucket by then: else sends it does not count may still be
    // on their way, and the anchor waits for the next moment every request is answered.
    const latest = (b.lastSentAt || 0) > (a.lastSentAt || 0) ? b : a;
    const other = latest === a ? b : a;
    const anchored = other.emptyAt === undefined || (latest.quietEmptyAt !== undefined && other.emptyAt <= latest.quietEmptyAt);
    // Refused in a row no more once either view saw a request sent after the refusal accepted: a
    // view stored before that acceptance kept the refusal alive, and the next 429 then taught
    // nothing (a 429 a second in Matrix's 3 rooms × 20, issue 18).
    const refusedSince = later(a.refusedSince, b.refusedSince);
    const lastAcceptedAt = later(a.lastAcceptedAt, b.lastAcceptedAt);
    const recent = Array.from(new Set(a.recent.concat(b.recent))).sort((x, y) => x - y);
    const keep = Math.max(a.recent.length, b.recent.length);
    return {
        notBefore: Math.max(a.notBefore, b.notBefore),
        recent: recent.slice(-Math.max(keep, 1)),
        bucket: a.bucket || b.bucket,
        ...mergeWindow(a, b),
        lastSentAt: later(a.lastSentAt, b.lastSentAt),
        lastAcceptedAt,
        lastAnswerAt: later(a.lastAnswerAt, b.lastAnswerAt),
        learnedGapMs: learned.learnedGapMs,
        learnedAt: learned.learnedAt,
        refusedSince: refusedSince !== undefined && lastAcceptedAt !== undefined && lastAcceptedAt > refusedSince ? undefined : refusedSince,
        // The fuller bucket (sends the other view has not seen are not added: an instance reads the stored budget before it sends).
        emptyAt: later(a.emptyAt, b.emptyAt),
        quietEmptyAt: anchored ? latest.quietEmptyAt : undefined,
        sinceQuiet: anchored ? latest.sinceQuiet : undefined,
    };
}

/** A budget as stored (another instance wrote it; anything may be there): only well-formed numbers kept. */
export function paceFromStored(raw: unknown): PaceState | undefined {
    if (!raw || typeof raw !== 'object') {
        return undefined;
    }
    const r = raw as Record<string, unknown>;
    const num = (v: unknown) => (typeof v === 'number' && isFinite(v) ? v : undefined);
    const state: PaceState = { notBefore: num(r.notBefore) || 0, recent: Array.isArray(r.recent) ? (r.recent.filter((t) => num(t) !== undefined) as number[]).slice(-100) : [] };
    const optional: Array<keyof PaceState> = ['remaining', 'resetAt', 'lastSentAt', 'lastAcceptedAt', 'lastAnswerAt', 'learnedGapMs', 'learnedAt', 'refusedSince', 'emptyAt', 'quietEmptyAt', 'sinceQuiet'];
    for (const key of optional) {
        const value = num(r[key]);
        if (value !== undefined) {
            (state as unknown as Record<string, number>)[key] = value;
        }
    }
    if (typeof r.bucket === 'string') {
        state.bucket = r.bucket;
    }
    return state;
}

/** Two views of an announced window: the same window → the fewer requests left; else the later window. */
function mergeWindow(a: PaceState, b: PaceState): { remaining?: number; resetAt?: number } {
    if (a.resetAt === undefined || b.resetAt === undefined) {
        return a.resetAt !== undefined ? { remaining: a.remaining, resetAt: a.resetAt } : { remaining: b.remaining, resetAt: b.resetAt };
    }
    if (Math.abs(a.resetAt - b.resetAt) < 1000) {
        return { remaining: Math.min(a.remaining || 0, b.remaining || 0), resetAt: Math.max(a.resetAt, b.resetAt) };
    }
    return a.resetAt > b.resetAt ? { remaining: a.remaining, resetAt: a.resetAt } : { remaining: b.remaining, resetAt: b.resetAt };
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
