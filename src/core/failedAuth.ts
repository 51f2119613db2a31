import { RateLimiter } from './rateLimit';

// Guessing tokens is limited: failed authentications count per client address and per named
// source, and once a key is over its allowance the request is refused before any comparison, so a
// guess past the limit learns nothing. Shared by every endpoint that takes a token.

/** Failed authentications allowed per key a minute (also the burst). */
export const FAILED_AUTH_PER_MINUTE = 10;

/**
 * The client's address as the proxy in front of Rocket.Chat reports it: the server passes app
 * endpoints the request's headers only. Without such a proxy a client can write these headers
 * itself, so the per-address limit is then only as good as the per-source one.
 */
export function clientAddress(headers: Record<string, string | undefined>): string | undefined {
    const forwarded = (headers['x-forwarded-for'] || '').split(',')[0].trim();
    return (forwarded || (headers['x-real-ip'] || '').trim()).slice(0, 64) || undefined;
}

export class FailedAuthLimit {
    constructor(private readonly limiter: RateLimiter, private readonly scope: string) {}

    /**
     * The keys a request's failures count against. Without an address (no proxy header) every
     * client would share one key and a stranger could lock everyone out: only the named source then.
     */
    public keys(headers: Record<string, string | undefined>, namedSource?: string): string[] {
        const client = clientAddress(headers);
        const keys = client ? [`${this.scope}:client:${client}`] : [];
        if (namedSource) {
            keys.push(`${this.scope}:source:${namedSource}`);
        }
        return keys;
    }

    /** Seconds to wait when one of the keys is over its allowance, else undefined. */
    public blocked(keys: string[]): number | undefined {
        for (const key of keys) {
            const decision = this.limiter.check(key, FAILED_AUTH_PER_MINUTE, FAILED_AUTH_PER_MINUTE);
            if (!decision.allowed) {
                return decision.retryAfterSeconds || 1;
            }
        }
        return undefined;
    }

    public failed(keys: string[]): void {
        keys.forEach((key) => this.limiter.take(key, FAILED_AUTH_PER_MINUTE, FAILED_AUTH_PER_MINUTE));
    }
}
