// Request handlers that enforce a service's documented rate limit with that service's own headers
// and 429 answers, so pacing is tested against what the service really says. Plain JS: the test
// sinks (test/support/sink.ts) and the benchmarks (bench/lib/pacing.js) both use them.
// - Discord: 5 requests per 2 s per webhook (a fixed window per bucket), X-RateLimit-Limit,
//   -Remaining, -Reset, -Reset-After, -Bucket on every answer; 429 body { retry_after, global }.
// - Slack: about 1 message per second per channel; 429 with Retry-After (whole seconds).
// - Telegram: 1 message per second per chat, 20 per minute in a group; 429 with
//   { ok: false, error_code: 429, parameters: { retry_after } } (whole seconds).
// - Matrix (Synapse, the reference homeserver): rc_message limits sending per *account*, over all
//   its rooms, as a leaky bucket (default per_second 0.2, burst_count 10: docs/usage/configuration/
//   config_documentation.md, synapse/api/ratelimiting.py); 429 { errcode: M_LIMIT_EXCEEDED,
//   retry_after_ms } until the bucket has room for one more.
// A handler takes { method, path, query, json } and returns { status, headers, body }; accepted
// requests get `accept`'s answer. `stats` lists the accepted and refused requests.
'use strict';

/** Sliding windows: a request is refused when any window already holds `requests` requests. */
class SlidingLimiter {
    constructor(windowsFor) {
        this.windowsFor = windowsFor;
        this.sent = new Map();
    }

    /** ms until a request for `key` would be allowed (0 = now, and the request is counted). */
    take(key, now) {
        const times = this.sent.get(key) || [];
        const windows = this.windowsFor(key);
        let wait = 0;
        for (const w of windows) {
            const inWindow = times.filter((t) => t > now - w.perMs);
            if (inWindow.length >= w.requests) wait = Math.max(wait, inWindow[inWindow.length - w.requests] + w.perMs - now);
        }
        if (wait === 0) {
            const longest = Math.max(...windows.map((w) => w.perMs));
            this.sent.set(key, times.filter((t) => t > now - longest).concat(now));
        }
        return wait;
    }
}

function limited(keyOf, refuse, accept) {
    const stats = { accepted: [], rejected: [] };
    const handler = async (req, index) => {
        const refusal = refuse(keyOf(req), req, Date.now());
        if (refusal) {
            stats.rejected.push(req);
            return refusal;
        }
        stats.accepted.push(req);
        return accept(req, index);
    };
    return { handler, stats };
}

/** Discord: `limit` per `windowMs` per webhook, a fixed window that starts with its first request. */
function discordLimited(accept, limit = 5, windowMs = 2000) {
    const windows = new Map();
    const stats = { accepted: [], rejected: [] };
    const handler = async (req, index) => {
        const now = Date.now();
        const key = req.path.replace(/\/messages\/.*$/, ''); // /api/webhooks/<id>/<token>
        let window = windows.get(key);
        if (!window || now >= window.start + windowMs) {
            window = { start: now, used: 0 };
            windows.set(key, window);
        }
        const resetAfter = Math.max(0, window.start + windowMs - now) / 1000;
        const headers = (remaining) => ({
            'X-RateLimit-Limit': String(limit),
            'X-RateLimit-Remaining': String(remaining),
            'X-RateLimit-Reset': ((window.start + windowMs) / 1000).toFixed(3),
            'X-RateLimit-Reset-After': resetAfter.toFixed(3),
            'X-RateLimit-Bucket': `bucket-${Buffer.from(key).toString('hex').slice(-12)}`,
        });
        if (window.used >= limit) {
            stats.rejected.push(req);
            return {
                status: 429,
                headers: { ...headers(0), 'Retry-After': String(Math.ceil(resetAfter)), 'X-RateLimit-Scope': 'user' },
                body: { message: 'You are being rate limited.', retry_after: Number(resetAfter.toFixed(3)), global: false },
            };
        }
        window.used += 1;
        stats.accepted.push(req);
        const reply = await accept(req, index);
        return { ...reply, headers: { ...(reply.headers || {}), ...headers(limit - window.used) } };
    };
    return { handler, stats };
}

