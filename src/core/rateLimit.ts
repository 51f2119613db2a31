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
