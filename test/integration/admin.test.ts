// `/relay` run through the engine's slash-command manager, and the status endpoint, in the real
// runtime. Replies are ephemeral: the host records them as notifications to the one user.
import axios from 'axios';

import { eventually, LocalHost, startHostWithApp } from '../support/host';
import { FaultySink } from '../support/faultySink';

const STATUS_TOKEN = 'status-token-0123456789';

describe('/relay and the status endpoint', () => {
    let host: LocalHost;
    let sink: FaultySink;

    const relay = async (args: string, userId?: string, roomId = 'GENERAL') => {
        const replies = await host.runCommand({ command: 'relay', args: args ? args.split(' ') : [], roomId, userId });
        expect(replies).toHaveLength(1);
        return replies[0];
    };
    const outboxSize = () => [...host.state.appPersistence(host.appId).values()].filter((r: any) => r.keys.includes('misc:relay-bridge:outbox')).length;

    beforeAll(async () => {
        sink = await new FaultySink().start();
        host = await startHostWithApp({ retry_base_delay_ms: 50, retry_max_delay_ms: 200, status_token: STATUS_TOKEN });
        await host.updateSetting(
            'relay_config',
            JSON.stringify({
                instances: { hook: { type: 'webhook', url: sink.url, timeout_ms: 500 }, other: { type: 'webhook', url: `${sink.url}/other` } },
                rules: [{ id: 'general-to-hook', from: { rocketchat: { room: '#general' } }, to: { hook: {} } }],
            }),
        );
    });

    afterAll(async () => {
        await host?.stop();
        await sink?.stop();
    });

    it('help lists every subcommand, only to the user who asked', async () => {
        const reply = await relay('help', host.admin.id);
        expect(reply.userId).toBe(host.admin.id);
        for (const sub of ['status', 'list', 'test', 'link', 'unlink', 'dead-letters', 'help']) expect(reply.text).toContain(`/relay ${sub}`);
        expect(host.state.messagesInRoom('GENERAL').some((m: any) => /\/relay/.test(m.text))).toBe(false); // nothing posted in the room
    });

    it('refuses users who are neither room owners nor admins', async () => {
        const reply = await relay('status', host.alice.id);
        expect(reply.userId).toBe(host.alice.id);
        expect(reply.text).toMatch(/Only this room’s owners and administrators/);
    });

    it('lets the room owner in (the creator of #general is admin; alice owns nothing, bob neither)', async () => {
        host.state.requireRoom('RANDOM').ownerIds = [host.bob.id];
        const reply = await relay('list', host.bob.id, 'RANDOM');
        expect(reply.text).toMatch(/No rules involve this room/);
    });

    it('list shows the rules involving the room', async () => {
        const reply = await relay('list', host.admin.id);
        expect(reply.text).toMatch(/`general-to-hook` rocketchat \(room: general\) → hook/);
    });

    it('status shows each target with counters', async () => {
        host.sendMessage({ roomId: 'GENERAL', text: 'count me' });
        await eventually(() => sink.deliveries.some((d) => d.text === 'count me'));
        // Its entry goes once its ids are stored. The engine fires the event without waiting for the
        // app (docs/HOST-FIDELITY.md): host.idle() returned while it was still there.
        await eventually(() => outboxSize() === 0);
        await host.idle();
        const reply = await relay('status', host.admin.id);
        expect(reply.text).toMatch(/→ \*hook\* :white_check_mark: ok — sent [1-9]\d*, retried 0, failed 0, dead letters 0, waiting 0/);
    });

    it('test sends a test message through every target and reports the result', async () => {
        const reply = await relay('test', host.admin.id);
        expect(reply.text).toMatch(/:white_check_mark: \*hook\* delivered/);
        expect(sink.deliveries.some((d) => /Relay Bridge test message from @admin in #general/.test(d.text))).toBe(true);
    });

    it('link adds a rule for the room (instance or URL), unlink removes it', async () => {
        expect((await relay('link nowhere', host.admin.id)).text).toMatch(/No instance named "nowhere" \(configured: hook, other\)/);
        const linked = await relay('link other', host.admin.id, 'RANDOM');
        expect(linked.text).toMatch(/Linked: messages in #random are now relayed to \*other\*/);
        const url = `json://127.0.0.1:${sink.port}/by-url`;
        const byUrl = await relay(`link ${url}`, host.admin.id, 'RANDOM');
        expect(byUrl.text).toMatch(/json:\/\/127\.0\.0\.1:\d+\/\*\*\*/); // the URL is masked in the reply
        const before = sink.deliveries.length;
        host.sendMessage({ roomId: 'RANDOM', text: 'random news' });
        await eventually(() => sink.deliveries.filter((d) => d.text === 'random news').length === 2, 10000, 'both links delivered');
        const unlinked = await relay('unlink', host.admin.id, 'RANDOM');
        expect(unlinked.text).toMatch(/Removed 2 link\(s\)/);
        host.sendMessage({ roomId: 'RANDOM', text: 'not relayed any more' });
        await host.idle();
        await new Promise((r) => setTimeout(r, 300));
        expect(sink.deliveries.filter((d) => d.text === 'not relayed any more')).toHaveLength(0);
        expect(sink.deliveries.length).toBe(before + 2);
    });

    it('dead-letters lists given-up deliveries, retries one and drops another', async () => {
        await host.updateSetting('give_up_after_hours', 0.0002); // ≈ 0.7 s
        await sink.down();
        host.sendMessage({ roomId: 'GENERAL', text: 'doomed 1' });
        host.sendMessage({ roomId: 'GENERAL', text: 'doomed 2' });
        await eventually(async () => /Dead letters for this room\* \(2\)/.test((await relay('dead-letters', host.admin.id)).text), 20000, 'two dead letters');
        expect(outboxSize()).toBe(0);
        const list = (await relay('dead-letters list', host.admin.id)).text;
        const ids = Array.from(list.matchAll(/`([^`]+)` sent → hook/g)).map((m: any) => m[1]);
        expect(ids).toHaveLength(2);
        await host.updateSetting('give_up_after_hours', 24);
        await sink.up();
        expect((await relay(`dead-letters retry ${ids[0]}`, host.admin.id)).text).toBe('Retrying 1 dead letter(s).');
        await eventually(() => sink.deliveries.some((d) => d.text === 'doomed 1'), 10000, 'retried delivery');
        expect((await relay(`dead-letters drop ${ids[1]}`, host.admin.id)).text).toBe('Dropped 1 dead letter(s).');
        expect((await relay('dead-letters', host.admin.id)).text).toBe('No dead letters for this room.');
        expect(sink.deliveries.some((d) => d.text === 'doomed 2')).toBe(false);
    });

    it('status endpoint: token-protected JSON with counters, outbox depth and dead letters', async () => {
        const url = `${host.siteUrl}/api/apps/public/${host.appId}/status`;
        const refused = await axios.get(url, { validateStatus: () => true });
        expect(refused.status).toBe(401);
        const wrong = await axios.get(url, { headers: { Authorization: 'Bearer nope' }, validateStatus: () => true });
        expect(wrong.status).toBe(401);
        const ok = await axios.get(url, { headers: { Authorization: `Bearer ${STATUS_TOKEN}` } });
        expect(ok.data).toMatchObject({ success: true, config: { ok: true, rules: 1 }, outbox: { depth: 0 }, deadLetters: { count: 0 } });
        const hook = ok.data.targets.find((t: any) => t.instance === 'hook');
        expect(hook).toMatchObject({ waiting: 0 });
        expect(hook.sent).toBeGreaterThan(0);
        expect(hook.retried).toBeGreaterThan(0);
        expect(hook.deadLettered).toBe(2);
    });

    it('status endpoint: limits failed tokens per client address, and stays off with a short token', async () => {
        const url = `${host.siteUrl}/api/apps/public/${host.appId}/status`;
        const from = (address: string, token: string) => axios.get(url, { headers: { Authorization: `Bearer ${token}`, 'X-Forwarded-For': address }, validateStatus: () => true });
        const guesses = [];
        for (let i = 0; i < 12; i++) guesses.push((await from('203.0.113.7', `guess-${i}`)).status);
        expect(guesses.slice(0, 10)).toEqual(Array(10).fill(401));
        expect(guesses.slice(10)).toEqual([429, 429]);
        // Past the limit even the right token waits (nothing is compared); another client is not affected.
        const blocked = await from('203.0.113.7', STATUS_TOKEN);
        expect([blocked.status, blocked.headers['retry-after']]).toEqual([429, expect.stringMatching(/^\d+$/)]);
        expect((await from('198.51.100.9', STATUS_TOKEN)).status).toBe(200);
        await host.updateSetting('status_token', 'short-token-15c');
        try {
            const off = await from('198.51.100.9', 'short-token-15c');
            expect([off.status, off.data.error]).toEqual([404, expect.stringMatching(/at least 16 characters/)]);
        } finally {
            await host.updateSetting('status_token', STATUS_TOKEN);
        }
    });
});
