// Slack (incoming webhook and bot), Mattermost, Teams Workflows and Zulip in the real runtime: the
// packaged app relays #general to real local HTTP servers that answer like those services, and
// each must receive the exact documented request; Slack bot mode and Zulip also follow edits,
// deletes and (Slack) thread replies through the ids they answered.
import { eventually, LocalHost, startHostWithApp } from '../support/host';
import { RecordedRequest, Sink } from '../support/sink';

const BOT_TOKEN = 'xoxb-1111-2222-relaybridgetest';
const ZULIP_EMAIL = 'relay-bot@example.zulipchat.com';
const ZULIP_KEY = 'lqn6mpwpam6VZzbCW0o7olmk3hwbQSK0';
const MM_KEY = 'yobjmukpaw3r3urc5h6i369yim';
const FLOW_PATH = '/workflows/643e69f83c8944438d68119179a10a64/triggers/manual/paths/invoke';
const AVATAR = 'https://cdn.example.com/alice.png';

/** A form-encoded body as an object. */
function form(request: RecordedRequest): Record<string, string> {
    const fields: Record<string, string> = {};
    new URLSearchParams(request.text).forEach((value, key) => {
        fields[key] = value;
    });
    return fields;
}

describe('outbound relay to Slack, Mattermost, Teams and Zulip', () => {
    let host: LocalHost;
    let slackHook: Sink;
    let slackApi: Sink;
    let mattermost: Sink;
    let teams: Sink;
    let zulip: Sink;
    let nextTs = 100;
    let nextZulipId = 500;

    beforeAll(async () => {
        // Incoming webhooks (Slack, Mattermost) answer a plain `ok`; a flow answers 202 with no body.
        slackHook = await new Sink(() => ({ status: 200, headers: { 'Content-Type': 'text/plain' }, body: 'ok' })).start();
        mattermost = await new Sink(() => ({ status: 200, headers: { 'Content-Type': 'text/plain' }, body: 'ok' })).start();
        teams = await new Sink(() => ({ status: 202 })).start();
        // Slack Web API: HTTP 200 {ok, channel (the id, even when given a #name), ts}.
        slackApi = await new Sink((req) => {
            if (req.path === '/api/chat.postMessage') return { body: { ok: true, channel: 'C0GENERAL', ts: `1700000000.000${++nextTs}`, message: { text: req.json.text } } };
            if (req.path === '/api/chat.update') return { body: { ok: true, channel: req.json.channel, ts: req.json.ts, text: req.json.text } };
            return { body: { ok: true, channel: req.json.channel, ts: req.json.ts } };
        }).start();
        // Zulip REST API: {result: "success", msg: "", id} for a new message, {result, msg} otherwise.
        zulip = await new Sink((req) => (req.method === 'POST'
            ? { body: { result: 'success', msg: '', id: ++nextZulipId } }
            : { body: { result: 'success', msg: '' } })).start();
        host = await startHostWithApp();
        await host.updateSetting('relay_config', JSON.stringify({
            instances: {
                slack_hook: { type: 'slack', webhook_url: `${slackHook.url}/services/T0001/B0002/XXXXyyyyZZZZ` },
                slack_bot: { type: 'slack', bot_token: BOT_TOKEN, channel: '#general', identity: 'legacy', api_url: `${slackApi.url}/api` },
                mm: { type: 'mattermost', webhook_url: `${mattermost.url}/hooks/${MM_KEY}` },
                ms_teams: { type: 'teams', webhook_url: `${teams.url}${FLOW_PATH}?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=s1gn4ture` },
                zulip_org: { type: 'zulip', site: zulip.url, bot_email: ZULIP_EMAIL, api_key: ZULIP_KEY },
            },
            rules: [{
                from: { rocketchat: { room: '#general' } },
                to: { slack_hook: {}, slack_bot: {}, mm: {}, ms_teams: {}, zulip_org: { stream: 'general', topic: 'rc {room}' } },
                msg: { webhook_avatar: AVATAR },
            }],
        }));
    });

    afterAll(async () => {
        await host?.stop();
        for (const sink of [slackHook, slackApi, mattermost, teams, zulip]) {
            await sink?.stop();
        }
    });

    const settle = async () => {
        await host.idle();
        // persistence writes happen after the target responds; wait until the engine is quiet
        await new Promise((r) => setTimeout(r, 50));
    };

    it('relays a sent message as each service documents it', async () => {
        const message = host.sendMessage({ roomId: 'GENERAL', text: 'hello *world*' });

        const [hookPost] = await slackHook.waitFor(1);
        expect(hookPost.method).toBe('POST');
        expect(hookPost.path).toBe('/services/T0001/B0002/XXXXyyyyZZZZ');
        expect(hookPost.headers['content-type']).toMatch(/^application\/json/);
        expect(hookPost.json).toEqual({ text: '*Alice Liddell*: hello *world*' });

        const [botPost] = await slackApi.waitFor(1);
        expect(botPost.path).toBe('/api/chat.postMessage');
        expect(botPost.headers.authorization).toBe(`Bearer ${BOT_TOKEN}`);
        expect(botPost.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(botPost.json).toEqual({ channel: '#general', text: 'hello *world*', username: 'Alice Liddell', icon_url: AVATAR });

        const [mmPost] = await mattermost.waitFor(1);
        expect(mmPost.path).toBe(`/hooks/${MM_KEY}`);
        expect(mmPost.json).toEqual({
            text: 'hello **world**', username: 'Alice Liddell', icon_url: AVATAR,
            props: { from_relay_bridge: true, relay_message_id: message.id, relay_room: 'general' },
        });

        const [teamsPost] = await teams.waitFor(1);
        expect(teamsPost.path).toBe(FLOW_PATH);
        expect(teamsPost.query).toEqual({ 'api-version': '2016-06-01', sp: '/triggers/manual/run', sv: '1.0', sig: 's1gn4ture' });
        expect(teamsPost.json).toEqual({
            type: 'message',
            attachments: [{
                contentType: 'application/vnd.microsoft.card.adaptive',
                contentUrl: null,
                content: {
                    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
                    type: 'AdaptiveCard',
                    version: '1.4',
                    body: [
                        {
                            type: 'ColumnSet',
                            columns: [
                                { type: 'Column', width: 'auto', items: [{ type: 'Image', url: AVATAR, style: 'Person', size: 'Small', altText: 'Alice Liddell' }] },
                                {
                                    type: 'Column', width: 'stretch', verticalContentAlignment: 'Center',
                                    items: [{ type: 'TextBlock', text: 'Alice Liddell', weight: 'Bolder', wrap: true }],
                                },
                            ],
                        },
                        { type: 'TextBlock', text: 'hello **world**', wrap: true },
                    ],
                },
            }],
        });

        const [zulipPost] = await zulip.waitFor(1);
        expect(zulipPost.method).toBe('POST');
        expect(zulipPost.path).toBe('/api/v1/messages');
        expect(zulipPost.headers.authorization).toBe(`Basic ${Buffer.from(`${ZULIP_EMAIL}:${ZULIP_KEY}`).toString('base64')}`);
        expect(zulipPost.headers['content-type']).toBe('application/x-www-form-urlencoded');
        expect(form(zulipPost)).toEqual({ type: 'stream', to: 'general', topic: 'rc general', content: '**Alice Liddell**: hello **world**' });
        await settle();
    });

    it('follows an edit and a delete with the ids Slack and Zulip answered; webhook-only targets stay quiet', async () => {
        for (const sink of [slackHook, slackApi, mattermost, teams, zulip]) {
            sink.requests.length = 0;
        }
        const message = host.sendMessage({ roomId: 'GENERAL', text: 'first' });
        const [post] = await slackApi.waitFor(1);
        const postedTs = `1700000000.000${nextTs}`;
        await zulip.waitFor(1);
        const zulipId = nextZulipId;
        await slackHook.waitFor(1);
        await mattermost.waitFor(1);
        await teams.waitFor(1);
        expect(post.json.text).toBe('first');
        await settle();

        host.editMessage(message.id, 'second @here');
        const [, update] = await slackApi.waitFor(2);
        expect(update.path).toBe('/api/chat.update');
        expect(update.headers.authorization).toBe(`Bearer ${BOT_TOKEN}`);
        expect(update.json).toEqual({ channel: 'C0GENERAL', ts: postedTs, text: 'second @\u200Bhere' });
        const [, patch] = await zulip.waitFor(2);
        expect(patch.method).toBe('PATCH');
        expect(patch.path).toBe(`/api/v1/messages/${zulipId}`);
        expect(form(patch)).toEqual({ content: '**Alice Liddell**: second @\u200Bhere' });
        await settle();

        host.deleteMessage(message.id);
        const [, , remove] = await slackApi.waitFor(3);
        expect(remove.path).toBe('/api/chat.delete');
        expect(remove.json).toEqual({ channel: 'C0GENERAL', ts: postedTs });
        const [, , zulipDelete] = await zulip.waitFor(3);
        expect(zulipDelete.method).toBe('DELETE');
        expect(zulipDelete.path).toBe(`/api/v1/messages/${zulipId}`);
        expect(zulipDelete.text).toBe('');
        await settle();

        // Incoming webhooks and flows answer no ids: the edit and the delete send nothing there.
        expect(slackHook.requests).toHaveLength(1);
        expect(mattermost.requests).toHaveLength(1);
        expect(teams.requests).toHaveLength(1);
    });

    it('puts a thread reply into the Slack thread of the mapped parent', async () => {
        await settle();
        slackApi.requests.length = 0;
        const parent = host.sendMessage({ roomId: 'GENERAL', text: 'parent' });
        const [parentPost] = await slackApi.waitFor(1);
        const parentTs = `1700000000.000${nextTs}`;
        expect(parentPost.json.thread_ts).toBeUndefined();
        await settle();

        host.sendMessage({ roomId: 'GENERAL', text: 'a reply', threadId: parent.id });
        const [, reply] = await slackApi.waitFor(2);
        expect(reply.path).toBe('/api/chat.postMessage');
        expect(reply.json).toEqual({ channel: 'C0GENERAL', text: 'a reply', thread_ts: parentTs, username: 'Alice Liddell', icon_url: AVATAR });
        // Let the reply's other deliveries finish before the host stops.
        await eventually(() => host.pending.size === 0);
        await settle();
    });
});
