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
    const peerConfig = (peer: LocalHost) => JSON.stringify({
        instances: {
            // The admin account may not impersonate (message-impersonate is bot/app only): names go into the text.
            peer: { type: 'rocketchat', server_url: peer.siteUrl, username: 'admin', password: 'admin', room_id: 'GENERAL', avatar: false },
        },
        rules: [{ from: { rocketchat: { room: '#general' } }, to: { peer: {} } }],
    });
    const settled = async () => {
        // Each relay is a request into the other host; wait until neither has work left, twice over.
        for (let i = 0; i < 3; i++) {
            await a.idle();
            await b.idle();
        }
    };

    beforeAll(async () => {
        a = await startHostWithApp();
        b = await startHostWithApp();
        await a.updateSetting('relay_config', peerConfig(b));
        await b.updateSetting('relay_config', peerConfig(a));
    });

    afterAll(async () => {
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
