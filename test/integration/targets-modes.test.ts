// Target modes from Apprise URLs in the real runtime (issue 16): a Matrix password login whose
// token is kept in app persistence and renewed when the homeserver rejects it, Mattermost bot mode
// with a channel name looked up in the team, and Slack Workflow Builder webhooks. One local HTTP
// server per service answers the way the service documents.
import { eventually, LocalHost, startHostWithApp } from '../support/host';
import { RecordedRequest, Sink } from '../support/sink';

const PASSWORD = 'correct horse battery';
const ROOM = '!ops:example.org';
const JOIN_PATH = `/_matrix/client/v3/join/${encodeURIComponent('#ops:example.org')}`;
const MM_TOKEN = 'b0tt0ken0000000000000000aa';
const MM_CHANNEL = 'townsquare0000000000000000';
const NAME = 'Alice Liddell';

describe('target modes from Apprise URLs', () => {
    let host: LocalHost;
    let matrix: Sink;
    let mattermost: Sink;
    let workflow: Sink;
    let nextId = 0;
    let logins = 0;
    // The homeserver's valid access tokens: a test revokes them to make it answer M_UNKNOWN_TOKEN.
    const validTokens = new Set<string>();
    const bearer = (req: RecordedRequest) => (req.headers.authorization || '').replace(/^Bearer /, '');

    beforeAll(async () => {
        matrix = await new Sink((req) => {
            if (req.method === 'POST' && req.path === '/_matrix/client/v3/login') {
                const json = req.json || {};
                if (json.type !== 'm.login.password' || !json.identifier || json.identifier.user !== 'relay' || json.password !== PASSWORD) {
                    return { status: 403, body: { errcode: 'M_FORBIDDEN', error: 'Invalid username or password' } };
                }
                const token = `syt_login${++logins}`;
                validTokens.add(token);
                return { body: { access_token: token, user_id: '@relay:example.org', device_id: json.device_id || 'DEV1', home_server: 'example.org' } };
            }
            if (!validTokens.has(bearer(req))) {
                return { status: 401, body: { errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.', soft_logout: false } };
            }
            if (req.method === 'POST' && req.path === JOIN_PATH) {
                return { body: { room_id: ROOM } };
            }
            if (req.method === 'PUT' && req.path.indexOf(`/_matrix/client/v3/rooms/${encodeURIComponent(ROOM)}/send/`) === 0) {
                return { body: { event_id: `$ev${++nextId}` } };
            }
            return { status: 404, body: { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' } };
        }).start();
        mattermost = await new Sink((req) => {
            if (req.headers.authorization !== `Bearer ${MM_TOKEN}`) {
                return { status: 401, body: { id: 'api.context.session_expired.app_error', message: 'Invalid or expired session, please login again.', status_code: 401 } };
            }
            if (req.method === 'GET' && req.path === '/api/v4/teams/name/chester/channels/name/town-square') {
                return { body: { id: MM_CHANNEL, name: 'town-square', display_name: 'Town Square', team_id: 'team00000000000000000000aa' } };
            }
            if (req.method === 'POST' && req.path === '/api/v4/posts') {
                return { status: 201, body: { id: `post${String(++nextId).padStart(22, '0')}`, channel_id: req.json.channel_id, message: req.json.message } };
            }
            const patch = /^\/api\/v4\/posts\/([a-z0-9]{26})\/patch$/.exec(req.path);
            if (req.method === 'PUT' && patch) {
                return { body: { id: patch[1], message: req.json.message } };
            }
            if (req.method === 'DELETE' && /^\/api\/v4\/posts\/[a-z0-9]{26}$/.test(req.path)) {
                return { body: { status: 'OK' } };
            }
            return { status: 404, body: { id: 'api.context.404.app_error', message: 'Sorry, we could not find the page.', status_code: 404 } };
        }).start();
        // Workflow Builder answers a plain 200; unknown workflows 404.
        workflow = await new Sink((req) => (req.path === '/workflows/T1JJ3T3L2/Ft07XXXX/XXXXXXXX/YYYYYYYY' || req.path === '/triggers/T1JJ3T3L2/XXXXXXXX/YYYYYYYY'
            ? { body: { ok: true } }
            : { status: 404, body: 'no_such_workflow' })).start();
        host = await startHostWithApp();
        const matrixPort = new URL(matrix.url).port;
        const mattermostPort = new URL(mattermost.url).port;
        await host.updateSetting('relay_config', JSON.stringify({
            instances: {
                // Apprise's URLs as an admin would paste them: `#ops` takes the login's server name.
                mx: { url: `matrix://relay:${encodeURIComponent(PASSWORD)}@127.0.0.1:${matrixPort}/%23ops` },
                mm: { url: `mmost://chester@127.0.0.1:${mattermostPort}/${MM_TOKEN}?mode=bot&to=%23town-square` },
                wf: { type: 'slack', webhook_url: `${workflow.url}/workflows/T1JJ3T3L2/Ft07XXXX/XXXXXXXX/YYYYYYYY` },
                tr: { type: 'slack', webhook_url: `${workflow.url}/triggers/T1JJ3T3L2/XXXXXXXX/YYYYYYYY` },
            },
            rules: [{ from: { rocketchat: { room: '#general' } }, to: { mx: {}, mm: {}, wf: {}, tr: {} } }],
        }));
    });

    afterAll(async () => {
        await host?.stop();
        await Promise.all([matrix, mattermost, workflow].map((sink) => sink?.stop()));
    });

    const settle = async () => {
        await host.idle();
        await new Promise((r) => setTimeout(r, 50));
    };
    const reset = () => [matrix, mattermost, workflow].forEach((sink) => { sink.requests.length = 0; });
    const sessionRecords = () => host.state.appPersistence(host.appId).withKeys(['misc:relay-bridge:target-session']);

    it('Matrix: logs in once with m.login.password, joins the alias and sends with the token; the next message reuses it', async () => {
        await settle();
        reset();
        const first = host.sendMessage({ roomId: 'GENERAL', text: 'hello *world*' });
        const [login, join, put] = await matrix.waitFor(3);
        expect([login.method, login.path]).toEqual(['POST', '/_matrix/client/v3/login']);
        expect(login.json).toEqual({
            type: 'm.login.password', identifier: { type: 'm.id.user', user: 'relay' }, password: PASSWORD, initial_device_display_name: 'Relay Bridge',
        });
        expect([join.method, join.path, join.headers.authorization]).toEqual(['POST', JOIN_PATH, 'Bearer syt_login1']);
        expect([put.method, put.path, put.headers.authorization]).toEqual(['PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(ROOM)}/send/m.room.message/rb-${first.id}-sent-0`, 'Bearer syt_login1']);
        expect(put.json).toMatchObject({ msgtype: 'm.text', body: `${NAME}: hello world` });

        await settle();
        host.sendMessage({ roomId: 'GENERAL', text: 'second' });
        const [, , , join2, put2] = await matrix.waitFor(5);
        expect([join2.path, put2.headers.authorization]).toEqual([JOIN_PATH, 'Bearer syt_login1']);
        expect(logins).toBe(1);
        // Kept in app persistence (every server instance reads it), never in a log line.
        expect(sessionRecords().map(([, record]: [unknown, any]) => record.data.values.access_token)).toEqual(['syt_login1']);
        expect(host.appLogText()).not.toContain(PASSWORD);
    });

    it('Matrix: the kept token outlives the app runtime (disabled and enabled again)', async () => {
        await settle();
        await host.disableApp();
        await host.enableApp();
        reset();
        host.sendMessage({ roomId: 'GENERAL', text: 'after a restart' });
        const [join, put] = await matrix.waitFor(2);
        expect([join.path, put.method, put.headers.authorization]).toEqual([JOIN_PATH, 'PUT', 'Bearer syt_login1']);
        expect(logins).toBe(1);
    });

    it('Matrix: a token the homeserver rejects (401 M_UNKNOWN_TOKEN) is dropped, the same device logs in again and the message goes', async () => {
        await settle();
        validTokens.clear(); // the admin logged the device out, or the token expired
        reset();
        const message = host.sendMessage({ roomId: 'GENERAL', text: 'after expiry' });
        const [rejected, login, join, put] = await matrix.waitFor(4);
        expect([rejected.path, rejected.headers.authorization]).toEqual([JOIN_PATH, 'Bearer syt_login1']);
        expect([login.path, login.json.device_id, login.json.password]).toEqual(['/_matrix/client/v3/login', 'DEV1', PASSWORD]);
        expect([join.path, join.headers.authorization]).toEqual([JOIN_PATH, 'Bearer syt_login2']);
        expect([put.path, put.headers.authorization]).toEqual([`/_matrix/client/v3/rooms/${encodeURIComponent(ROOM)}/send/m.room.message/rb-${message.id}-sent-0`, 'Bearer syt_login2']);
        await settle();
        expect(sessionRecords().map(([, record]: [unknown, any]) => record.data.values.access_token)).toEqual(['syt_login2']);
        expect(host.appLogText()).not.toContain(PASSWORD);
    });

    it('Mattermost bot mode: the channel name is looked up in the team, the post goes by id; edits and deletes follow by post id', async () => {
        await settle();
        reset();
        const message = host.sendMessage({ roomId: 'GENERAL', text: 'hello *world*' });
        const [lookup, post] = await mattermost.waitFor(2);
        expect([lookup.method, lookup.path, lookup.headers.authorization]).toEqual(['GET', '/api/v4/teams/name/chester/channels/name/town-square', `Bearer ${MM_TOKEN}`]);
        expect([post.method, post.path]).toEqual(['POST', '/api/v4/posts']);
        expect(post.json).toMatchObject({ channel_id: MM_CHANNEL, message: 'hello **world**', props: { from_relay_bridge: true, override_username: NAME } });
        const postId = `post${String(nextId).padStart(22, '0')}`;

        await settle();
        host.editMessage(message.id, 'hello *there*');
        const [, , patch] = await mattermost.waitFor(3, 40000);
        expect([patch.method, patch.path, patch.json]).toEqual(['PUT', `/api/v4/posts/${postId}/patch`, { message: 'hello **there**' }]);

        await settle();
        host.deleteMessage(message.id);
        const [, , , remove] = await mattermost.waitFor(4, 40000);
        expect([remove.method, remove.path]).toEqual(['DELETE', `/api/v4/posts/${postId}`]);
    });

    it('Slack workflow and trigger webhooks get {text}; edits and deletes are not theirs to follow', async () => {
        await settle();
        reset();
        const message = host.sendMessage({ roomId: 'GENERAL', text: 'deploy *done*' });
        // This message's calls (an earlier test's message held up by the app's restart may still arrive).
        const mine = () => workflow.requests.filter((call) => /deploy/.test(call.text));
        const calls = (await eventually(() => (mine().length >= 2 ? mine() : undefined), 40000, 'both workflow calls'))!;
        expect(calls.map((call) => [call.method, call.path, call.headers['content-type'], call.json]).sort()).toEqual([
            ['POST', '/triggers/T1JJ3T3L2/XXXXXXXX/YYYYYYYY', 'application/json', { text: `*${NAME}*: deploy *done*` }],
            ['POST', '/workflows/T1JJ3T3L2/Ft07XXXX/XXXXXXXX/YYYYYYYY', 'application/json', { text: `*${NAME}*: deploy *done*` }],
        ]);
        await settle();
        host.editMessage(message.id, 'deploy *undone*');
        // The edit reaches the targets that follow edits (Mattermost patches), not the workflows.
        await eventually(() => mattermost.requests.some((request) => request.method === 'PUT' && /undone/.test(request.text)), 40000, 'the Mattermost edit');
        await settle();
        expect(mine()).toHaveLength(2);
    });
});
