import { maskUrl, maskUrlsIn, originOf, Redactor } from '../../../src/core/redact';
import { parseRelayConfig } from '../../../src/core/config';
import { linkableFrom } from '../../../src/core/links';
import { targetRegistry } from '../../../src/targets';

describe('maskUrl / originOf / maskUrlsIn', () => {
    it.each([
        ['discord://123/secret-token', 'discord://123/***'],
        ['rockets://user:pass@chat.example.com/#x', 'rockets://***@chat.example.com/***'],
        ['tgram://123456:ABC-def/chat', 'tgram://***/***'], // a token where the host belongs
        ['https://example.com', 'https://example.com'],
        ['not a url', '***'],
    ])('%s → %s', (url, masked) => expect(maskUrl(url)).toBe(masked));

    it('originOf drops credentials, path and query', () => expect(originOf('https://u:p@h.example:8443/a/b?c=d')).toBe('https://h.example:8443'));

    it('masks every URL in a text, leaving punctuation after it', () =>
        expect(maskUrlsIn('POST https://h.example/hooks/abc failed; see http://x.example:80/p.')).toBe('POST https://h.example/*** failed; see http://x.example:80/***.'));
});

describe('Redactor', () => {
    const redactor = Redactor.of(new Map([['HOOK', 'secret-hook-value']]), [
        { url: 'https://hooks.example/hooks/inline-hook-value?sig=signature-value', bot_token: '12345:bot-token-value', channel: 'general' },
        { token: 'inbound-token-0123456789' },
    ]);

    it.each([
        ['no hook at /hooks/secret-hook-value', 'no hook at /hooks/${HOOK}'],
        ['no hook at /hooks/inline-hook-value', 'no hook at /hooks/***'],
        ['bad sig signature-value', 'bad sig ***'],
        ['token 12345:bot-token-value rejected', 'token *** rejected'],
        ['percent-encoded inbound-token-0123456789 and %2Fhooks', 'percent-encoded *** and %2Fhooks'],
        ['POST https://hooks.example/hooks/inline-hook-value?sig=x', 'POST https://hooks.example/***'],
        ['channel general not found', 'channel general not found'], // not a credential
    ])('%s', (text, scrubbed) => expect(redactor.scrub(text)).toBe(scrubbed));
});

describe('target addresses and linkable instances in the configuration', () => {
    const config = (instance: Record<string, unknown>) => JSON.stringify({ instances: { t: instance }, rules: [{ from: { rocketchat: { room: '#a' } }, to: { t: {} } }] });

    it.each([
        [{ type: 'webhook', url: 'http://127.0.0.1:9/x' }, /^instances\.t\.url: http:\/\/127\.0\.0\.1:9 is a private, loopback or reserved address/],
        [{ url: 'json://10.1.2.3/x' }, /^instances\.t\.url: http:\/\/10\.1\.2\.3 is a private/],
        [{ type: 'matrix', homeserver: 'http://169.254.169.254', access_token: 'tok', room_id: '!r:x' }, /^instances\.t\.homeserver: http:\/\/169\.254\.169\.254 is a private/],
        [{ type: 'webhook', url: 'http://metadata.google.internal/x' }, /^instances\.t\.url: http:\/\/metadata\.google\.internal is a local or internal host name/],
    ])('refuses %j unless allowed', (instance, error) => {
        expect(() => parseRelayConfig(config(instance), targetRegistry)).toThrow(error);
        const host = new URL(String(instance.url || instance.homeserver).replace(/^json:/, 'http:')).hostname;
        expect(() => parseRelayConfig(config(instance), targetRegistry, { privateHostsAllowed: [host] })).not.toThrow();
    });

    it('reads linkable: true, a room list, or nothing', () => {
        const parse = (linkable?: unknown) => parseRelayConfig(config({ type: 'webhook', url: 'https://hooks.example/x', ...(linkable === undefined ? {} : { linkable }) }), targetRegistry).instances.get('t')!;
        const room = { id: 'R1', name: 'ops' };
        expect(linkableFrom(parse(), room)).toBe(false);
        expect(linkableFrom(parse(true), room)).toBe(true);
        expect(linkableFrom(parse(['#ops']), room)).toBe(true);
        expect(linkableFrom(parse(['R1']), room)).toBe(true);
        expect(linkableFrom(parse(['#dev']), room)).toBe(false);
        expect(() => parse('yes')).toThrow(/instances\.t\.linkable: must be a non-empty array/);
    });
});
