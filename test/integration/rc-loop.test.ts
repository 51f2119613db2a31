// Two Relay Bridge servers relaying a room to each other with `rocketchat` targets (issue 14):
// before the marker travelled in the message id, one message became ~470 in 2.5 s. Each host is
// a separate "server" (its own engine, persistence and REST API); each posts into the other's
// #general as its admin account through chat.sendMessage.
import axios from 'axios';

import { eventually, LocalHost, startHostWithApp } from '../support/host';

describe('two servers relaying one room to each other with rocketchat targets', () => {
    let a: LocalHost;
    let b: LocalHost;

    const texts = (host: LocalHost, roomId: string) => host.state.messagesInRoom(roomId).map((m: { text: string }) => m.text);
    const peerConfig = (peer: LocalHost, destination: Record<string, unknown> = { room_id: 'GENERAL' }) => JSON.stringify({
        instances: {
            // The admin account may not impersonate (message-impersonate is bot/app only): names go into the text.
            peer: { type: 'rocketchat', server_url: peer.siteUrl, username: 'admin', password: 'admin', ...destination, avatar: false },
        },
        rules: [{ from: { rocketchat: { room: '#general' } }, to: { peer: {} } }],
    });
    const settled = async () => {
        // Each relay is a request into the other host, which may start another: wait until a round
        // in which neither host answered a request or stored a message (a chain of relays up to the
        // hop limit crosses several times).
        const activity = () => JSON.stringify([a, b].map((host) => [host.appsRest.calls, host.state.messages.size]));
        let before: string;
        do {
            before = activity();
            await a.idle();
            await b.idle();
        } while (activity() !== before);
    };

    beforeAll(async () => {
        a = await startHostWithApp();
        b = await startHostWithApp();
        await a.updateSetting('relay_config', peerConfig(b));
        await b.updateSetting('relay_config', peerConfig(a));
    });

    afterAll(async () => {
        // A message the last tests stored may still be on its way to the other server: let it land
        // before either stops (a request from a stopped runtime is logged after the tests are done).
        if (a && b) await settled();
        await a?.stop();
        await b?.stop();
    });

    it('delivers a message written on either side once to the other, and nothing comes back', async () => {
        a.sendMessage({ roomId: 'GENERAL', text: 'hello from A' });
        await eventually(() => texts(b, 'GENERAL').some((t: string) => t.includes('hello from A')), 15000, 'the message on B');
        b.sendMessage({ roomId: 'GENERAL', text: 'hello from B' });
        await eventually(() => texts(a, 'GENERAL').some((t: string) => t.includes('hello from B')), 15000, 'the message on A');
        await settled();
        const count = (host: LocalHost, text: string) => texts(host, 'GENERAL').filter((t: string) => t.includes(text)).length;
        expect([count(a, 'hello from A'), count(b, 'hello from A'), count(a, 'hello from B'), count(b, 'hello from B')]).toEqual([1, 1, 1, 1]);
        // The copy on B carries A's marker in its id, one relay on.
        const copy = b.state.messagesInRoom('GENERAL').find((m: { text: string }) => m.text.includes('hello from A'));
        expect(copy.id).toMatch(/^rbm_1_rb-[a-z0-9]+_[A-Za-z0-9]{17}$/);
        // Neither side left a dead letter or an error behind: the refused echo is a delivery with nothing to keep.
        expect(a.appErrors()).toEqual([]);
        expect(b.appErrors()).toEqual([]);
    });

    it('a #channel destination is looked up once per side (kept in app persistence), then each message arrives once', async () => {
        await a.updateSetting('relay_config', peerConfig(b, { channel: '#general' }));
        await b.updateSetting('relay_config', peerConfig(a, { channel: '#general' }));
        const lookups = (host: LocalHost) => host.appsRest.calls['GET /api/v1/rooms.info'] || 0;
        const count = (host: LocalHost, text: string) => texts(host, 'GENERAL').filter((t: string) => t.includes(text)).length;
        for (const round of [1, 2]) {
            a.sendMessage({ roomId: 'GENERAL', text: `channel ${round} from A` });
            await eventually(() => count(b, `channel ${round} from A`) === 1, 15000, `channel message ${round} on B`);
            b.sendMessage({ roomId: 'GENERAL', text: `channel ${round} from B` });
            await eventually(() => count(a, `channel ${round} from B`) === 1, 15000, `channel message ${round} on A`);
            await settled();
            expect([count(a, `channel ${round} from A`), count(b, `channel ${round} from A`), count(a, `channel ${round} from B`), count(b, `channel ${round} from B`)]).toEqual([1, 1, 1, 1]);
        }
        // Each server asked the other for #general's room id once (B asked A, A asked B), for both rounds.
        expect([lookups(a), lookups(b)]).toEqual([1, 1]);
        const kept = (host: LocalHost) => host.state.appPersistence(host.appId).withKeys(['misc:relay-bridge:target-lookup']).map((entry: any) => entry[1].data.value);
        expect([kept(a), kept(b)]).toEqual([['GENERAL'], ['GENERAL']]);
        const copy = b.state.messagesInRoom('GENERAL').find((m: { text: string }) => m.text.includes('channel 1 from A'));
        expect(copy.id).toMatch(/^rbm_1_rb-[a-z0-9]+_[A-Za-z0-9]{17}$/);
        expect(a.appErrors()).toEqual([]);
        expect(b.appErrors()).toEqual([]);
    });

    it('with upload_files: false a file travels as a link inside the marked message: once per side, nothing comes back', async () => {
        await a.updateSetting('relay_config', peerConfig(b, { channel: '#general', upload_files: false }));
        await b.updateSetting('relay_config', peerConfig(a, { channel: '#general', upload_files: false }));
        const count = (host: LocalHost, text: string) => texts(host, 'GENERAL').filter((t: string) => t.includes(text)).length;
        a.uploadFile({ roomId: 'GENERAL', name: 'report.pdf', type: 'application/pdf', bytes: Buffer.from('%PDF-1.4 report'), text: 'the report' });
        await eventually(() => count(b, 'the report') === 1, 15000, 'the file message on B');
        await settled();
        expect([count(a, 'the report'), count(b, 'the report')]).toEqual([1, 1]);
        const copy = b.state.messagesInRoom('GENERAL').find((m: { text: string }) => m.text.includes('the report'));
        expect(copy.id).toMatch(/^rbm_1_rb-[a-z0-9]+_[A-Za-z0-9]{17}$/);
        expect(JSON.stringify(copy.attachments)).toContain('report.pdf');
        expect(a.appErrors()).toEqual([]);
        expect(b.appErrors()).toEqual([]);
    });

    it('an uploaded file (rooms.media + rooms.mediaConfirm, no chosen id) arrives once per side once each server knows the other\'s relay account', async () => {
        // The earlier tests relayed marked text both ways: each server has learned the account the other posts with.
        await a.updateSetting('relay_config', peerConfig(b, { channel: '#general' }));
        await b.updateSetting('relay_config', peerConfig(a, { channel: '#general' }));
        const withFile = (host: LocalHost, name: string) => host.state.messagesInRoom('GENERAL').filter((m: any) => (m.files || []).some((f: any) => f.name === name));
        const uploads = (host: LocalHost) => host.appsRest.calls['POST /api/v1/rooms.mediaConfirm/:rid/:fileId'] || 0;
        a.uploadFile({ roomId: 'GENERAL', name: 'photo-a.png', type: 'image/png', bytes: Buffer.from('not really a png, A'), text: 'a photo from A' });
        await eventually(() => withFile(b, 'photo-a.png').length === 1, 15000, 'the file on B');
        await eventually(() => uploads(a) === 1, 15000, 'B relaying the file back to A (refused there)');
        await settled();
        b.uploadFile({ roomId: 'GENERAL', name: 'photo-b.png', type: 'image/png', bytes: Buffer.from('not really a png, B'), text: 'a photo from B' });
        await eventually(() => withFile(a, 'photo-b.png').length === 1, 15000, 'the file on A');
        await eventually(() => uploads(b) === 2, 15000, 'A relaying the file back to B (refused there)');
        await settled();
        expect([withFile(a, 'photo-a.png').length, withFile(b, 'photo-a.png').length, withFile(a, 'photo-b.png').length, withFile(b, 'photo-b.png').length]).toEqual([1, 1, 1, 1]);
        // Each file went out once from each side: to the other, and back (stopped before it was stored).
        expect([uploads(a), uploads(b)]).toEqual([2, 2]);
        const count = (host: LocalHost, text: string) => texts(host, 'GENERAL').filter((t: string) => t.includes(text)).length;
        expect([count(a, 'a photo from A'), count(b, 'a photo from A'), count(a, 'a photo from B'), count(b, 'a photo from B')]).toEqual([1, 1, 1, 1]);
        expect(a.appErrors()).toEqual([]);
        expect(b.appErrors()).toEqual([]);
    });

    it('text a person writes with a relay account (unmarked: the bridge marks all its text) is relayed like anyone\'s, once', async () => {
        // Here the admin account is each side's relay account (learned by now). Before, its unmarked
        // text counted as relayed from the other side, which refused it: the message never arrived.
        const count = (host: LocalHost, text: string) => texts(host, 'GENERAL').filter((t: string) => t.includes(text)).length;
        a.sendMessage({ roomId: 'GENERAL', userId: a.admin.id, text: 'typed by the relay account on A' });
        await eventually(() => count(b, 'typed by the relay account on A') === 1, 15000, 'the admin\'s message on B');
        await settled();
        expect([count(a, 'typed by the relay account on A'), count(b, 'typed by the relay account on A')]).toEqual([1, 1]);
        expect(a.appErrors()).toEqual([]);
        expect(b.appErrors()).toEqual([]);
    });

    it('the servers answer rooms.info and im.create as Rocket.Chat does', async () => {
        const login = await axios.post(`${b.siteUrl}/api/v1/login`, { user: 'bob', password: 'bob' }, { validateStatus: () => true });
        expect(login.status).toBe(200);
        const headers = { 'X-User-Id': login.data.data.userId, 'X-Auth-Token': login.data.data.authToken };
        const get = (params: Record<string, string>) => axios.get(`${b.siteUrl}/api/v1/rooms.info`, { params, headers, validateStatus: () => true });
        expect((await get({ roomName: 'general' })).data).toMatchObject({ success: true, room: { _id: 'GENERAL', name: 'general', t: 'c' } });
        // The name as stored: no `#` (Rooms.findOneByName).
        expect((await get({ roomName: '#general' })).data).toMatchObject({ success: false, errorType: 'error-room-not-found' });
        expect((await get({})).data).toMatchObject({ success: false, errorType: 'error-roomid-param-not-provided' });
        // A private group bob is not in: found, but not his to see.
        expect((await get({ roomName: 'staff' })).data).toEqual({ success: false, error: 'not-allowed', errorType: 'Not Allowed' });
        const post = (body: Record<string, unknown>) => axios.post(`${b.siteUrl}/api/v1/im.create`, body, { headers, validateStatus: () => true });
        const dm = await post({ username: 'alice' });
        expect(dm.data).toMatchObject({ success: true, room: { _id: 'alice-user-idbob-user-id', rid: 'alice-user-idbob-user-id', t: 'd' } });
        const fresh = await post({ username: 'admin' });
        expect(fresh.data.room._id).toBe(fresh.data.room.rid);
        expect(b.state.rooms.get(fresh.data.room._id).type).toBe('d');
        expect((await post({ username: 'nobody' })).data).toMatchObject({ success: false, errorType: 'error-invalid-user' });
        expect((await post({ username: 'alice', channel: 'x' })).status).toBe(400);
    });

    it('the server answers chat.sendMessage for an id that exists without a message, as Rocket.Chat does', async () => {
        const login = await axios.post(`${b.siteUrl}/api/v1/login`, { user: 'admin', password: 'admin' });
        const headers = { 'X-User-Id': login.data.data.userId, 'X-Auth-Token': login.data.data.authToken };
        const body = { message: { _id: 'rbm_1_rb-elsewhere_ABCDEFGHJKLMNPQRS', rid: 'GENERAL', msg: 'once' } };
        const first = await axios.post(`${b.siteUrl}/api/v1/chat.sendMessage`, body, { headers, validateStatus: () => true });
        expect(first.status).toBe(200);
        expect(first.data.message._id).toBe(body.message._id);
        const again = await axios.post(`${b.siteUrl}/api/v1/chat.sendMessage`, body, { headers, validateStatus: () => true });
        expect(again.status).toBe(400);
        expect(again.data.errorType).toBeUndefined();
        const found = await axios.get(`${b.siteUrl}/api/v1/chat.getMessage`, { params: { msgId: body.message._id }, headers, validateStatus: () => true });
        expect(found.data.message.rid).toBe('GENERAL');
        const extra = await axios.post(`${b.siteUrl}/api/v1/chat.sendMessage`, { ...body, roomId: 'GENERAL' }, { headers, validateStatus: () => true });
        expect(extra.status).toBe(400);
        expect(extra.data.errorType).toBe('invalid-params');
        await settled();
    });
});
