// Sink handlers that enforce a service's documented rate limit with that service's own headers and
// 429 answers, so pacing is tested against what the service really says:
// - Discord: 5 requests per 2 s per webhook (a fixed window per bucket), X-RateLimit-Limit,
//   -Remaining, -Reset, -Reset-After, -Bucket on every answer; 429 body { retry_after, global }.
// - Slack: about 1 message per second per channel; 429 with Retry-After (whole seconds).
// - Telegram: 1 message per second per chat, 20 per minute in a group; 429 with
//   { ok: false, error_code: 429, parameters: { retry_after } } (whole seconds).
// - Matrix: 429 { errcode: M_LIMIT_EXCEEDED, retry_after_ms }.
// The handler counts accepted requests and 429s per key; accepted requests get `accept`'s answer.
import { RecordedRequest, SinkHandler, SinkReply } from './sink';

export interface LimitStats {
    accepted: RecordedRequest[];
    rejected: RecordedRequest[];
}

export interface LimitedHandler {
    handler: SinkHandler;
    stats: LimitStats;
}

interface Window {
    requests: number;
    perMs: number;
}

/** Sliding windows: a request is refused when any window already holds `requests` requests. */
class SlidingLimiter {
    private readonly sent = new Map<string, number[]>();

    constructor(private readonly windows: (key: string) => Window[]) {}

    /** ms until a request for `key` would be allowed (0 = now; the request is counted). */
    take(key: string, now: number): number {
        const times = this.sent.get(key) || [];
        let wait = 0;
        for (const w of this.windows(key)) {
            const inWindow = times.filter((t) => t > now - w.perMs);
            if (inWindow.length >= w.requests) {
                wait = Math.max(wait, inWindow[inWindow.length - w.requests] + w.perMs - now);
            }
        }
        if (wait === 0) {
            const longest = Math.max(...this.windows(key).map((w) => w.perMs));
            this.sent.set(key, times.filter((t) => t > now - longest).concat(now));
        }
        return wait;
    }
}

function limited(keyOf: (req: RecordedRequest) => string, decide: (key: string, req: RecordedRequest, now: number) => SinkReply | undefined, accept: SinkHandler): LimitedHandler {
    const stats: LimitStats = { accepted: [], rejected: [] };
    const handler: SinkHandler = async (req, index) => {
        const refusal = decide(keyOf(req), req, Date.now());
        if (refusal) {
            stats.rejected.push(req);
            return refusal;
        }
        stats.accepted.push(req);
        return accept(req, index);
    };
    return { handler, stats };
}

/** Discord: 5 per 2 s per webhook, a fixed window that starts with its first request. */
export function discordLimited(accept: SinkHandler, limit = 5, windowMs = 2000): LimitedHandler {
    const windows = new Map<string, { start: number; used: number }>();
    const stats: LimitStats = { accepted: [], rejected: [] };
    const handler: SinkHandler = async (req, index) => {
        const now = Date.now();
        const key = req.path.replace(/\/messages\/.*$/, ''); // /api/webhooks/<id>/<token>
        let window = windows.get(key);
        if (!window || now >= window.start + windowMs) {
            window = { start: now, used: 0 };
            windows.set(key, window);
        }
        const resetAfter = Math.max(0, window.start + windowMs - now) / 1000;
        const headers = (remaining: number) => ({
            'X-RateLimit-Limit': String(limit),
            'X-RateLimit-Remaining': String(remaining),
            'X-RateLimit-Reset': ((window!.start + windowMs) / 1000).toFixed(3),
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

/** Slack: 1 per second per channel (the channel is the webhook URL or the body's `channel`). */
export function slackLimited(accept: SinkHandler, perSecond = 1): LimitedHandler {
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
export function telegramLimited(accept: SinkHandler): LimitedHandler {
    const limiter = new SlidingLimiter((chat) => (chat.startsWith('-') ? [{ requests: 1, perMs: 1000 }, { requests: 20, perMs: 60000 }] : [{ requests: 1, perMs: 1000 }]));
    return limited(
        (req) => String((req.json && req.json.chat_id) || req.query.chat_id || ''),
        (key, _req, now) => {
            const wait = limiter.take(key, now);
            const seconds = Math.ceil(wait / 1000);
            return wait > 0 ? { status: 429, body: { ok: false, error_code: 429, description: `Too Many Requests: retry after ${seconds}`, parameters: { retry_after: seconds } } } : undefined;
        },
        accept,
    );
}

/** Matrix: `perSecond` sends per room, 429 M_LIMIT_EXCEEDED with retry_after_ms. */
export function matrixLimited(accept: SinkHandler, perSecond = 1): LimitedHandler {
    const limiter = new SlidingLimiter(() => [{ requests: perSecond, perMs: 1000 }]);
    return limited(
        (req) => (/\/rooms\/([^/]+)\//.exec(req.path) || ['', req.path])[1],
        (key, req, now) => {
            if (req.method === 'GET' || /\/login$/.test(req.path)) {
                return undefined;
            }
            const wait = limiter.take(key, now);
            return wait > 0 ? { status: 429, body: { errcode: 'M_LIMIT_EXCEEDED', error: 'Too many requests', retry_after_ms: wait } } : undefined;
        },
        accept,
    );
}
