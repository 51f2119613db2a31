// Fault suite: a webhook target that goes down, rate-limits, stalls, fails and drips, while the
// app is disabled, re-enabled and its Deno runtime killed. After recovery every message must have
// arrived exactly once, in order, with nothing left in the outbox.
//
// Time is scaled: retries start at 50 ms and cap at 400 ms (production: 2 s and 10 min), so one
// second here stands for about forty in production ("down for 60 s" ≈ 1.5 s).
import axios from 'axios';
import { createHash } from 'crypto';

import { eventually, LocalHost, recordCount, startHostWithApp } from '../support/host';
import { FaultySink } from '../support/faultySink';
import { allSinks, receivedFiles, startUploadBridge, stopUploadBridge, UploadSinks } from '../support/uploadSinks';

interface ScenarioResult {
    scenario: string;
    sent: number;
    delivered: number;
    duplicates: number;
    lost: number;
    maxDelayMs: number;
    inOrder: boolean;
}

const TIME_SCALE = 40; // 2000 ms production base delay / 50 ms here
const INBOUND_TOKEN = 'fault-suite-inbound-token-0123456789';

describe('fault suite', () => {
    let host: LocalHost;
    let sink: FaultySink;
    const results: ScenarioResult[] = [];

    const outboxSize = () => recordCount(host, 'misc:relay-bridge:outbox');
    const deadLetters = () => recordCount(host, 'misc:relay-bridge:dead-letter');

    beforeAll(async () => {
        sink = await new FaultySink().start();
        host = await startHostWithApp({ retry_base_delay_ms: 50, retry_max_delay_ms: 400 });
        await host.updateSetting(
            'relay_config',
            JSON.stringify({
                instances: { hook: { type: 'webhook', url: sink.url, timeout_ms: 300 }, ext: { type: 'inbound', token: INBOUND_TOKEN, rooms: ['#random'] } },
                // Inbound posts go to #random, which relays nowhere: they add no deliveries.
                rules: [
                    { from: { rocketchat: { room: '#general' } }, to: { hook: {} } },
                    { from: { ext: {} }, to: { rocketchat: { room: '#random' } } },
                ],
            }),
        );
    });

    afterAll(async () => {
        const header = '| scenario | sent | delivered | duplicates | lost | max delay | in order |';
        const lines = results.map((r) => `| ${r.scenario} | ${r.sent} | ${r.delivered} | ${r.duplicates} | ${r.lost} | ${(r.maxDelayMs / 1000).toFixed(2)} s | ${r.inOrder ? 'yes' : 'NO'} |`);
        // eslint-disable-next-line no-console
        console.log([`Fault suite results (retry delays scaled 1:${TIME_SCALE})`, header, '|---|---|---|---|---|---|---|', ...lines].join('\n'));
        await host?.stop();
        await sink?.stop();
    });

    async function scenario(name: string, count: number, run: (send: () => void) => Promise<void>): Promise<ScenarioResult> {
        const sentAt = new Map<string, number>();
        const ids: string[] = [];
        const send = () => {
            const message = host.sendMessage({ roomId: 'GENERAL', text: `${name} #${ids.length + 1}` });
            ids.push(message.id);
            sentAt.set(message.id, Date.now());
        };
        const deadBefore = deadLetters();
        await run(send);
        expect(ids).toHaveLength(count);
        const mine = () => sink.deliveries.filter((d) => sentAt.has(d.messageId));
        await eventually(() => new Set(mine().map((d) => d.messageId)).size === count, 60000, `${name}: all ${count} delivered`);
        await eventually(() => outboxSize() === 0, 20000, `${name}: outbox drained`);
        const delivered = mine();
        const unique = new Set(delivered.map((d) => d.messageId));
        const order = delivered.map((d) => ids.indexOf(d.messageId));
        const result: ScenarioResult = {
            scenario: name,
            sent: count,
            delivered: unique.size,
            duplicates: delivered.length - unique.size,
            lost: count - unique.size,
            maxDelayMs: Math.max(...delivered.map((d) => d.at - sentAt.get(d.messageId)!)),
            inOrder: order.every((v, i) => i === 0 || v > order[i - 1]),
        };
        results.push(result);
        expect(result).toMatchObject({ delivered: count, duplicates: 0, lost: 0, inOrder: true });
        expect(deadLetters()).toBe(deadBefore);
        return result;
    }

    it('healthy target (baseline)', async () => {
        await scenario('healthy', 20, async (send) => {
            for (let i = 0; i < 20; i++) send();
        });
    });

    it('target down (connection refused) for "60 s", then back', async () => {
        await scenario('down 60 s (refused)', 20, async (send) => {
            await sink.down();
            for (let i = 0; i < 20; i++) send();
            await eventually(() => outboxSize() === 20, 10000, 'all 20 queued');
            await new Promise((r) => setTimeout(r, 60000 / TIME_SCALE));
            await sink.up();
        });
    });

    it('429 storm honouring Retry-After', async () => {
        sink.setMode({ kind: 'status', status: 429, retryAfter: '1', count: 5 });
        const result = await scenario('429 storm (Retry-After: 1)', 20, async (send) => {
            for (let i = 0; i < 20; i++) send();
        });
        expect(result.maxDelayMs).toBeGreaterThanOrEqual(1000); // waited as the service asked
    });

    it('5 s stalls (request timeout 300 ms)', async () => {
        sink.setMode({ kind: 'stall', ms: 5000, count: 3 });
        await scenario('5 s stalls', 10, async (send) => {
            for (let i = 0; i < 10; i++) send();
        });
    });

    it('500 burst', async () => {
        sink.setMode({ kind: 'status', status: 500, count: 10 });
        await scenario('500 burst', 20, async (send) => {
            for (let i = 0; i < 20; i++) send();
        });
    });

    it('slow-drip responses (the receiver de-duplicates the retries by Idempotency-Key)', async () => {
        const rawBefore = sink.rawDuplicates;
        sink.setMode({ kind: 'drip', byteDelayMs: 50, count: 3 });
        await scenario('slow-drip bodies', 10, async (send) => {
            for (let i = 0; i < 10; i++) send();
        });
        expect(sink.rawDuplicates).toBeGreaterThan(rawBefore); // we did retry what timed out…
    });

    /** Posts one inbound message; resolves to the status and how long the answer took. */
    async function inbound(text: string): Promise<{ status: number; ms: number }> {
        const started = Date.now();
        const response = await axios.post(`${host.siteUrl}/api/apps/public/${host.appId}/inbound?source=ext`, { text }, { headers: { Authorization: `Bearer ${INBOUND_TOKEN}` }, timeout: 20000, validateStatus: () => true });
        return { status: response.status, ms: Date.now() - started };
    }

    it.each([
        // The server parses a JSON answer into `data`; a `__proto__` key in it stops the Deno runtime's
        // decoder (msgpack refuses the key) unless the app reads answers as bytes.
        ['hostile answers (__proto__ key)', JSON.stringify({ ok: true }).replace('{', '{"__proto__":{"polluted":true},')],
        ['huge answers (8 MB JSON)', JSON.stringify({ ok: true, padding: 'x'.repeat(8 * 1024 * 1024) })],
    ])('%s: inbound keeps answering, nothing lost', async (name, body) => {
        const requestsBefore = sink.rawRequests;
        sink.setMode({ kind: 'answer', body, count: 3 });
        await scenario(name, 10, async (send) => {
            for (let i = 0; i < 10; i++) send();
            await eventually(() => sink.rawRequests > requestsBefore, 10000, 'a first answer');
            const answer = await inbound(`${name}: inbound during`);
            expect(answer.status).toBe(200);
            expect(answer.ms).toBeLessThan(5000);
        });
        expect((await inbound(`${name}: inbound after`)).status).toBe(200);
    });

    it('app disabled and re-enabled while deliveries wait in the outbox', async () => {
        await scenario('app disabled + re-enabled', 10, async (send) => {
            await sink.down();
            for (let i = 0; i < 10; i++) send();
            await eventually(() => outboxSize() === 10, 10000, 'all 10 queued');
            await host.disableApp();
            await new Promise((r) => setTimeout(r, 500)); // a run that started before the disable ends
            expect(outboxSize()).toBe(10); // nothing lost by disabling
            await sink.up();
            await new Promise((r) => setTimeout(r, 500));
            expect(sink.deliveries.filter((d) => /app disabled/.test(d.text))).toHaveLength(0); // no jobs while disabled
            await host.enableApp();
        });
    });

    it('keeps counters that add up: every message sent once, retries and no dead letters', async () => {
        await new Promise((r) => setTimeout(r, 5100)); // counters are written at most every 5 s
        await scenario('counters flush', 1, async (send) => send());
        const counted = () => {
            const totals = { sent: 0, retried: 0, failed: 0, deadLettered: 0 };
            for (const record of host.state.appPersistence(host.appId).values()) {
                if (record.keys.indexOf('misc:relay-bridge:counters') < 0) continue;
                for (const key of Object.keys(totals) as Array<keyof typeof totals>) totals[key] += record.data[key];
            }
            return totals;
        };
        const delivered = results.reduce((sum, r) => sum + r.delivered, 0);
        // A delivery's count may still be in a runtime's 5 s write window: wait for one more flush.
        await eventually(() => counted().sent >= delivered, 12000, 'the counters of every delivery').catch(() => undefined);
        const totals = counted();
        // Never counted twice; counts still in a runtime's 5 s window when the app was disabled
        // (the scenario before) may be gone — the documented cost of not writing per message.
        expect(totals.sent).toBeLessThanOrEqual(delivered);
        expect(totals.sent).toBeGreaterThanOrEqual(delivered - 10);
        expect(totals.retried).toBeGreaterThan(0);
        expect(totals.failed).toBe(0);
        expect(totals.deadLettered).toBe(0);
    });

    it('Deno runtime killed mid-stream', async () => {
        await scenario('Deno runtime killed', 20, async (send) => {
            await sink.down();
            for (let i = 0; i < 10; i++) send();
            await eventually(() => outboxSize() === 10, 10000, 'first 10 queued');
            const pid = host.killRuntime();
            await eventually(() => host.runtimePid() && host.runtimePid() !== pid, 20000, 'runtime restarted');
            await new Promise((r) => setTimeout(r, 1500)); // the engine restarts the app after its restart delay
            await sink.up();
            for (let i = 0; i < 10; i++) send();
        });
    });

    it('Deno runtime killed while deliveries wait for a slow target', async () => {
        // Write-ahead: deliveries waiting in memory at the kill are already in their destination's
        // backlog, claimed by the dead runtime; the job delivers them once the claim runs out
        // (2 × timeout_ms + 15 s). One delivered just before the kill may go again: the receiver
        // de-duplicates it by Idempotency-Key.
        sink.setMode({ kind: 'slow', ms: 200, count: 1000 });
        await scenario('runtime killed, 12 waiting for a slow target', 12, async (send) => {
            for (let i = 0; i < 12; i++) send();
            await new Promise((r) => setTimeout(r, 700));
            const pid = host.killRuntime();
            await eventually(() => host.runtimePid() && host.runtimePid() !== pid, 20000, 'runtime restarted');
            expect(sink.deliveries.filter((d) => /slow target/.test(d.text)).length).toBeLessThan(12); // the kill cut the stream
        });
        sink.setMode({ kind: 'ok' });
    });
});

