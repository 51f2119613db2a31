// Token buckets per key (an inbound source): `perMinute` requests a minute on average, bursts up
// to `burst`. In memory, per runtime: a flood is stopped where it arrives, and a restart forgives.

export interface RateDecision {
    allowed: boolean;
    /** When refused: seconds until one request is allowed again. */
    retryAfterSeconds?: number;
}

interface Bucket {
    tokens: number;
    updatedAt: number;
}

const MAX_KEYS = 10000;

export class RateLimiter {
    private readonly buckets = new Map<string, Bucket>();

    constructor(private readonly clock: () => number = Date.now) {}

    /** Whether `take` would allow a request now, without using anything up. */
    public check(key: string, perMinute: number, burst: number): RateDecision {
        const bucket = this.buckets.get(key);
        if (!(perMinute > 0) || !bucket) {
            return { allowed: true };
        }
        const ratePerMs = perMinute / 60000;
        const tokens = Math.min(burst, bucket.tokens + (this.clock() - bucket.updatedAt) * ratePerMs);
        return tokens >= 1 ? { allowed: true } : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / ratePerMs / 1000)) };
    }

    public take(key: string, perMinute: number, burst: number): RateDecision {
        if (!(perMinute > 0)) {
            return { allowed: true }; // 0 or unset: no limit
        }
        const now = this.clock();
        const ratePerMs = perMinute / 60000;
        let bucket = this.buckets.get(key);
        if (!bucket) {
            if (this.buckets.size >= MAX_KEYS) {
                this.buckets.clear(); // bounded memory; forgetting all buckets only forgives
            }
            bucket = { tokens: burst, updatedAt: now };
            this.buckets.set(key, bucket);
        }
        bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.updatedAt) * ratePerMs);
        bucket.updatedAt = now;
        if (bucket.tokens >= 1) {
            bucket.tokens -= 1;
            return { allowed: true };
        }
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000)) };
    }
}
