// Request handlers that enforce a service's documented rate limit with that service's own headers
// and 429 answers, so pacing is tested against what the service really says. Plain JS: the test
// sinks (test/support/sink.ts) and the benchmarks (bench/lib/pacing.js) both use them.
// - Discord: 5 requests per 2 s per webhook (a fixed window per bucket), X-RateLimit-Limit,
//   -Remaining, -Reset, -Reset-After, -Bucket on every answer; 429 body { retry_after, global }.
// - Slack: about 1 message per second per channel; 429 with Retry-After (whole seconds).
// - Telegram: 1 message per second per chat, 20 per minute in a group; 429 with
//   { ok: false, error_code: 429, parameters: { retry_after } } (whole seconds).
// - Matrix: 429 { errcode: M_LIMIT_EXCEEDED, retry_after_ms }.
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

/** Matrix: `perSecond` sends per room; 429 M_LIMIT_EXCEEDED with retry_after_ms. */
function matrixLimited(accept, perSecond = 1) {
    const limiter = new SlidingLimiter(() => [{ requests: perSecond, perMs: 1000 }]);
    return limited(
        (req) => (/\/rooms\/([^/]+)\//.exec(req.path) || ['', req.path])[1],
        (key, req, now) => {
            if (req.method === 'GET' || /\/login$/.test(req.path)) return undefined;
            const wait = limiter.take(key, now);
            return wait > 0 ? { status: 429, body: { errcode: 'M_LIMIT_EXCEEDED', error: 'Too many requests', retry_after_ms: wait } } : undefined;
        },
        accept,
    );
}

module.exports = { discordLimited, slackLimited, telegramLimited, matrixLimited };