// A 5 MB and a 20 MB file to every upload-capable target at once: each must receive it byte for
// byte (sha256), except ntfy at 20 MB, whose 15 MiB attachment limit (ntfy.sh's default) makes it
// a label (files are protected on a fresh server, so no link). About three minutes on 2 cores, so
// it runs in `npm run test:faults` (also run by .ci/run), not `npm test`.
const LARGE_FILES = process.env.RELAY_BRIDGE_LARGE_FILES === '1';
(LARGE_FILES ? describe : describe.skip)('fault suite: large files to every upload target', () => {
    let host: LocalHost;
    let sinks: UploadSinks;

    beforeAll(async () => {
        ({ host, sinks } = await startUploadBridge());
    });

    afterAll(() => stopUploadBridge({ host, sinks }));

    it.each([5, 20])('a %i MB file arrives whole at each, concurrently', async (megabytes) => {
        allSinks(sinks).forEach((sink) => {
            sink.requests.length = 0;
        });
        const size = megabytes * 1000 * 1000;
        const bytes = Buffer.alloc(size);
        for (let i = 0; i < size; i += 4) bytes.writeUInt32LE((i * 2654435761) >>> 0, i); // no repeating pattern to hide a shift
        const want = createHash('sha256').update(bytes).digest('hex');
        const started = Date.now();
        const arrived: Record<string, number> = {};
        const name = `big-${megabytes}.bin`;
        host.uploadFile({ roomId: 'GENERAL', name, type: 'application/octet-stream', bytes, text: `${megabytes} MB` });
        const ntfyTakesIt = size <= 15 * 1024 * 1024;
        const uploads = (Object.keys(sinks) as Array<keyof UploadSinks>).filter((target) => target !== 'ntfy' || ntfyTakesIt);
        await eventually(() => {
            const received = receivedFiles(sinks);
            uploads.filter((target) => received[target].length > 0 && !arrived[target]).forEach((target) => { arrived[target] = Date.now() - started; });
            return uploads.every((target) => arrived[target] !== undefined);
        }, 300000, 'the file at every upload target');
        const received = receivedFiles(sinks);
        expect(Object.fromEntries(uploads.map((target) => [target, received[target].map((file) => createHash('sha256').update(file).digest('hex'))])))
            .toEqual(Object.fromEntries(uploads.map((target) => [target, [want]])));
        if (!ntfyTakesIt) {
            const [ntfyText] = await sinks.ntfy.waitFor(1, 30000);
            expect(ntfyText.method).not.toBe('PUT');
            expect(ntfyText.text).toContain(`[File: ${name}]`);
        }
        await host.idle();
        // eslint-disable-next-line no-console
        console.log(`${megabytes} MB file: arrival after upload (ms) ${JSON.stringify(arrived)}; all done in ${Date.now() - started} ms`);
    }, 360000);
});
