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
        limited: () => matrixLimited(() => ({ body: { event_id: `$${Math.floor(Math.random() * 1e12)}` } })),
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
