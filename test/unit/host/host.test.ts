// The local host's Rocket.Chat stand-ins: scheduler, persistence association
// semantics, loud failures for bridges the app must not use.
/* eslint-disable @typescript-eslint/no-var-requires */
const { HostBridges, parseInterval } = require('../../../host/bridges');
const { HostState, PersistenceStore } = require('../../../host/state');

function fakeHost() {
    const host: any = { counters: { http: 0, persistence: 0, jobs: 0 }, notifications: [], emit: () => undefined, serverSettings: {} };
    host.state = new HostState({ siteUrl: 'http://localhost:1' });
    host.appUser = () => undefined;
    return host;
}

describe('parseInterval', () => {
    it.each([
        ['30 seconds', 30000],
        ['1 minute', 60000],
        ['500 ms', 500],
        [250, 250],
        ['2 hours', 7200000],
    ])('%s', (value, ms) => expect(parseInterval(value)).toBe(ms));

    it('refuses what it does not understand, loudly', () => {
        expect(() => parseInterval('*/5 * * * *')).toThrow(/unsupported schedule interval/);
    });
});

describe('persistence bridge', () => {
    const assoc = (model: string, id: string) => ({ model, id });
    it('matches records holding all the given associations, updates and upserts by them', async () => {
        const bridges = new HostBridges(fakeHost());
        const p = bridges.getPersistenceBridge();
        await p.createWithAssociations({ n: 1 }, [assoc('misc', 'kind'), assoc('message', 'm1')], 'app');
        await p.createWithAssociations({ n: 2 }, [assoc('misc', 'kind'), assoc('message', 'm2')], 'app');
        expect(await p.readByAssociations([assoc('misc', 'kind')], 'app')).toHaveLength(2);
        expect(await p.readByAssociations([assoc('misc', 'kind'), assoc('message', 'm2')], 'app')).toEqual([{ n: 2 }]);
        await p.updateByAssociations([assoc('misc', 'kind'), assoc('message', 'm2')], { n: 3 }, false, 'app');
        expect(await p.readByAssociations([assoc('message', 'm2')], 'app')).toEqual([{ n: 3 }]);
        await p.updateByAssociations([assoc('message', 'none')], { n: 4 }, false, 'app'); // no upsert, no record: nothing written, no error
        expect(await p.readByAssociations([assoc('message', 'none')], 'app')).toEqual([]);
        await p.updateByAssociations([assoc('message', 'm3')], { n: 4 }, true, 'app');
        expect(await p.readByAssociations([assoc('message', 'm3')], 'app')).toEqual([{ n: 4 }]);
        expect(await p.removeByAssociations([assoc('misc', 'kind')], 'app')).toHaveLength(2);
        expect(await p.readByAssociations([assoc('misc', 'kind')], 'app')).toEqual([]);
        expect(await p.readByAssociations([assoc('message', 'm3')], 'other-app')).toEqual([]); // apps are separate
    });

    it('updates only the record whose association array is exactly the one given, and only one', async () => {
        // bridges/persistence.ts updateByAssociations: updateOne({ appId, associations }) — array equality, not $all.
        const bridges = new HostBridges(fakeHost());
        const p = bridges.getPersistenceBridge();
        await p.createWithAssociations({ n: 1 }, [assoc('misc', 'kind'), assoc('message', 'm1')], 'app');
        await p.createWithAssociations({ n: 2 }, [assoc('misc', 'kind'), assoc('message', 'm1')], 'app');
        await p.updateByAssociations([assoc('message', 'm1'), assoc('misc', 'kind')], { n: 3 }, false, 'app'); // other order: no match
        await p.updateByAssociations([assoc('message', 'm1')], { n: 4 }, false, 'app'); // a subset: no match
        expect((await p.readByAssociations([assoc('message', 'm1')], 'app')).map((r: any) => r.n).sort()).toEqual([1, 2]);
        await p.updateByAssociations([assoc('misc', 'kind'), assoc('message', 'm1')], { n: 5 }, false, 'app');
        expect((await p.readByAssociations([assoc('message', 'm1')], 'app')).map((r: any) => r.n).sort()).toEqual([2, 5]);
        await p.updateByAssociations([assoc('message', 'm1')], { n: 6 }, true, 'app'); // upsert with another array: a new record
        expect(await p.readByAssociations([assoc('message', 'm1')], 'app')).toHaveLength(3);
    });

    it('its key index agrees with a full scan through sets, replacements, deletes and clear', () => {
        const store = new PersistenceStore();
        const scan = (keys: string[]) => [...store.entries()].filter(([, r]: any) => keys.every((k) => r.keys.includes(k))).map(([id]: any) => id).sort();
        const found = (keys: string[]) => store.withKeys(keys).map(([id]: any) => id).sort();
        const queries = [[], ['a'], ['b'], ['a', 'b'], ['c'], ['a', 'c'], ['missing']];
        const check = () => queries.forEach((q) => expect(found(q)).toEqual(scan(q)));
        store.set('1', { data: 1, keys: ['a', 'b'] });
        store.set('2', { data: 2, keys: ['a'] });
        store.set('3', { data: 3, keys: ['b', 'c'] });
        check();
        store.set('2', { data: 2, keys: ['c'] }); // same id, other keys
        check();
        store.delete('1');
        store.delete('nope');
        check();
        store.clear();
        check();
        store.set('4', { data: 4, keys: ['a', 'c'] });
        check();
        expect(found(['a', 'c'])).toEqual(['4']);
    });
});

describe('scheduler bridge', () => {
    it('runs one-off jobs once and recurring jobs repeatedly, and cancels them', async () => {
        const bridges = new HostBridges(fakeHost());
        const scheduler = bridges.getSchedulerBridge();
        const runs: string[] = [];
        await scheduler.registerProcessors([{ id: 'once_app', processor: async (ctx: any) => void runs.push(`once:${ctx.n}`) }, { id: 'every_app', processor: async () => void runs.push('every') }], 'app');
        await scheduler.scheduleOnce({ id: 'once_app', when: new Date(Date.now() + 30), data: { n: 7 } }, 'app');
        await scheduler.scheduleRecurring({ id: 'every_app', interval: '40 ms', skipImmediate: true }, 'app');
        await new Promise((r) => setTimeout(r, 150));
        expect(runs.filter((r) => r === 'once:7')).toHaveLength(1);
        expect(runs.filter((r) => r === 'every').length).toBeGreaterThanOrEqual(2);
        await scheduler.cancelAllJobs('app');
        const count = runs.length;
        await new Promise((r) => setTimeout(r, 100));
        expect(runs.length).toBe(count);
    });
});

describe('loud bridges', () => {
    it('an unimplemented bridge call fails with a clear message instead of succeeding silently', () => {
        const bridges = new HostBridges(fakeHost());
        expect(() => bridges.getLivechatBridge().doCreateMessage()).toThrow(/local host: livechat.doCreateMessage is not implemented/);
        return expect(bridges.getRoomBridge().delete('GENERAL', 'app')).rejects.toThrow(/room.delete is not implemented/);
    });
});
