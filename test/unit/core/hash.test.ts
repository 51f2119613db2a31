import { createHash } from 'crypto';

import { fnv1a, messageIdFrom, sha256 } from '../../../src/core/hash';
import { targetHash } from '../../../src/core/outbox';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('sha256 (pure, for the sandbox)', () => {
    // Block boundaries (55/56/64 bytes), multi-byte UTF-8, astral and lone surrogates.
    const inputs = ['', 'abc', 'a'.repeat(55), 'a'.repeat(56), 'a'.repeat(64), 'a'.repeat(1000), 'grüße ☃ 😀', '\ud800x', 'src\nkey\n0\nGENERAL'];
    it.each(inputs.map((s) => [JSON.stringify(s).slice(0, 30), s]))('matches node:crypto for %s', (_label, input) => {
        expect(hex(sha256(input))).toBe(createHash('sha256').update(Buffer.from(input, 'utf8')).digest('hex'));
    });
});

describe('messageIdFrom', () => {
    it('is a Rocket.Chat-style id: 17 characters of Random.id()’s alphabet, stable per seed', () => {
        const id = messageIdFrom('ci\nkey-1\nGENERAL\n0');
        expect(id).toMatch(/^[23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz]{17}$/);
        expect(messageIdFrom('ci\nkey-1\nGENERAL\n0')).toBe(id);
        expect(messageIdFrom('ci\nkey-1\nGENERAL\n1')).not.toBe(id);
    });
    it('spreads: 20 000 seeds give 20 000 ids', () => {
        const ids = new Set(Array.from({ length: 20000 }, (_, i) => messageIdFrom(`s\n${i}`)));
        expect(ids.size).toBe(20000);
    });
});

describe('fnv1a and the stored target hash', () => {
    it('keeps the formats persisted records already use', () => {
        expect(fnv1a('')).toBe('811c9dc5');
        expect(fnv1a('a')).toBe('e40c292c');
        // targetHash has no zero padding (entry ids in existing outboxes were written that way).
        for (const key of ['dc\n{}', 'x', 'hook\n{"room":"#a"}']) {
            expect(targetHash(key)).toBe(`t${parseInt(fnv1a(key), 16).toString(16)}`);
        }
    });
});
