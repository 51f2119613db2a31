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
     * the limit its 429s revealed, kept as a leaky bucket (`learnedBurst` at once, then one each
     * `learnedGapMs`) so the next requests do not run into it again.
     */
    learnedGapMs?: number;
    /** How many requests the service let through at once before its first 429 (1: not shown). */
    learnedBurst?: number;
    /** When that limit was last shown (it is forgotten learnedTtlMs later). */
    learnedAt?: number;
    /**
     * The run of back-to-back sends this budget is in (none more than BACK_TO_BACK_MS after the
     * one before): when its first went and how many of it were accepted. Kept while nothing is
     * published: a run's first 429 shows the service's burst and spacing.
     */
    runFrom?: number;
    runAccepted?: number;
    /** When the run's first request was answered, if nothing else was out (see acceptedInRun). */
    runFirstAnsweredAt?: number;
    /** A run too long to show the burst: how many it let in before its 429, in how long (learnFromRefusal). */
    filledBy?: number;
    filledInMs?: number;
    /** When the service's last 429 said the next request would fit, and how many it accepted since (learnFromRefusal). */
    refusalAllowedAt?: number;
    acceptedSinceRefusal?: number;
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
/** A learned burst is at most this many requests (Synapse's default is 10). */
const MAX_LEARNED_BURST = 1000;
/** A send this soon after the previous accepted one is "right after" it (for learning a spacing). */
const BACK_TO_BACK_MS = 2000;
/**
 * A learned limit holds this long after the 429 that last showed it. A burst and its interval are
 * the service's configuration (Synapse's rc_message): kept ten minutes (learned again, a 429 or a
 * few). An interval without a burst, or a long run's bounds, is kept a minute: a burst too small
 * holds bursts back, and nothing but the limit's end shows it (sent one by one, the requests would
 * never show the burst they may make).
 */
function learnedTtlMs(state: PaceState): number {
    return (state.learnedBurst || 1) > 1 && state.filledBy === undefined ? 600000 : 60000;
}

/**
 * A learned interval is kept this much longer (5 ms a second): learned from send times, it is off
 * by the difference in the requests' ways there, a few ms, and a bucket counted a millisecond short
 * is a 429 nine requests later (Matrix, 30 at once: one in three runs). 0.1 s of Synapse's best 20 s.
 */
const LEARNED_SHARE = 0.005;

/** The limit a service's 429s revealed, as a leaky bucket, while it holds. */
function learnedLimit(state: PaceState | undefined, now: number): PublishedLimit | undefined {
    if (!state || !state.learnedGapMs || now - (state.learnedAt || 0) >= learnedTtlMs(state)) {
        return undefined;
    }
    const burst = state.learnedBurst || 1;
    return { requests: burst, perMs: burst * state.learnedGapMs * (1 + LEARNED_SHARE), leaky: true };
}

