import { ConfigError } from '../../../src/core/errors';
import { ConfigStore } from '../../../src/shell/configStore';
import type { AdapterRegistry } from '../../../src/core/config';

// An adapter that, like many real validators, quotes the offending value in its error.
const quotingRegistry: AdapterRegistry = {
    adapterForType: (type) =>
        type === 'quote'
            ? ({
                  type: 'quote',
                  schemes: [],
                  capabilities: () => ({ edit: false, delete: false, threads: false, upload: false }),
                  parseConfig: (raw: Record<string, unknown>) => {
                      if (String(raw.url).indexOf('bad') >= 0) throw new ConfigError('url', `cannot use "${raw.url}"`);
                      return raw;
                  },
                  fromUrl: () => ({ config: {} }),
                  endpoints: () => [],
                  describe: () => 'quote',
                  buildRequests: () => [],
                  readResponse: () => ({}),
              } as any)
            : undefined,
    types: () => ['quote'],
    parseTargetUrl: () => {
        throw new ConfigError('url', 'no URLs here');
    },
};

const config = (url: string) => JSON.stringify({ instances: { q: { type: 'quote', url } }, rules: [{ from: { rocketchat: { room: '#a' } }, to: { q: {} } }] });

describe('ConfigStore', () => {
    it.each([
        ['secret value replaced by its reference', 'https://x/bad/${TOKEN}', 'TOKEN=hunter2-secret', /cannot use "https:\/\/x\/\*\*\*"/, /hunter2|bad/],
        ['two secrets, both redacted', 'https://${USER}/bad/${TOKEN}', 'USER=alice-admin TOKEN=hunter2-secret', /"https:\/\/\$\{USER\}\/\*\*\*"/, /alice-admin|hunter2/],
        ['malformed secrets are reported masked', 'https://x/ok', 'TOKEN hunter2', /secrets: "TO\**" is not NAME=value/, /hunter2/],
    ])('%s', (_label, url, secrets, shown, hidden) => {
        const result = new ConfigStore(quotingRegistry).check(config(url), secrets);
        expect(result.ok).toBe(false);
        const error = (result as { error: string }).error;
        expect(error).toMatch(shown);
        expect(error).not.toMatch(hidden);
    });

    it('keeps the last valid configuration when a new one is invalid', () => {
        const store = new ConfigStore(quotingRegistry);
        expect(store.apply(config('https://x/good'), '')).toMatchObject({ ok: true });
        const first = (store as any).active;
        expect(store.apply(config('https://x/bad'), '')).toMatchObject({ ok: false });
        expect((store as any).active).toBe(first);
        expect(store.lastError).toMatch(/instances\.q\.url: cannot use/);
        // The same text again is not re-parsed.
        expect(store.apply(config('https://x/bad'), '')).toBeUndefined();
    });
});
