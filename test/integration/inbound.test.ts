// The inbound endpoint over the host's real HTTP server, in the real runtime: every dialect posts
// into a room with its alias/avatar/emoji; base64 files become uploads; retries are idempotent;
// edits and deletes reach the mapped message; refused requests write nothing.
import axios, { AxiosRequestConfig } from 'axios';
import * as fs from 'fs';
import * as path from 'path';

import { LocalHost, originOf, startHostWithApp } from '../support/host';

const EXT_TOKEN = 'ext-token-0123456789abcdef';
const MB_TOKEN = 'mb-token-0123456789abcdef';
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'unit', 'inbound', 'fixtures', name), 'utf8'));

describe('inbound endpoint', () => {
    let host: LocalHost;
    let base: string;

    const post = (url: string, body: unknown, config: AxiosRequestConfig = {}) => axios.post(`${base}${url}`, body, { validateStatus: () => true, ...config });
    const auth = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });
    const stored = (id: string) => host.state.messages.get(id);

    beforeAll(async () => {
        host = await startHostWithApp();
        base = `${host.siteUrl}/api/apps/public/${host.appId}`;
        await host.updateSetting(
            'relay_config',
            JSON.stringify({
                instances: {
                    ext: { type: 'inbound', token: EXT_TOKEN, rooms: ['#general', 'RANDOM'] },
                    mb: { type: 'inbound', token: MB_TOKEN },
                },
                rules: [
                    { from: { ext: {} }, to: { rocketchat: { room: '#general' } } },
                    { from: { mb: {} }, to: { rocketchat: { room: '#random' } }, msg: { rc_alias: '[{platform}] {user}' } },
                ],
            }),
        );
    });

    afterAll(async () => {
        await host?.stop();
    });

    it.each([
        ['Rocket.Chat webhook JSON', '', { channel: '#general', text: 'deploy done', alias: 'CI', avatar: 'https://ci.example.com/a.png' }, { roomId: 'GENERAL', text: 'deploy done', alias: 'CI', avatarUrl: 'https://ci.example.com/a.png' }],
        ['Rocket.Chat webhook with emoji', '', { roomId: 'RANDOM', text: 'hi', alias: 'Bot', emoji: ':robot:' }, { roomId: 'RANDOM', alias: 'Bot', emoji: ':robot:' }],
        ['Slack-style', '', { channel: '#general', text: 'from *slack*', username: 'slackbot', icon_url: 'https://slack.example.com/i.png', thread_ts: '' }, { roomId: 'GENERAL', alias: 'slackbot', avatarUrl: 'https://slack.example.com/i.png' }],
        ['Discord-style (room from ?channel=)', '?channel=%23general', { content: 'from discord', username: 'Dana', avatar_url: 'https://cdn.example.com/d.png' }, { roomId: 'GENERAL', text: 'from discord', alias: 'Dana', avatarUrl: 'https://cdn.example.com/d.png' }],
        ['NextBridge webhook driver', '', fixture('nextbridge-discord.json'), { roomId: 'GENERAL', alias: 'Alice (Discord)', avatarUrl: 'https://cdn.discordapp.com/avatars/123456789012345678/a1b2c3.png' }],
        ['Apprise json:// (rules route it)', '', { version: '1.0', title: 'Backup', message: 'done', type: 'success' }, { roomId: 'GENERAL', text: '*Backup*\ndone', emoji: ':white_check_mark:' }],
        ['Slack JSON forced with ?format=', '?format=slack', { channel: '#general', text: 'forced' }, { roomId: 'GENERAL', text: 'forced' }],
    ])('%s posts into the room with its identity', async (_dialect, query, body, expected) => {
        const response = await post(`/inbound${query}`, body, auth(EXT_TOKEN));
        expect(response.data).toMatchObject({ success: true });
        expect(response.status).toBe(200);
        const message = stored(response.data.message_id);
        expect(message).toMatchObject({ senderId: host.appUser().id, ...expected });
        // Where it came from is on record, not on the message (the server refuses customFields by default).
        expect(message.customFields).toBeUndefined();
        expect(originOf(host, message.id)).toBe('ext');
    });

    it('accepts the form-encoded payload= variant of Rocket.Chat webhooks', async () => {
        const body = new URLSearchParams({ payload: JSON.stringify({ channel: '#general', text: 'form post', alias: 'Form' }) }).toString();
        const response = await post('/inbound', body, { headers: { Authorization: `Bearer ${EXT_TOKEN}`, 'Content-Type': 'application/x-www-form-urlencoded' } });
        expect(response.status).toBe(200);
        expect(stored(response.data.message_id)).toMatchObject({ text: 'form post', alias: 'Form' });
    });

    it('routes a Matterbridge message by rules, with the rule template and its base64 file as an upload', async () => {
        const before = host.state.uploads.size;
        const body = fixture('matterbridge-telegram-file.json');
        const response = await post('/inbound?source=mb', { ...body, parent_id: '' }, { headers: { 'X-Relay-Token': MB_TOKEN } });
        expect(response.data).toMatchObject({ success: true, room_id: 'RANDOM' });
        expect(stored(response.data.message_id)).toMatchObject({ roomId: 'RANDOM', alias: '[telegram] bob' });
        expect(host.state.uploads.size).toBe(before + 1);
        const upload = [...host.state.uploads.values()].pop();
        const file = body.Extra.file[0];
        expect(upload.upload.name).toBe(file.Name);
        expect(Buffer.compare(upload.bytes, Buffer.from(file.Data, 'base64'))).toBe(0);
    });

    it('creates one message for retries with the same Idempotency-Key', async () => {
        const count = host.state.messages.size;
        const headers = { Authorization: `Bearer ${EXT_TOKEN}`, 'Idempotency-Key': 'retry-1' };
        const first = await post('/inbound', { channel: '#general', text: 'once' }, { headers });
        const second = await post('/inbound', { channel: '#general', text: 'once' }, { headers });
        expect(second.data).toEqual(first.data);
        expect(host.state.messages.size).toBe(count + 1);
    });

    it('edits (PUT) and deletes (DELETE) the message mapped from the sender’s id, and replies in its thread', async () => {
        const created = await post('/inbound', { channel: '#general', text: 'v1', id: 'ext-42' }, auth(EXT_TOKEN));
        const id = created.data.message_id;
        const reply = await post('/inbound', { channel: '#general', text: 'a reply', thread_ts: 'ext-42' }, auth(EXT_TOKEN));
        expect(stored(reply.data.message_id)).toMatchObject({ threadId: id });
        const edited = await axios.put(`${base}/inbound`, { id: 'ext-42', text: 'v2' }, auth(EXT_TOKEN));
        expect(edited.data).toMatchObject({ success: true, message_id: id });
        expect(stored(id)).toMatchObject({ text: 'v2' });
        const deleted = await axios.delete(`${base}/inbound?id=ext-42`, auth(EXT_TOKEN));
        expect(deleted.data).toMatchObject({ success: true, message_id: id });
        expect(stored(id)).toBeUndefined();
    });

    it.each([
        ['a missing token', '/inbound', { channel: '#general', text: 'x' }, {}, 401, /missing token/],
        ['a wrong token', '/inbound', { channel: '#general', text: 'x' }, auth('nope-nope-nope-nope-1'), 401, /invalid token/],
        ['a room outside the allow-list', '/inbound', { channel: '#staff', text: 'x' }, auth(EXT_TOKEN), 403, /may not post to #staff/],
        ['a room that does not exist (same answer)', '/inbound', { channel: '#nope', text: 'x' }, auth(EXT_TOKEN), 403, /may not post to #nope/],
        ['an unknown source', '/inbound?source=ghost', { text: 'x' }, auth(EXT_TOKEN), 404, /unknown source/],
        ['another source’s token on a named source', '/inbound?source=mb', { text: 'x' }, auth(EXT_TOKEN), 401, /invalid token/],
        ['a body of the wrong shape', '/inbound', { channel: '#general', text: { nested: true } }, auth(EXT_TOKEN), 400, /text/],
        ['bad base64', '/inbound', { version: '1.0', message: 'x', attachments: [{ filename: 'a', base64: '@@@', mimetype: 'text/plain' }] }, auth(EXT_TOKEN), 400, /base64/],
    ])('refuses %s and writes nothing', async (_what, url, body, config, status, error) => {
        const messages = host.state.messages.size;
        const records = host.state.appPersistence(host.appId).size;
        const response = await post(url, body, config);
        expect(response.status).toBe(status);
        expect(response.data).toEqual({ success: false, error: expect.stringMatching(error) });
        expect(host.state.messages.size).toBe(messages);
        expect(host.state.appPersistence(host.appId).size).toBe(records);
    });

    it('limits each source’s rate with 429 and Retry-After, writing nothing for refused requests', async () => {
        await host.updateSetting('inbound_rate_per_minute', 6); // burst of 10, then one every 10 s
        try {
            const before = host.state.messages.size;
            const responses = [];
            for (let i = 0; i < 14; i++) responses.push(await post('/inbound', { channel: '#general', text: `burst ${i}` }, auth(EXT_TOKEN)));
            const limited = responses.filter((r) => r.status === 429);
            expect(limited.length).toBeGreaterThanOrEqual(3);
            expect(limited[0].headers['retry-after']).toMatch(/^\d+$/);
            expect(limited[0].data).toEqual({ success: false, error: expect.stringMatching(/too many requests from source "ext"/) });
            expect(host.state.messages.size).toBe(before + responses.filter((r) => r.status === 200).length);
            // Another source is not affected.
            const other = await post('/inbound?source=mb', { text: 'unaffected', username: 'u', gateway: 'g' }, { headers: { 'X-Relay-Token': MB_TOKEN } });
            expect(other.status).toBe(200);
        } finally {
            await host.updateSetting('inbound_rate_per_minute', 600);
        }
    });
});