/** The limits to keep: the published ones, else the learned one. */
function limitsKept(state: PaceState | undefined, limits: readonly PublishedLimit[], now: number): readonly PublishedLimit[] {
    const learned = limits.length === 0 ? learnedLimit(state, now) : undefined;
    return learned ? [learned] : limits;
}

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
export function paceDelay(state: PaceState | undefined, published: readonly PublishedLimit[], now: number): number {
    if (!state) {
        return 0;
    }
    let at = state.notBefore;
    for (const limit of limitsKept(state, published, now)) {
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
    const wait = at - now;
    return wait > 0 ? wait : 0; // a stored time gone wrong (NaN) must not hold the destination for good
}

/** Notes a request going out now (the published windows count it). */
export function recordSend(state: PaceState | undefined, published: readonly PublishedLimit[], now: number): PaceState {
    const base = spend(state || freshPace(), now);
    if (published.length === 0) {
        const lastSent = base.lastSentAt !== undefined ? base.lastSentAt : base.lastAcceptedAt;
        if (base.runFrom === undefined || lastSent === undefined || now - lastSent > BACK_TO_BACK_MS) {
            base.runFrom = now;
            base.runAccepted = 0;
            base.runFirstAnsweredAt = undefined;
        }
    }
    const limits = limitsKept(state, published, now);
    const leaky = leakyLimit(limits);
    if (leaky) {
        if (base.refusalAllowedAt !== undefined && (base.emptyAt || 0) + leaky.perMs / leaky.requests <= now) {
            // The bucket has been empty a whole interval since the last 429: the requests since no
            // longer tell its interval (learnFromRefusal). Not at once: one at a time, each request
            // goes when the bucket as learned is empty, and the service's may still be full.
            base.refusalAllowedAt = undefined;
            base.acceptedSinceRefusal = undefined;
        }
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
 * a 429 also shows the limit (learnFromRefusal) and where its bucket is.
 */
export function recordAnswer(state: PaceState | undefined, announcement: RateAnnouncement | undefined, retryAfterMs: number | undefined, now: number, learn = false, alone = false, published: readonly PublishedLimit[] = []): PaceState {
    const base = alone ? anchorAtQuiet(state || freshPace(), limitsKept(state, published, now), now) : state || freshPace();
    if (retryAfterMs === undefined) {
        // The service counted the request somewhere between its send and this answer: the
        // published windows count it from the answer, so a slow first request (a new
        // connection) cannot make the next one arrive early by the service's clock. `alone`
        // (no other request of this budget out): the answer is this request's for sure, and a
        // window anchored there needs no allowance (2 % of every spacing: 0.6 s of Slack's best
        // 29 s for 30 messages, issue 18).
        const recent = base.recent.map((t) => (t === base.lastSentAt ? now : t));
        const answered = alone && base.lastSentAt !== undefined && base.recent.indexOf(base.lastSentAt) >= 0 ? { lastAnswerAt: now } : {};
        return { ...settle(base, announcement), recent, lastAcceptedAt: base.lastSentAt !== undefined ? base.lastSentAt : now, refusedSince: undefined, ...answered, ...acceptedInRun(base, alone, now) };
    }
    const next = settle(base, announcement);
    next.notBefore = Math.max(next.notBefore, now + Math.max(0, retryAfterMs));
    // The service counts from when each request reached it: the refused request's send plus its
    // wait is when it lets the next one through. The way there is in this and in every other send
    // time and cancels; the way back (a busy runtime reading the answer late, a server that holds
    // its 429s) is in none. Counted to the answer's arrival, every later request waited that much
    // longer too (issue 18: 1030–1080 ms learned where the server allowed 1000).
    const refusedSentAt = base.lastSentAt !== undefined ? base.lastSentAt : now;
    const allowedAt = refusedSentAt + Math.max(0, retryAfterMs);
    // Only the first 429 right after an accepted request shows the service's limit; later ones
    // in a row, or one long after the last acceptance, say nothing about it.
    const firstRefusal = base.lastAcceptedAt !== undefined && base.lastSentAt !== undefined && base.lastSentAt - base.lastAcceptedAt <= BACK_TO_BACK_MS && !base.refusedSince;
    next.refusedSince = base.refusedSince || now;
    if (!learn) {
        return next;
    }
    Object.assign(next, learnFromRefusal(base, allowedAt, retryAfterMs, firstRefusal, now), { refusalAllowedAt: allowedAt, acceptedSinceRefusal: 0 });
    const learned = learnedLimit(next, now);
    if (learned) {
        // Where the service's bucket is, as it just said: the next request fits at `allowedAt`,
        // counted from the refused request's send; kept 2 % of an interval later, as a published
        // window is kept wider: the next request's way there may be shorter (two instances, a
        // request 3 ms early and refused). With another request of this budget out (it may be
        // accepted after this refusal), the fuller of that and this view's own count.
        const interval = learned.perMs / learned.requests;
        const synced = allowedAt + Math.ceil(interval * SKEW_SHARE) + (learned.requests - 1) * interval;
        next.emptyAt = alone || next.emptyAt === undefined ? synced : Math.max(synced, next.emptyAt);
        next.quietEmptyAt = alone ? next.emptyAt : undefined;
        next.sinceQuiet = alone ? 0 : undefined;
    }
    return next;
}

/**
 * One more request of the run accepted. The run starts where its first request reached the
 * service, not where it was sent: a first request on a new connection spends its setup on the way
 * there (30 ms here, a TLS handshake's round trips over the internet), and counted from its send
 * the learned interval came out that much long (1 032 ms where Synapse allowed 1 000). Answered
 * alone, the first arrived at most a round trip before its answer; the second's round trip, on the
 * connection the first opened, is that round trip.
 */
function acceptedInRun(base: PaceState, alone: boolean, now: number): Partial<PaceState> {
    const since = base.refusalAllowedAt !== undefined ? { acceptedSinceRefusal: (base.acceptedSinceRefusal || 0) + 1 } : {};
    if (base.runFrom === undefined) {
        return since;
    }
    const runAccepted = (base.runAccepted || 0) + 1;
    if (alone && runAccepted === 1) {
        return { ...since, runAccepted, runFirstAnsweredAt: now };
    }
    if (alone && runAccepted === 2 && base.runFirstAnsweredAt !== undefined && base.lastSentAt !== undefined) {
        return { ...since, runAccepted, runFrom: Math.max(base.runFrom, base.runFirstAnsweredAt - (now - base.lastSentAt)) };
    }
    return { ...since, runAccepted };
}

/**
 * What a 429 shows of a limit the service does not state (Matrix: Synapse's rc_message, a leaky
 * bucket of `burst_count` leaking `per_second`; each homeserver sets its own).
 *
 * A run's first 429 (`firstRefusal`): into an empty bucket, a quick run is let through up to the
 * burst and refused at the next, and the service lets the next one through one interval after the
 * run's first request reached it: that is the interval, and the requests accepted are the burst
 * (a run into a bucket not empty shows a smaller burst and an interval that a later 429 corrects).
 * A run as long as the wait it ended with has leaked requests on its way: it shows only a lower
 * bound on the interval (from the last accepted request: that one fitted, so the next fits one
 * interval after it at the latest) and, with it, one on the burst (what the run let in less what
 * leaked meanwhile at that interval; more leaked at the real one, and a bucket not empty at the
 * run's start held more). A stream goes early at an interval too short, and a 429 corrects it; a
 * burst too small holds a later burst back, which no 429 shows: bounds are kept a minute
 * (learnedTtlMs). The run's count and length are kept until a later 429 gives the interval.
 *
 * A 429 after requests accepted since the last one, the bucket not empty a whole interval between
 * (as the learned limit counts it; recordSend): the bucket was full at both 429s, so the service
 * let those requests in one interval apart: the time between the two times it named, divided by
 * their number, is the interval, however late each was sent. Counted from the last accepted
 * request instead, an interval learned short stayed short when that one went late (Matrix,
 * 3 rooms × 20: a 429 every second for forty seconds). It replaces the last, growing by half at
 * most (acceptances it did not count, another client's on the same account, would make it too
 * long, and a limit kept too slow shows no 429 to correct it); a long run's bound is no interval
 * to stay near (grown by half from it, a stream at twice Synapse's rate drew 4 429s where 2 show
 * the limit): from a bound it may grow to twice the run's length (a run into an empty bucket and
 * its 429's wait span at least one interval, and the run was the longer; into a fuller one a
 * clipped interval grows by half at each later 429). The guard against uncounted acceptances is
 * then that wide. With the interval known, the
 * long run's count shows the burst exactly.
 */
function learnFromRefusal(base: PaceState, allowedAt: number, retryAfterMs: number, firstRefusal: boolean, now: number): Partial<PaceState> {
    const held = learnedLimit(base, now);
    const between = base.acceptedSinceRefusal || 0;
    // The limit held is a long run's lower bounds (its count and length kept), not a measured one.
    const bounded = held !== undefined && base.filledBy !== undefined && base.filledInMs !== undefined;
    const exact = { filledBy: undefined, filledInMs: undefined };
    if (held && base.learnedGapMs && base.refusalAllowedAt !== undefined && between >= 1) {
        const cap = bounded ? Math.max(2 * base.filledInMs!, 1.5 * base.learnedGapMs) : 1.5 * base.learnedGapMs;
        const interval = Math.min((allowedAt - base.refusalAllowedAt) / between, cap);
        const filled = bounded ? Math.ceil(base.filledBy! - base.filledInMs! / interval) : held.requests;
        return within({ learnedGapMs: interval, learnedBurst: Math.max(1, filled), learnedAt: now, ...exact });
    }
    if (!firstRefusal) {
        return {};
    }
    const fromLast = allowedAt - base.lastAcceptedAt!;
    const runLength = base.runFrom !== undefined ? allowedAt - retryAfterMs - base.runFrom : Infinity;
    if (runLength < retryAfterMs && (base.runAccepted || 0) > 1) {
        return within({ learnedGapMs: Math.max(allowedAt - base.runFrom!, fromLast), learnedBurst: base.runAccepted!, learnedAt: now, ...exact });
    }
    const atLeast = Math.max(held ? base.learnedGapMs! : 0, fromLast);
    if (held && !bounded) {
        return within({ learnedGapMs: atLeast, learnedBurst: held.requests, learnedAt: now });
    }
    if (runLength === Infinity || !(atLeast > 0)) {
        return within({ learnedGapMs: atLeast, learnedBurst: 1, learnedAt: now });
    }
    const filledBy = base.runAccepted || 0;
    return within({ learnedGapMs: atLeast, learnedBurst: Math.max(1, Math.ceil(filledBy - runLength / atLeast)), learnedAt: now, filledBy, filledInMs: runLength });
}

/** A learned limit as a service could have it: an interval up to MAX_LEARNED_GAP_MS, a burst up to MAX_LEARNED_BURST. */
function within(learned: Partial<PaceState>): Partial<PaceState> {
    if (!(learned.learnedGapMs! > 0 && learned.learnedGapMs! <= MAX_LEARNED_GAP_MS)) {
        return {};
    }
    return { ...learned, learnedBurst: Math.min(learned.learnedBurst || 1, MAX_LEARNED_BURST) };
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
        learnedBurst: learned.learnedBurst,
        learnedAt: learned.learnedAt,
        filledBy: learned.filledBy,
        filledInMs: learned.filledInMs,
        // The run the latest send is in; both views counted its acceptances (the fewer may have missed some).
        runFrom: latest.runFrom,
        runFirstAnsweredAt: latest.runFirstAnsweredAt,
        // The latest send's view's last 429 (it may have found the bucket emptied since and dropped
        // it), and the more acceptances either view counted since that same 429.
        refusalAllowedAt: latest.refusalAllowedAt,
        acceptedSinceRefusal: other.refusalAllowedAt === latest.refusalAllowedAt && other.acceptedSinceRefusal !== undefined ? Math.max(latest.acceptedSinceRefusal || 0, other.acceptedSinceRefusal) : latest.acceptedSinceRefusal,
        runAccepted: other.runFrom === latest.runFrom && other.runAccepted !== undefined ? Math.max(latest.runAccepted || 0, other.runAccepted) : latest.runAccepted,
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
    const optional: Array<keyof PaceState> = ['remaining', 'resetAt', 'lastSentAt', 'lastAcceptedAt', 'lastAnswerAt', 'learnedGapMs', 'learnedBurst', 'learnedAt', 'runFrom', 'runAccepted', 'runFirstAnsweredAt', 'refusalAllowedAt', 'acceptedSinceRefusal', 'filledBy', 'filledInMs', 'refusedSince', 'emptyAt', 'quietEmptyAt', 'sinceQuiet'];
    for (const key of optional) {
        const value = num(r[key]);
        if (value !== undefined) {
            (state as unknown as Record<string, number>)[key] = value;
        }
    }
    if (typeof r.bucket === 'string') {
        state.bucket = r.bucket;
    }
    // A learned limit only as learnFromRefusal could have left it: an interval up to
    // MAX_LEARNED_GAP_MS and a whole burst (a burst of 1e306 made every wait NaN).
    if (state.learnedGapMs !== undefined && !(state.learnedGapMs > 0 && state.learnedGapMs <= MAX_LEARNED_GAP_MS)) {
        delete state.learnedGapMs;
    }
    if (state.learnedBurst !== undefined && !(Number.isInteger(state.learnedBurst) && state.learnedBurst >= 1 && state.learnedBurst <= MAX_LEARNED_BURST)) {
        delete state.learnedBurst;
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
