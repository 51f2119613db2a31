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

    it('a settings read under way when a change is saved does not hide the change from the next read', async () => {
        // Another caller (the backlog job, say) reads the settings; the admin saves a new
        // configuration before that read returns; onSettingUpdated invalidates the cache.
        const stored: Record<string, unknown> = { relay_config: config('https://x/old') };
        let hold: Promise<void> | undefined;
        const value = async (id: string) => {
            const v = stored[id];
            await hold;
            return v;
        };
        const read = {
            getEnvironmentReader: () => ({ getSettings: () => ({ getValueById: value }), getServerSettings: () => ({ getValueById: async () => undefined }) }),
            getPersistenceReader: () => ({ readByAssociations: async () => [], readByAssociation: async () => [] }),
        } as any;
        const store = new ConfigStore(quotingRegistry);
        let release!: () => void;
        hold = new Promise((r) => (release = r));
        const slow = store.current(read);
        await new Promise((r) => setImmediate(r));
        stored.relay_config = config('https://x/new');
        store.invalidate();
        hold = undefined;
        release();
        expect(urlOf(await slow)).toBe('https://x/old'); // what was stored when that read began
        expect(urlOf(await store.current(read))).toBe('https://x/new');
    });
});

const urlOf = (settings: { active?: { config: { instances: Map<string, { adapterConfig: unknown }> } } }) => (settings.active!.config.instances.get('q')!.adapterConfig as { url: string }).url;
