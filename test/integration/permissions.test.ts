// Issue 14: room owners are not admins, and secrets never leave the app. A room owner who is not
// an admin links only to instances the admin made linkable and sees status codes only; targets
// on private addresses need the admin's allow-list; a target that echoes its URL and token in its
// error answer leaks neither into logs, replies, the status endpoint nor dead letters.
import axios from 'axios';

import { eventually, LocalHost, startHostWithApp, TEST_PRIVATE_HOSTS } from '../support/host';
import { Sink } from '../support/sink';

const STATUS_TOKEN = 'status-token-0123456789';
const SECRET_HOOK = 'secret-hook-4f9a8b7c6d'; // from the Secrets setting
const INLINE_HOOK = 'inline-hook-1e2d3c4b5a'; // written into the configuration itself
const SECRET_TOKEN = 'inbound-token-9z8y7x6w5v';

describe('permissions and secrets (issue 14)', () => {
    let host: LocalHost;
    let sink: Sink;
    let admin: Sink;

    const relay = async (args: string, userId: string, roomId: string) => {
        const replies = await host.runCommand({ command: 'relay', args: args.split(' '), roomId, userId });
        expect(replies).toHaveLength(1);
        return replies[0].text as string;
    };
    const configure = (instances: Record<string, unknown>, rules: unknown[]) => host.updateSetting('relay_config', JSON.stringify({ instances, rules }));
    const links = () => [...host.state.appPersistence(host.appId).values()].filter((r: any) => r.keys.some((k: string) => /link/.test(k)));

    beforeAll(async () => {
        // Answers every request with an error that quotes where it was sent, as many servers do.
        sink = await new Sink((req) => ({ status: 500, body: `no hook registered at ${req.path}; POST ${sink.url}${req.path} rejected (token ${SECRET_TOKEN})` })).start();
        admin = await new Sink(() => ({ status: 200, body: 'internal admin API: db password hunter2-internal' })).start();
        host = await startHostWithApp({ retry_base_delay_ms: 50, retry_max_delay_ms: 100, give_up_after_hours: 0.0001, status_token: STATUS_TOKEN, relay_secrets: `HOOK=${SECRET_HOOK}` });
        host.state.createRoom({ id: 'BOBS', name: 'bobs-group', kind: 'private', creatorId: host.bob.id });
    });

    afterAll(async () => {
        await host?.stop();
        await sink?.stop();
        await admin?.stop();
    });

    describe('a room owner who is not an admin', () => {
        beforeAll(async () => {
            await configure(
                {
                    shared: { type: 'webhook', url: `${admin.url}/shared`, linkable: true },
                    scoped: { type: 'webhook', url: `${admin.url}/scoped`, linkable: ['#elsewhere'] },
                    private_one: { type: 'webhook', url: `${admin.url}/private` },
                },
                [{ from: { rocketchat: { room: '#general' } }, to: { shared: {} } }],
            );
        });

        it('cannot link their room to a URL (the server would send wherever they say)', async () => {
            const before = admin.requests.length;
            const reply = await relay(`link json://127.0.0.1:${admin.url.split(':')[2]}/admin/users`, host.bob.id, 'BOBS');
            expect(reply).toMatch(/Only administrators can link a room to a URL/);
            expect(await relay('test', host.bob.id, 'BOBS')).toMatch(/This room has no targets to test/);
            expect(admin.requests.length).toBe(before);
            expect(links()).toHaveLength(0);
        });

        it('links only to instances the admin made linkable, for all rooms or theirs', async () => {
            expect(await relay('link private_one', host.bob.id, 'BOBS')).toMatch(/No linkable instance named "private_one" \(linkable from here: shared\)/);
            expect(await relay('link scoped', host.bob.id, 'BOBS')).toMatch(/No linkable instance named "scoped"/);
            expect(await relay('link shared', host.bob.id, 'BOBS')).toMatch(/Linked: messages in #bobs-group are now relayed to \*shared\*/);
            const test = await relay('test', host.bob.id, 'BOBS');
            expect(test).toMatch(/:white_check_mark: \*shared\* delivered/);
            expect(test).not.toMatch(/hunter2|admin API/);
        });

        it('loses the link when the admin takes linkable away', async () => {
            await configure({ shared: { type: 'webhook', url: `${admin.url}/shared` } }, [{ from: { rocketchat: { room: '#general' } }, to: { shared: {} } }]);
            const status = await relay('status', host.admin.id, 'BOBS');
            expect(status).toMatch(/left out.*not linkable from #bobs-group/);
            expect(await relay('test', host.bob.id, 'BOBS')).toMatch(/This room has no targets to test/);
            expect(await relay('unlink', host.bob.id, 'BOBS')).toMatch(/Removed 1 link/);
        });
    });

    describe('private addresses', () => {
        afterAll(() => host.updateSetting('private_hosts_allowed', TEST_PRIVATE_HOSTS));

        it('refuses a target on a loopback address unless the admin listed it, naming the place', async () => {
            await host.updateSetting('private_hosts_allowed', '');
            const before = host.appLogText().length;
            await configure({ hook: { type: 'webhook', url: `${admin.url}/x` } }, [{ from: { rocketchat: { room: '#general' } }, to: { hook: {} } }]);
            await eventually(() => /refused.*instances\.hook\.url: http:\/\/127\.0\.0\.1:\d+ is a private, loopback or reserved address/.test(host.appLogText().slice(before)), 5000, 'refusal logged');
            const url = `json://127.0.0.1:${admin.url.split(':')[2]}/admin`;
            expect(await relay(`link ${url}`, host.admin.id, 'RANDOM')).toMatch(/Not linked: .*url: http:\/\/127\.0\.0\.1:\d+ is a private, loopback or reserved address/);
        });

        it('stops a running configuration from reaching a host the admin no longer allows', async () => {
            await host.updateSetting('private_hosts_allowed', TEST_PRIVATE_HOSTS);
            await configure({ hook: { type: 'webhook', url: `${admin.url}/running` } }, [{ from: { rocketchat: { room: '#general' } }, to: { hook: {} } }]);
            expect(await relay('test', host.admin.id, 'GENERAL')).toMatch(/:white_check_mark: \*hook\* delivered/);
            await host.updateSetting('private_hosts_allowed', '');
            const before = admin.requests.length;
            const reply = await relay('test', host.admin.id, 'GENERAL');
            expect(reply).toMatch(/:x: \*hook\* failed .*refused to contact http:\/\/127\.0\.0\.1:\d+: a private, loopback or reserved address/);
            expect(admin.requests.length).toBe(before);
        });
    });

    it('a target that echoes its URL and token: no secret in logs, replies, status endpoint or dead letters', async () => {
        await host.updateSetting('private_hosts_allowed', TEST_PRIVATE_HOSTS);
        await configure(
            {
                by_secret: { type: 'webhook', url: `${sink.url}/hooks/\${HOOK}` },
                inline: { type: 'webhook', url: `${sink.url}/hooks/${INLINE_HOOK}?sig=${INLINE_HOOK}x` },
                ci: { type: 'inbound', token: SECRET_TOKEN, rooms: ['#general'] },
            },
            [{ from: { rocketchat: { room: '#general' } }, to: { by_secret: {}, inline: {} } }],
        );
        host.state.requireRoom('GENERAL').ownerIds = [host.admin.id, host.alice.id];
        host.sendMessage({ roomId: 'GENERAL', text: 'doomed' });
        await eventually(async () => (await relay('dead-letters', host.admin.id, 'GENERAL')).match(/Dead letters for this room\* \(2\)/), 60000, 'two dead letters');
        await host.idle();
        const replies = [
            await relay('status', host.admin.id, 'GENERAL'),
            await relay('test', host.admin.id, 'GENERAL'),
            await relay('dead-letters', host.admin.id, 'GENERAL'),
            await relay('status', host.alice.id, 'GENERAL'),
            await relay('test', host.alice.id, 'GENERAL'),
            await relay('dead-letters', host.alice.id, 'GENERAL'),
        ];
        const status = await axios.get(`${host.siteUrl}/api/apps/public/${host.appId}/status`, { headers: { Authorization: `Bearer ${STATUS_TOKEN}` } });
        const deadLetters = [...host.state.appPersistence(host.appId).values()].filter((r: any) => r.keys.some((k: string) => /dead/.test(k)));
        expect(deadLetters.length).toBeGreaterThan(0);
        const everywhere: Record<string, string> = {
            log: host.appLogText(),
            replies: JSON.stringify(host.notifications),
            status: JSON.stringify(status.data),
            deadLetters: JSON.stringify(deadLetters),
        };
        for (const [where, text] of Object.entries(everywhere)) {
            for (const secret of [SECRET_HOOK, INLINE_HOOK, SECRET_TOKEN, `${sink.url}/hooks`]) {
                expect([where, text.indexOf(secret) >= 0 ? secret : 'absent']).toEqual([where, 'absent']);
            }
        }
        // Still useful: the admin sees what the target said, the owner its status only.
        expect(replies[1]).toMatch(/:x: \*by_secret\* failed .*HTTP 500: .*no hook registered at \/hooks\/\$\{HOOK\}; POST http:\/\/127\.0\.0\.1:\d+\/\*\*\* rejected \(token \*\*\*\)/);
        expect(replies[4]).toMatch(/:x: \*by_secret\* failed \(\d+ ms\) HTTP 500 — retryable$/m);
        expect(replies[3]).toMatch(/last error .*: HTTP 500/);
        expect(replies[3]).not.toMatch(/no hook registered/);
        expect(replies[5]).not.toMatch(/no hook registered/);
    });
});
