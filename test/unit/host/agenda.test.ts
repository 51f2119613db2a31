// The scheduler of host/cluster.js: several instances polling one job collection with Agenda's
// rules (packages/agenda in Rocket.Chat), without the engine: processors are plain functions.
/* eslint-disable @typescript-eslint/no-var-requires */
const { AgendaSchedulerBridge, AgendaJobStore } = require('../../../host/cluster');

const APP = 'app-id';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function instance(store: any, latency: number, options: Record<string, number> = {}) {
    const host: any = { persistenceLatencyMs: latency, counters: { jobs: 0 }, emit: () => undefined };
    return new AgendaSchedulerBridge(host, store, { processEveryMs: 50, ...options });
}

async function until(check: () => boolean, what: string, timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(10);
    }
}

describe('Agenda scheduler shared by two instances', () => {
    let bridges: any[] = [];
    afterEach(async () => {
        bridges.forEach((b) => b.stopAll());
        // Runs that hang on purpose never settle; the others end within a poll.
        await Promise.race([Promise.all(bridges.map((b) => b.settled())), sleep(200)]);
        bridges = [];
    });

    it('runs each one-time job document once across instances and removes it (20/80 ms database latency)', async () => {
        const store = new AgendaJobStore();
        const runs: Array<{ instance: number; job: string }> = [];
        bridges = [instance(store, 20), instance(store, 80)];
        for (const [i, b] of bridges.entries()) {
            await b.registerProcessors([{ id: `work_${APP}`, processor: async (ctx: any) => { runs.push({ instance: i, job: ctx.jobId }); await sleep(30); } }], APP);
        }
        const ids: string[] = [];
        for (let n = 0; n < 10; n++) ids.push(await bridges[n % 2].scheduleOnce({ id: `work_${APP}`, when: new Date() }, APP));
        expect(new Set(ids).size).toBe(10); // scheduleOnce inserts a new job document each time
        await until(() => runs.length >= 10 && store.docs.size === 0, 'every job ran and was removed');
        await sleep(300); // several more polls: nothing runs again
        expect(runs.map((r) => r.job).sort()).toEqual([...ids].sort());
    });

    it('keeps one recurring document per job name and never runs it on two instances at once', async () => {
        const store = new AgendaJobStore();
        let running = 0;
        let overlap = 0;
        const ranOn = new Set<number>();
        bridges = [instance(store, 20), instance(store, 80)];
        for (const [i, b] of bridges.entries()) {
            await b.registerProcessors([{
                id: `tick_${APP}`,
                startupSetting: { type: 'recurring', interval: '40 ms' },
                processor: async () => {
                    running += 1;
                    overlap = Math.max(overlap, running);
                    ranOn.add(i);
                    await sleep(60); // longer than the interval
                    running -= 1;
                },
            }], APP);
        }
        expect([...store.docs.values()].filter((d: any) => d.name === `tick_${APP}`)).toHaveLength(1);
        await until(() => ranOn.size === 2, 'both instances took a turn');
        await sleep(500);
        expect(overlap).toBe(1);
    });

    it('lets another instance take a recurring job whose lock expired (the instance holding it died)', async () => {
        const store = new AgendaJobStore();
        const runs: number[] = [];
        const dead = instance(store, 0, { lockLifetimeMs: 1000 });
        const healthy = instance(store, 0, { lockLifetimeMs: 1000 });
        bridges = [dead, healthy];
        await dead.registerProcessors([{ id: `tick_${APP}`, startupSetting: { type: 'recurring', interval: '100 ms' }, processor: () => { runs.push(0); return new Promise(() => undefined); } }], APP);
        await until(() => runs.length === 1, 'the first instance locked the job and started it');
        dead.stopAll(); // it polls no more and never finishes: its lock stays until it expires
        await healthy.registerProcessors([{ id: `tick_${APP}`, startupSetting: { type: 'recurring', interval: '100 ms', skipImmediate: true }, processor: async () => { runs.push(1); } }], APP);
        await sleep(150);
        expect(runs).toEqual([0]); // still locked: the other instance waits
        await until(() => runs.includes(1), 'the second instance took over after the lock expired');
        const [doc] = [...store.docs.values()] as any[];
        expect(doc.lockedAt).toBeNull(); // its run finished and unlocked the document
    });

    it('never runs again a one-time job whose run was cut off (its next run was cleared when it started)', async () => {
        const store = new AgendaJobStore();
        const runs: number[] = [];
        const stuck = instance(store, 0, { lockLifetimeMs: 200 });
        const healthy = instance(store, 0, { lockLifetimeMs: 200 });
        bridges = [stuck, healthy];
        await stuck.registerProcessors([{ id: `once_${APP}`, processor: () => { runs.push(0); return new Promise(() => undefined); } }], APP);
        await healthy.registerProcessors([{ id: `once_${APP}`, processor: async () => { runs.push(1); } }], APP);
        // Scheduled on the stuck instance a little ahead: it locks it on the fly and runs it.
        await stuck.scheduleOnce({ id: `once_${APP}`, when: new Date(Date.now() + 20) }, APP);
        await until(() => runs.length === 1, 'the first run started');
        await sleep(800); // the lock expired long ago
        expect(runs).toEqual([0]);
        const [doc] = [...store.docs.values()] as any[];
        expect(doc.nextRunAt).toBeNull();
    });

    it('keeps a failed one-time job document without a next run; cancels by document id or by job name', async () => {
        const store = new AgendaJobStore();
        const a = instance(store, 0);
        bridges = [a];
        await a.registerProcessors([{ id: `fail_${APP}`, processor: async () => { throw new Error('boom'); } }, { id: `later_${APP}`, processor: async () => undefined }], APP);
        await a.scheduleOnce({ id: `fail_${APP}`, when: new Date() }, APP);
        await until(() => [...store.docs.values()].some((d: any) => d.failCount === 1), 'the failed run was recorded');
        const failed = [...store.docs.values()].find((d: any) => d.name === `fail_${APP}`) as any;
        expect(failed).toMatchObject({ nextRunAt: null, lockedAt: null, failReason: 'boom' });
        const id = await a.scheduleOnce({ id: `later_${APP}`, when: new Date(Date.now() + 60000) }, APP);
        await a.scheduleOnce({ id: `later_${APP}`, when: new Date(Date.now() + 60000) }, APP);
        await a.cancelJob(`${id}_${APP}`, APP); // the engine appends _<appId> to every id
        expect([...store.docs.values()].filter((d: any) => d.name === `later_${APP}`)).toHaveLength(1);
        await a.cancelJob(`later_${APP}`, APP);
        expect([...store.docs.values()].filter((d: any) => d.name === `later_${APP}`)).toHaveLength(0);
        await a.cancelAllJobs(APP);
        expect(store.docs.size).toBe(0);
    });
});