/** Slack: `perSecond` per channel (the body's `channel`, else the webhook URL's path). */
function slackLimited(accept, perSecond = 1) {
    const limiter = new SlidingLimiter(() => [{ requests: perSecond, perMs: 1000 }]);
    return limited(
        (req) => (req.json && req.json.channel) || req.path,
        (key, _req, now) => {
            const wait = limiter.take(key, now);
            return wait > 0 ? { status: 429, headers: { 'Retry-After': String(Math.ceil(wait / 1000)) }, body: { ok: false, error: 'ratelimited' } } : undefined;
        },
        accept,
    );
}

/** Telegram: 1 per second per chat; groups (negative chat ids) also 20 per minute. */
function telegramLimited(accept) {
    const limiter = new SlidingLimiter((chat) => (chat.startsWith('-') ? [{ requests: 1, perMs: 1000 }, { requests: 20, perMs: 60000 }] : [{ requests: 1, perMs: 1000 }]));
    return limited(
        (req) => String((req.json && req.json.chat_id) || (req.query && req.query.chat_id) || ''),
        (key, _req, now) => {
            const wait = limiter.take(key, now);
            const seconds = Math.ceil(wait / 1000);
            return wait > 0 ? { status: 429, body: { ok: false, error_code: 429, description: `Too Many Requests: retry after ${seconds}`, parameters: { retry_after: seconds } } } : undefined;
        },
        accept,
    );
}

/**
 * Synapse's Ratelimiter (a leaky bucket as a meter): each key's bucket holds the requests let
 * through since it was last empty and leaks `perSecond`; a request is let through while fewer
 * than `burst` are in it, else refused with the time until one more fits.
 */
class LeakyBucket {
    constructor(perSecond, burst) {
        this.perSecond = perSecond;
        this.burst = burst;
        this.buckets = new Map(); // key -> { count, emptyAt }
    }

    /** ms until a request for `key` would be let through (0 = now, and it is counted). */
    take(key, now) {
        let bucket = this.buckets.get(key) || { count: 0, emptyAt: now };
        const inBucket = bucket.count - ((now - bucket.emptyAt) / 1000) * this.perSecond;
        if (inBucket < 0) bucket = { count: 0, emptyAt: now };
        this.buckets.set(key, bucket);
        if (Math.max(0, inBucket) > this.burst - 1) {
            const allowedAt = bucket.emptyAt + ((bucket.count - this.burst + 1) / this.perSecond) * 1000;
            return Math.max(1, Math.floor(allowedAt - now)); // Synapse: int(1000 * (time_allowed - now))
        }
        bucket.count += 1;
        return 0;
    }
}

/** The account a Matrix request is made as: its access token (header, or the query's access_token). */
function matrixAccount(req) {
    const auth = (req.headers && (req.headers.authorization || req.headers.Authorization)) || '';
    return (/^Bearer\s+(.+)$/i.exec(auth) || [])[1] || (req.query && req.query.access_token) || '';
}

/**
 * Matrix as Synapse limits it: events sent (PUT …/rooms/{room}/send/… and …/redact/…) per account over all its
 * rooms, a leaky bucket of `burst` leaking `perSecond` (Synapse's defaults unless given); 429
 * M_LIMIT_EXCEEDED with retry_after_ms. Logins, uploads and reads are not counted here.
 */
function matrixLimited(accept, { perSecond = 0.2, burst = 10 } = {}) {
    const bucket = new LeakyBucket(perSecond, burst);
    return limited(
        matrixAccount,
        (key, req, now) => {
            if (req.method === 'GET' || !/\/rooms\/[^/]+\/(send|redact)\//.test(req.path)) return undefined;
            const wait = bucket.take(key, now);
            return wait > 0 ? { status: 429, body: { errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: wait } } : undefined;
        },
        accept,
    );
}

module.exports = { discordLimited, slackLimited, telegramLimited, matrixLimited };
