// Pacing by each service's own limits (issue 18), in the real runtime: sinks that enforce the
// documented limits with the service's headers and 429 bodies (test/support/limitedSinks.js).
// Every message of a burst must arrive exactly once and in order, and the app must wait before
// sending instead of running into 429s. (How fast is measured by `npm run bench -- --only pacing`.)
import { eventually, LocalHost, startHostWithApp } from '../support/host';
import { Sink } from '../support/sink';
import { Cluster, startInstances } from '../support/instances';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { discordLimited, slackLimited, telegramLimited, matrixLimited } = require('../support/limitedSinks');

const BURST = 8;

interface Service {
    name: string;
    limited: () => { handler: any; stats: { accepted: any[]; rejected: any[] } };
    instance: (url: string) => Record<string, unknown>;
    /** 429s allowed for the burst: none where the service states its limit; one where it must be learned from a 429. */
    allowed429: number;
}

const SERVICES: Service[] = [
    {
        name: 'Discord (5 per 2 s, announced in X-RateLimit-* headers)',
        limited: () => discordLimited(() => ({ body: { id: String(Math.floor(Math.random() * 1e12)) } })),
        instance: (url) => ({ type: 'discord', webhook_url: `${url}/api/webhooks/1/tok` }),
        allowed429: 0,
    },
    {
        name: 'Slack (1 per second per channel, documented)',
        limited: () => slackLimited(() => ({ body: 'ok' })),
        instance: (url) => ({ type: 'slack', webhook_url: `${url}/services/T0/B0/X0` }),
        allowed429: 0,
    },
    {
        name: 'Telegram (1 per second per chat, documented)',
        limited: () => telegramLimited((req: any) => ({ body: { ok: true, result: { message_id: Math.floor(Math.random() * 1e9), chat: { id: req.json.chat_id } } } })),
        instance: (url) => ({ type: 'telegram', api_url: url, bot_token: '123456:ABC-pace', chat_id: '4242' }),
        allowed429: 0,
    },
    {
        name: 'Matrix (the server\'s own limit, shown only by a 429 with retry_after_ms)',
        // Synapse's limiter at 1 per second without a burst: the first 429 shows the whole limit.
        limited: () => matrixLimited(() => ({ body: { event_id: `$${Math.floor(Math.random() * 1e12)}` } }), { perSecond: 1, burst: 1 }),
        instance: (url) => ({ type: 'matrix', homeserver: url, access_token: 'syt_pace', room_id: '!pace:example.org' }),
        allowed429: 1,
    },
];

const wordsOf = (text: string) => (/burst-(\d+)/.exec(text) || [])[0];

describe.each(SERVICES)('pacing: $name', (service) => {
    let host: LocalHost;
    let sink: Sink;
    let limited: ReturnType<Service['limited']>;

    beforeAll(async () => {
        limited = service.limited();
        sink = await new Sink(limited.handler).start();
        host = await startHostWithApp({ retry_base_delay_ms: 50, retry_max_delay_ms: 2000 });
        const stored = await host.updateSetting('relay_config', JSON.stringify({ instances: { svc: service.instance(sink.url) }, rules: [{ from: { rocketchat: { room: '#general' } }, to: { svc: {} } }] }));
        expect(stored).toContain('svc');
    });

    afterAll(async () => {
        await host.stop();
        await sink.stop();
    });

    it(`delivers a burst of ${BURST} exactly once, in order, waiting before requests instead of after 429s`, async () => {
        for (let i = 0; i < BURST; i++) {
            host.sendMessage({ roomId: 'GENERAL', text: `burst-${i}` });
        }
        const accepted = () => limited.stats.accepted.map((req: any) => wordsOf(req.text)).filter(Boolean);
        await eventually(() => accepted().length >= BURST, 60000, `${BURST} accepted deliveries`);
        expect(accepted()).toEqual(Array.from({ length: BURST }, (_, i) => `burst-${i}`));
        expect(limited.stats.rejected.length).toBeLessThanOrEqual(service.allowed429);
    });
});

describe('pacing: one Matrix account posting to two rooms (Synapse limits per account, not per room)', () => {
    let host: LocalHost;
    let sink: Sink;
    let limited: ReturnType<Service['limited']>;

    beforeAll(async () => {
        limited = SERVICES[3].limited();
        sink = await new Sink(limited.handler).start();
        host = await startHostWithApp({ retry_base_delay_ms: 50, retry_max_delay_ms: 2000 });
        host.state.createRoom({ id: 'PACE2', name: 'pace-two', kind: 'channel', creatorId: host.admin.id, memberIds: [host.alice.id] });
        const account = (room: string) => ({ type: 'matrix', homeserver: sink.url, access_token: 'syt_pace', room_id: room });
        const stored = await host.updateSetting('relay_config', JSON.stringify({
            instances: { one: account('!one:example.org'), two: account('!two:example.org') },
            rules: [
                { from: { rocketchat: { room: '#general' } }, to: { one: {} } },
                { from: { rocketchat: { room: '#pace-two' } }, to: { two: {} } },
            ],
        }));
        expect(stored).toContain('two');
    });

    afterAll(async () => {
        await host.stop();
        await sink.stop();
    });

    it('what a 429 in one room taught holds for the other room too: no 429 there', async () => {
        const accepted = () => limited.stats.accepted.map((req: any) => wordsOf(req.text)).filter(Boolean);
        // The first room learns the account's limit from one 429.
        host.sendMessage({ roomId: 'GENERAL', text: 'burst-0' });
        host.sendMessage({ roomId: 'GENERAL', text: 'burst-1' });
        await eventually(() => accepted().length >= 2, 30000, 'the first room\'s two deliveries');
        expect(limited.stats.rejected).toHaveLength(1);
        // Then both rooms at once: the second room waits its turn in the same budget.
        host.sendMessage({ roomId: 'PACE2', text: 'burst-10' });
        host.sendMessage({ roomId: 'GENERAL', text: 'burst-2' });
        host.sendMessage({ roomId: 'PACE2', text: 'burst-11' });
        host.sendMessage({ roomId: 'GENERAL', text: 'burst-3' });
        await eventually(() => accepted().length >= 6, 60000, 'six accepted deliveries');
        const inRoom = (room: string) => limited.stats.accepted.filter((req: any) => req.path.includes(encodeURIComponent(room))).map((req: any) => wordsOf(req.text));
        expect(inRoom('!one:example.org')).toEqual(['burst-0', 'burst-1', 'burst-2', 'burst-3']);
        expect(inRoom('!two:example.org')).toEqual(['burst-10', 'burst-11']);
        expect(limited.stats.rejected).toHaveLength(1);
    });
});

