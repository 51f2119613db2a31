import { RateLimiter } from '../../../src/core/rateLimit';

describe('RateLimiter', () => {
    it('allows a burst, then refuses with the wait until the next token', () => {
        let now = 0;
        const limiter = new RateLimiter(() => now);
        const results = Array.from({ length: 6 }, () => limiter.take('ci', 60, 5));
        expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, true, false]);
        expect(results[5].retryAfterSeconds).toBe(1); // 60/min = one a second
        now += 1000;
        expect(limiter.take('ci', 60, 5).allowed).toBe(true);
        expect(limiter.take('ci', 60, 5).allowed).toBe(false);
    });

    it.each([
        ['sources are limited separately', 'other', 2, true],
        ['0 means no limit', 'ci', 0, true],
    ])('%s', (_label, key, perMinute, allowed) => {
        const limiter = new RateLimiter(() => 0);
        for (let i = 0; i < 3; i++) limiter.take('ci', 2, 2);
        expect(limiter.take(key, perMinute, 2).allowed).toBe(allowed);
    });

    it('refills at most to the burst size', () => {
        let now = 0;
        const limiter = new RateLimiter(() => now);
        limiter.take('ci', 60, 2);
        now += 3600000;
        expect([1, 2, 3].map(() => limiter.take('ci', 60, 2).allowed)).toEqual([true, true, false]);
    });
});
