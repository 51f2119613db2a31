// Issue 14 acceptance: a run with secrets everywhere (target URLs with tokens, a remote
// Rocket.Chat's access token and password, inbound tokens, the status token), outbound to targets
// that echo what they were sent in their errors, inbound with bad and good tokens, `/relay` as an
// admin and as a room owner, the status endpoint, dead letters — then everything the app wrote is
// collected (its log, every persistence record, every message in every room, every endpoint answer,
// every command reply and notification) and no secret value may appear anywhere.
import axios from 'axios';

import { eventually, LocalHost, startHostWithApp } from '../support/host';
import { Sink } from '../support/sink';

const SECRETS = {
    statusToken: 'status-sweep-token-7Qm2xV9pL4',
    hookPath: 'hook-sweep-secret-3Rk8tW1nB6', // from the Secrets setting
    inlineHook: 'inline-sweep-secret-5Jd0yH7cF2', // written into the configuration
    querySig: 'sig-sweep-secret-8Gv4sN2mT9', // a ?sig= in a target URL
    rcToken: 'rc-pat-sweep-secret-1Xw6qZ3kD8', // remote Rocket.Chat personal access token
    rcPassword: 'rc-pass-sweep-secret-6Ue9rA4jS1', // remote Rocket.Chat login password
    tgToken: '123456789:AAsweepTelegramSecret0Kp5Lh2', // Telegram bot token (in the URL path)
    inboundToken: 'inbound-sweep-secret-2Yb7vC5gM0',
    webhookToken: 'webhook-sweep-secret-9Pn1fE8hQ3', // a target's own token, sent in its payload
};

