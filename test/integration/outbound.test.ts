// Outbound relay in the real runtime: real local HTTP servers speak Discord's webhook API and a
// remote Rocket.Chat's REST API; messages sent, edited, deleted, threaded and uploaded in a host
// room must arrive as the requests those services document, in order.
import axios from 'axios';

import { eventually, LocalHost, startHostWithApp } from '../support/host';
import { multipartParts } from '../support/multipart';
import { Sink } from '../support/sink';

const INBOUND_TOKEN = 'discord-side-token-0123456789';
/** A message id chosen by the app for chat.sendMessage: the relay marker (one relay from this server) and 17 characters. */
const MARKED_ID = /^rbm_1_rb-[a-z0-9]+_[A-Za-z0-9]{17}$/;


describe('outbound relay to Discord and a remote Rocket.Chat', () => {
    let host: LocalHost;
    let discord: Sink;
    let remote: Sink;
    let nextId = 1000;

    beforeAll(async () => {
        // Discord: execute webhook returns the message object; edit returns it too; delete is 204.
        discord = await new Sink((req) => {
            if (req.method === 'POST') return { status: 200, body: { id: String(++nextId), channel_id: '42', content: req.json ? req.json.content : '' } };
            if (req.method === 'PATCH') return { status: 200, body: { id: req.path.split('/').pop() } };
            return { status: 204 };
        }).start();
        // Remote Rocket.Chat REST API.
        remote = await new Sink((req) => {
            // chat.sendMessage keeps the id the client chose (it carries the relay marker).
            if (req.path === '/api/v1/chat.sendMessage') return { body: { success: true, message: { ...req.json.message, rid: 'REMOTE_ROOM' } } };
            if (req.path === '/api/v1/chat.postMessage') return { body: { success: true, message: { _id: `R${++nextId}`, rid: 'REMOTE_ROOM', msg: req.json.text } } };
            if (req.path.startsWith('/api/v1/rooms.media/')) return { body: { success: true, file: { _id: `F${++nextId}`, url: '/file-upload/x' } } };
            if (req.path.startsWith('/api/v1/rooms.mediaConfirm/')) return { body: { success: true, message: { _id: `U${++nextId}`, rid: 'REMOTE_ROOM' } } };
            return { body: { success: true } };
        }).start();
        host = await startHostWithApp();
        await host.updateSetting(
            'relay_config',
            JSON.stringify({
                instances: {
                    dc: { type: 'discord', webhook_url: `${discord.url}/api/webhooks/111222333/tok-EN`, token: INBOUND_TOKEN },
                    rc_remote: { type: 'rocketchat', server_url: remote.url, auth_token: 'remote-pat', user_id: 'remote-bot-id', room_id: 'REMOTE_ROOM' },
                },
                rules: [
                    { type: 'connect', channels: { rocketchat: { room: '#general' }, dc: {} } },
                    { from: { rocketchat: { room_id: 'GENERAL' } }, to: { rc_remote: { room_id: 'REMOTE_ROOM' } }, msg: { rc_alias: '{user} (local)' } },
                ],
            }),
        );
    });

    afterAll(async () => {
        await host?.stop();
        await discord?.stop();
        await remote?.stop();
    });

    const settle = async () => {
        await host.idle();
        // persistence writes happen after the target responds; wait until the engine is quiet
        await new Promise((r) => setTimeout(r, 50));
    };

    it('relays sent → edited → deleted as the documented requests, in order', async () => {
        discord.requests.length = 0;
        remote.requests.length = 0;
        const message = host.sendMessage({ roomId: 'GENERAL', text: 'hello *world*' });
        const [post] = await discord.waitFor(1);
        expect(post.method).toBe('POST');
        expect(post.path).toBe('/api/webhooks/111222333/tok-EN');
        expect(post.query).toEqual({ wait: 'true' });
        expect(post.json).toEqual({ content: 'hello **world**', username: 'Alice Liddell', allowed_mentions: { parse: [] } });
        const [remotePost] = await remote.waitFor(1);
        expect(remotePost.path).toBe('/api/v1/chat.sendMessage');
        expect(remotePost.headers['x-auth-token']).toBe('remote-pat');
        expect(remotePost.headers['x-user-id']).toBe('remote-bot-id');
        expect(remotePost.json.message).toMatchObject({ _id: expect.stringMatching(MARKED_ID), rid: 'REMOTE_ROOM', msg: 'hello *world*', alias: 'Alice Liddell (local)' });
        const discordId = String(nextId - (remote.requests.length ? 1 : 0));
        await settle();

        host.editMessage(message.id, 'hello *everyone*');
        const edits = await discord.waitFor(2);
        expect(edits[1].method).toBe('PATCH');
        expect(edits[1].path).toMatch(/^\/api\/webhooks\/111222333\/tok-EN\/messages\/\d+$/);
        expect(edits[1].path.endsWith(`/${JSON.parse(JSON.stringify(post.json)) && edits[1].path.split('/').pop()}`)).toBe(true);
        expect(edits[1].json).toEqual({ content: 'hello **everyone**', allowed_mentions: { parse: [] } });
        const remoteEdit = (await remote.waitFor(2))[1];
        expect(remoteEdit.path).toBe('/api/v1/chat.update');
        expect(remoteEdit.json).toMatchObject({ roomId: 'REMOTE_ROOM', text: 'hello *everyone*' });
        expect(remoteEdit.json.msgId).toBe(remotePost.json.message._id);
        await settle();

        host.deleteMessage(message.id);
        const deletes = await discord.waitFor(3);
        expect(deletes[2].method).toBe('DELETE');
        expect(deletes[2].path).toBe(edits[1].path);
        const remoteDelete = (await remote.waitFor(3))[2];
        expect(remoteDelete.path).toBe('/api/v1/chat.delete');
        expect(remoteDelete.json).toEqual({ roomId: 'REMOTE_ROOM', msgId: remoteEdit.json.msgId });
        expect(discordId).toBeTruthy();
    });

    it('puts a thread reply into the mapped remote thread', async () => {
        await settle();
        remote.requests.length = 0;
        const parent = host.sendMessage({ roomId: 'GENERAL', text: 'parent' });
        const [parentPost] = await remote.waitFor(1);
        await settle();
        const remoteParentId = `R${[...Array(0)].length}`; // placeholder, replaced below
        void remoteParentId;
        host.sendMessage({ roomId: 'GENERAL', text: 'a reply', threadId: parent.id });
        const [, reply] = await remote.waitFor(2);
        expect(parentPost.json.message.tmid).toBeUndefined();
        expect(reply.json.message).toMatchObject({ rid: 'REMOTE_ROOM', msg: 'a reply' });
        expect(reply.json.message.tmid).toBe(parentPost.json.message._id);
    });

    it('uploads a file to Discord as multipart with the exact bytes', async () => {
        await settle();
        discord.requests.length = 0;
        const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe, 0x80, 0x0d, 0x0a, 0x42]);
        host.uploadFile({ roomId: 'GENERAL', name: 'pixel.png', type: 'image/png', bytes, text: 'a picture' });
        const [upload] = await discord.waitFor(1);
        expect(upload.method).toBe('POST');
        expect(upload.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
        const parts = multipartParts(upload);
        const payload = parts.find((p) => /name="payload_json"/.test(p.headers))!;
        expect(JSON.parse(payload.body.toString('utf8'))).toMatchObject({ content: 'a picture', attachments: [{ id: 0, filename: 'pixel.png' }] });
        const file = parts.find((p) => /name="files\[0\]"/.test(p.headers))!;
        expect(file.headers).toMatch(/filename="pixel.png"/);
        expect(file.headers).toMatch(/Content-Type: image\/png/i);
        expect(Buffer.compare(file.body, bytes)).toBe(0);
    });

    it('never echoes a message back to the instance it came from, and never relays its own notices', async () => {
        await settle();
        discord.requests.length = 0;
        remote.requests.length = 0;
        // A message that came in from Discord (connect rule) is relayed onward to the remote RC only.
        const response = await axios.post(`${host.siteUrl}/api/apps/public/${host.appId}/inbound?source=dc`, { content: 'from discord', username: 'Dana' }, { headers: { Authorization: `Bearer ${INBOUND_TOKEN}` } });
        expect(response.data.success).toBe(true);
        const [onward] = await remote.waitFor(1);
        expect(onward.json.message).toMatchObject({ msg: 'from discord', alias: 'Dana (local)' });
        // A message the app user posts without an origin (e.g. a notice) is not relayed anywhere.
        host.sendMessage({ roomId: 'GENERAL', userId: host.appUser().id, text: 'app notice' });
        await settle();
        await new Promise((r) => setTimeout(r, 300));
        expect(discord.requests).toHaveLength(0);
        expect(remote.requests).toHaveLength(1);
        await eventually(() => host.pending.size === 0);
    });

    it('an edit and a thread reply right after the send still find the remote ids', async () => {
        await settle();
        remote.requests.length = 0;
        const message = host.sendMessage({ roomId: 'GENERAL', text: 'quick' });
        host.editMessage(message.id, 'quick, edited'); // no waiting in between
        host.sendMessage({ roomId: 'GENERAL', text: 'quick reply', threadId: message.id });
        const [post, edit, reply] = await remote.waitFor(3);
        expect(post.path).toBe('/api/v1/chat.sendMessage');
        expect(edit.path).toBe('/api/v1/chat.update');
        expect(edit.json).toMatchObject({ text: 'quick, edited' });
        expect(reply.json.message).toMatchObject({ msg: 'quick reply', tmid: post.json.message._id });
        expect(edit.json.msgId).toBe(post.json.message._id);
    });
});