describe('pacing with two instances on one database', () => {
    let cluster: Cluster;
    let hosts: LocalHost[];
    let sink: Sink;
    let limited: ReturnType<Service['limited']>;

    beforeAll(async () => {
        limited = SERVICES[1].limited(); // Slack: 1 per second, nothing announced — only a shared budget avoids 429s
        sink = await new Sink(limited.handler).start();
        ({ cluster, hosts } = await startInstances(2, { settings: { retry_base_delay_ms: 50, retry_max_delay_ms: 2000 } }));
        const stored = await cluster.updateSetting('relay_config', JSON.stringify({ instances: { svc: SERVICES[1].instance(sink.url) }, rules: [{ from: { rocketchat: { room: '#general' } }, to: { svc: {} } }] }));
        expect(stored).toContain('svc');
    });

    afterAll(async () => {
        await cluster.stop();
        await sink.stop();
    });

    it('shares the budget: messages posted on both instances in turn arrive in order without a 429', async () => {
        const count = 6;
        for (let i = 0; i < count; i++) {
            hosts[i % 2].sendMessage({ roomId: 'GENERAL', text: `burst-${i}` });
            await new Promise((r) => setTimeout(r, 400)); // faster than the limit, slow enough for distinct timestamps and both instances' lines
        }
        const accepted = () => limited.stats.accepted.map((req: any) => wordsOf(req.text)).filter(Boolean);
        await eventually(() => accepted().length >= count, 60000, `${count} accepted deliveries`);
        expect(accepted()).toEqual(Array.from({ length: count }, (_, i) => `burst-${i}`));
        expect(limited.stats.rejected).toHaveLength(0);
    });
});

describe('pacing with two instances: a Matrix spacing learned on one instance after a send on the other', () => {
    let cluster: Cluster;
    let hosts: LocalHost[];
    let sink: Sink;
    let limited: ReturnType<Service['limited']>;
    /** The server's spacing: one message every 2 s, no burst. */
    const SPACING_MS = 2000;

    beforeAll(async () => {
        limited = matrixLimited(() => ({ body: { event_id: `$${Math.floor(Math.random() * 1e12)}` } }), { perSecond: 1000 / SPACING_MS, burst: 1 });
        sink = await new Sink(limited.handler).start();
        ({ cluster, hosts } = await startInstances(2, { settings: { retry_base_delay_ms: 50, retry_max_delay_ms: 2000 } }));
        const stored = await cluster.updateSetting('relay_config', JSON.stringify({ instances: { svc: SERVICES[3].instance(sink.url) }, rules: [{ from: { rocketchat: { room: '#general' } }, to: { svc: {} } }] }));
        expect(stored).toContain('svc');
    });

    afterAll(async () => {
        await cluster.stop();
        await sink.stop();
    });

    it("counts the spacing from the account's last accepted send, whichever instance sent it", async () => {
        const accepted = () => limited.stats.accepted.map((req: any) => wordsOf(req.text)).filter(Boolean);
        // Instance 1 has an accepted send of its own, older than the server's spacing…
        hosts[1].sendMessage({ roomId: 'GENERAL', text: 'burst-0' });
        await eventually(() => accepted().length >= 1, 30000, 'the first delivery');
        await new Promise((r) => setTimeout(r, SPACING_MS + 500));
        // …then instance 0 sends, and instance 1 right after it (inside the spacing): a 429.
        hosts[0].sendMessage({ roomId: 'GENERAL', text: 'burst-1' });
        await eventually(() => accepted().length >= 2, 30000, 'the second delivery');
        hosts[1].sendMessage({ roomId: 'GENERAL', text: 'burst-2' });
        await eventually(() => accepted().length >= 3, 30000, 'the third delivery');
        expect(accepted()).toEqual(['burst-0', 'burst-1', 'burst-2']);
        expect(limited.stats.rejected).toHaveLength(1);
        // What the 429 taught is the server's spacing, counted from instance 0's send; counted from
        // instance 1's own older one it was that much longer (issue 18: 1.5 s where Synapse allowed
        // 1 s, every later message of the account late by the difference).
        const budgets = cluster.state.appPersistence(cluster.appId).withKeys(['misc:relay-bridge:pace']).map((record: any) => record[1].data.state);
        expect(budgets).toHaveLength(1);
        expect(budgets[0].learnedGapMs).toBeGreaterThanOrEqual(SPACING_MS - 100);
        expect(budgets[0].learnedGapMs).toBeLessThan(SPACING_MS + 400);
    });
});