describe('secrets never leave: everything the app wrote during a run', () => {
    let host: LocalHost;
    let echo: Sink;
    const answers: unknown[] = [];

    /** Answers every request with an error quoting its URL, headers and body, as careless servers do. */
    const echoing = () => new Sink((req) => ({
        status: req.path.includes('/login') ? 401 : 500,
        body: { success: false, error: `no route ${req.method} ${echo.url}${req.path}?${new URLSearchParams(req.query)} headers ${JSON.stringify(req.headers)} body ${req.text.slice(0, 2000)}` },
    }));

    const relay = async (args: string, userId: string, roomId: string) => {
        const replies = await host.runCommand({ command: 'relay', args: args.split(' '), roomId, userId });
        answers.push(replies);
        return replies.map((r: { text: string }) => r.text).join('\n');
    };
    const call = async (method: 'get' | 'post', path: string, body: unknown, headers: Record<string, string>) => {
        const response = await axios.request({ method, url: `${host.siteUrl}/api/apps/public/${host.appId}${path}`, data: body, headers, validateStatus: () => true });
        answers.push({ status: response.status, headers: response.headers, data: response.data });
        return response;
    };

    beforeAll(async () => {
        echo = await echoing().start();
        host = await startHostWithApp({
            retry_base_delay_ms: 50, retry_max_delay_ms: 100, give_up_after_hours: 0.0001,
            status_token: SECRETS.statusToken, relay_secrets: `HOOK=${SECRETS.hookPath}\nRC_PAT=${SECRETS.rcToken}`,
        });
        await host.updateSetting('relay_config', JSON.stringify({
            instances: {
                by_secret: { type: 'webhook', url: `${echo.url}/hooks/\${HOOK}`, token: SECRETS.webhookToken },
                inline: { type: 'webhook', url: `${echo.url}/hooks/${SECRETS.inlineHook}?sig=${SECRETS.querySig}` },
                rc_token: { type: 'rocketchat', server_url: echo.url, user_id: 'bot-id', auth_token: '${RC_PAT}', room_id: 'REMOTE' },
                rc_login: { type: 'rocketchat', server_url: echo.url, username: 'relay', password: SECRETS.rcPassword, room_id: 'REMOTE' },
                tg: { type: 'telegram', bot_token: SECRETS.tgToken, chat_id: '-100123', api_url: echo.url },
                ci: { type: 'inbound', token: SECRETS.inboundToken, rooms: ['#general'] },
            },
            rules: [
                { from: { rocketchat: { room: '#general' } }, to: { by_secret: {}, inline: {}, rc_token: {}, rc_login: {}, tg: {} } },
                { from: { ci: {} }, to: { rocketchat: { room: '#general' } } },
            ],
        }));
        host.state.requireRoom('GENERAL').ownerIds = [host.admin.id, host.alice.id];
    });

    afterAll(async () => {
        await host?.stop();
        await echo?.stop();
    });

    it('leaves no secret value in logs, persistence, rooms, endpoint answers or command replies', async () => {
        expect(host.appErrors().filter((line: string) => /refused|not valid|unknown/i.test(line))).toEqual([]);
        // Outbound: a message from a user and one from outside, to five echoing targets.
        host.sendMessage({ roomId: 'GENERAL', text: 'doomed everywhere' });
        const inbound = await call('post', '/inbound', { text: 'from ci' }, { Authorization: `Bearer ${SECRETS.inboundToken}` });
        expect(inbound.status).toBe(200);
        // Inbound and status with bad credentials (a near miss of each real one), then good ones.
        for (const bad of [`${SECRETS.inboundToken}x`, SECRETS.inboundToken.slice(0, -1), SECRETS.statusToken]) {
            expect((await call('post', '/inbound', { text: 'guess' }, { Authorization: `Bearer ${bad}`, 'X-Forwarded-For': '203.0.113.9' })).status).toBe(401);
        }
        expect((await call('post', `/inbound?token=${SECRETS.inboundToken}z`, { text: 'guess' }, {})).status).toBe(401);
        expect((await call('get', '/status', undefined, { Authorization: `Bearer ${SECRETS.statusToken}x` })).status).toBe(401);
        expect((await call('get', '/status', undefined, { Authorization: `Bearer ${SECRETS.inboundToken}` })).status).toBe(401);
        // Dead letters: every target gives up quickly (give_up_after_hours is tiny).
        // One per target: five.
        await eventually(async () => Number((/Dead letters for this room\* \((\d+)\)/.exec(await relay('dead-letters', host.admin.id, 'GENERAL')) || [])[1]) >= 5, 60000, 'five dead letters');
        await host.idle();
        for (const userId of [host.admin.id, host.alice.id]) {
            await relay('status', userId, 'GENERAL');
            await relay('test', userId, 'GENERAL');
            await relay('dead-letters', userId, 'GENERAL');
        }
        const status = await call('get', '/status', undefined, { Authorization: `Bearer ${SECRETS.statusToken}` });
        expect(status.status).toBe(200);
        await host.idle();
        // The targets did get the secrets (they are real credentials, sent where they belong) …
        const sent = JSON.stringify(echo.requests.map((r) => ({ path: r.path, query: r.query, headers: r.headers, text: r.text })));
        expect(sent).toContain(SECRETS.hookPath);
        expect(sent).toContain(SECRETS.rcToken);
        // … and echoed them back; none of it may come out of the app.
        // The engine's runtime logs every endpoint request it hands the app, headers and query
        // included, before app code runs (deno-runtime/handlers/api-handler.ts: "…is being
        // executed…", requestData): the callers' own tokens. The app cannot prevent it (README →
        // Security); those lines, and only those, are left out of the sweep.
        const engineRequestLog = (line: { args: unknown[] }) => typeof line.args[0] === 'string' && / is being executed\.\.\.$/.test(line.args[0] as string);
        const appLog = JSON.stringify(host.logStorage.entries.map((entry: { entries: Array<{ args: unknown[] }> }) => ({ ...entry, entries: entry.entries.filter((line) => !engineRequestLog(line)) })));
        const requestLog = JSON.stringify(host.logStorage.entries.map((entry: { entries: Array<{ args: unknown[] }> }) => entry.entries.filter(engineRequestLog)));
        expect(requestLog).toContain(SECRETS.inboundToken); // the limitation is real, and this filter is what hides it
        const written: Record<string, string> = {
            'app log': appLog,
            'persistence records': JSON.stringify([...host.state.appPersistence(host.appId).values()]),
            'room messages': JSON.stringify([...host.state.messages.values()]),
            'endpoint answers and command replies': JSON.stringify(answers),
            notifications: JSON.stringify(host.notifications),
        };
        const leaks: string[] = [];
        for (const [where, text] of Object.entries(written)) {
            for (const [name, value] of Object.entries(SECRETS)) {
                if (text.includes(value)) {
                    leaks.push(`${name} in ${where}: …${text.slice(Math.max(0, text.indexOf(value) - 120), text.indexOf(value) + value.length + 20)}…`);
                }
            }
        }
        expect(leaks).toEqual([]);
        // The sweep saw real material: failures were logged, dead letters written, replies given.
        // (Which failures reach the log depends on timing: on apps-engine 1.53.1 the lines written
        // after a message event's call has ended are dropped, so any delivery failure counts here;
        // the dead letters keep each target's last error.)
        expect(written['app log']).toMatch(/HTTP [45]\d\d/);
        expect(written['persistence records']).toMatch(/HTTP 500/);
        expect(written['persistence records']).toMatch(/dead-letter/);
        for (const name of ['by_secret', 'inline', 'rc_token', 'rc_login', 'tg']) {
            expect(written.notifications).toContain(`*${name}*`);
        }
    });
});