describe('track_edits: false — new messages only, no id map', () => {
    const HTTP_CALL = 'bridges:getHttpBridge:doCall';
    let host: LocalHost;
    let tracked: Sink;
    let untracked: Sink;

    beforeAll(async () => {
        tracked = await new Sink(() => ({ status: 200, body: {} })).start();
        untracked = await new Sink(() => ({ status: 200, body: {} })).start();
        host = await startHostWithApp();
        await host.updateSetting(
            'relay_config',
            JSON.stringify({
                instances: {
                    log: { type: 'webhook', url: `${untracked.url}/log`, track_edits: false },
                    mirror: { type: 'webhook', url: `${tracked.url}/mirror` },
                },
                rules: [{ from: { rocketchat: { room: '#general' } }, to: { log: {} } }, { from: { rocketchat: { room: '#random' } }, to: { log: {}, mirror: {} } }],
            }),
        );
    });

    afterAll(async () => {
        await host?.stop();
        await tracked?.stop();
        await untracked?.stop();
    });

    const idMaps = () => [...host.state.appPersistence(host.appId).values()].filter((r: any) => r.keys.includes('misc:relay-bridge:message-map'));
    const httpCalls = () => host.counters.rpc[HTTP_CALL] || 0;

    it('relays the send, skips edit and delete, and writes no id map when no target tracks', async () => {
        const before = { ...host.counters.rpc };
        const message = host.sendMessage({ roomId: 'GENERAL', text: 'for the log' });
        const [post] = await untracked.waitFor(1);
        expect(post.json).toMatchObject({ event: 'sent', text: 'for the log', message_id: message.id });
        await host.idle();
        host.editMessage(message.id, 'for the log, edited');
        host.deleteMessage(message.id);
        await host.idle();
        await new Promise((r) => setTimeout(r, 200));
        expect(untracked.requests).toHaveLength(1);
        expect(idMaps()).toHaveLength(0);
        // For these three events the app made one HTTP request and no id-map write or removal (reads
        // are not checked: the outbox's periodic expiry sweep lists id maps on its own schedule).
        const made = Object.keys(host.counters.rpc).filter((k) => host.counters.rpc[k] !== (before[k] || 0));
        expect(made.filter((k) => /message-map/.test(k) && !/readByAssociations/.test(k))).toEqual([]);
        expect(httpCalls() - (before[HTTP_CALL] || 0)).toBe(1);
    });

    it('a tracked target beside it still gets edit and delete; the untracked one only the send', async () => {
        untracked.requests.length = 0;
        const message = host.sendMessage({ roomId: 'RANDOM', text: 'both' });
        await tracked.waitFor(1);
        await host.idle();
        host.editMessage(message.id, 'both, edited');
        await tracked.waitFor(2);
        host.deleteMessage(message.id);
        const events = (await tracked.waitFor(3)).map((r) => r.json.event);
        expect(events).toEqual(['sent', 'edited', 'deleted']);
        await host.idle();
        expect(untracked.requests.map((r) => r.json.event)).toEqual(['sent']);
        await eventually(() => idMaps().length === 0); // the delete removed the record of the tracked target
    });
});
