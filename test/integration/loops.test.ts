// Loops between servers and strangers at the inbound endpoint, in the real runtime: the relay
// marker stops a rule to our own endpoint and a message coming back from another Relay Bridge;
// the generic webhook's edits and deletes change the mapped message; failed authentications are
// limited per client address; invisible characters leave names.
import axios, { AxiosRequestConfig } from 'axios';

import { LocalHost, startHostWithApp } from '../support/host';
import { Sink } from '../support/sink';

const SELF_TOKEN = 'self-token-0123456789abcdef';
const PEER_TOKEN = 'peer-token-0123456789abcdef';

describe('loops and strangers', () => {
    let host: LocalHost;
    let base: string;
    let onward: Sink;

    const post = (url: string, body: unknown, config: AxiosRequestConfig = {}) => axios.post(`${base}${url}`, body, { validateStatus: () => true, ...config });
    const roomCount = (roomId: string) => (host.state.roomMessages.get(roomId) || []).length;
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    beforeAll(async () => {
        host = await startHostWithApp();
        base = `${host.siteUrl}/api/apps/public/${host.appId}`;
        onward = await new Sink().start();
        await host.updateSetting(
            'relay_config',
            JSON.stringify({
                instances: {
                    // A rule to our own inbound endpoint: before the marker, one message became ~115 in 3 s.
                    self: { type: 'webhook', url: `${base}/inbound`, token: SELF_TOKEN },
                    peer: { type: 'inbound', token: PEER_TOKEN, rooms: ['#random'] },
                    onward: { type: 'webhook', url: `${onward.url}/hook` },
                },
                rules: [
                    { type: 'connect', channels: { rocketchat: { room: '#general' }, self: {} } },
                    { from: { peer: {} }, to: { rocketchat: { room: '#random' } } },
                    { from: { rocketchat: { room: '#random' } }, to: { onward: {} } },
                ],
            }),
        );
    });

    afterAll(async () => {
        await onward?.stop();
        await host?.stop();
    });

    it('delivers a message once when a rule sends it to our own inbound endpoint', async () => {
        const before = roomCount('GENERAL');
        host.sendMessage({ roomId: 'GENERAL', text: 'once, please' });
        await pause(1500);
        await host.idle();
        expect(roomCount('GENERAL')).toBe(before + 1);
    });

    it('passes another server\'s marker on, one hop further, and refuses it when it comes back', async () => {
        onward.requests.length = 0;
        const marker = { 'X-Relay-Bridge-Origin': 'rb-other-server', 'X-Relay-Bridge-Hops': '1' };
        const response = await post('/inbound', { text: 'from the other server', message_id: 'peer-1' }, { headers: { Authorization: `Bearer ${PEER_TOKEN}`, ...marker } });
        expect(response.status).toBe(200);
        const [relayed] = await onward.waitFor(1);
        expect(relayed.headers['x-relay-bridge-origin']).toBe('rb-other-server');
        expect(relayed.headers['x-relay-bridge-hops']).toBe('2');

        // A message written here carries this server's id; coming back with it, it is refused.
        onward.requests.length = 0;
        host.sendMessage({ roomId: 'RANDOM', text: 'written here' });
        const [own] = await onward.waitFor(1);
        const ownServer = own.headers['x-relay-bridge-origin'];
        expect(ownServer).toMatch(/^rb-/);
        expect(ownServer).not.toBe('rb-other-server');
        expect(own.headers['x-relay-bridge-hops']).toBe('1');
        const back = await post('/inbound', { text: 'written here' }, { headers: { Authorization: `Bearer ${PEER_TOKEN}`, 'X-Relay-Bridge-Origin': ownServer, 'X-Relay-Bridge-Hops': '2' } });
        expect(back.status).toBe(409);
        expect(back.data.error).toMatch(/relay loop/);
        const tooFar = await post('/inbound', { text: 'round and round' }, { headers: { Authorization: `Bearer ${PEER_TOKEN}`, 'X-Relay-Bridge-Origin': 'rb-third', 'X-Relay-Bridge-Hops': '5' } });
        expect(tooFar.status).toBe(409);
    });

    it('relays an inbound file onward like its text (the upload\'s message has an origin too)', async () => {
        onward.requests.length = 0;
        const bytes = Buffer.from('a file from outside, relayed onward');
        const response = await post('/inbound', { version: '1.0', message: 'with a file', attachments: [{ filename: 'onward.txt', base64: bytes.toString('base64'), mimetype: 'text/plain' }] }, { headers: { Authorization: `Bearer ${PEER_TOKEN}` } });
        expect(response.status).toBe(200);
        const relayed = await onward.waitFor(2);
        const withFile = relayed.find((r) => (r.json.attachments || []).some((a: { name: string }) => a.name === 'onward.txt'));
        expect(withFile).toBeDefined();
        expect(relayed.some((r) => String(r.json.text).includes('with a file'))).toBe(true);
    });

    it('applies the generic webhook\'s edited and deleted events to the mapped message', async () => {
        const auth = { headers: { Authorization: `Bearer ${PEER_TOKEN}` } };
        const sent = await post('/inbound', { text: 'first', message_id: 'w-1', event: 'sent' }, auth);
        expect(sent.status).toBe(200);
        const count = roomCount('RANDOM');
        const edited = await post('/inbound', { text: 'second', message_id: 'w-1', event: 'edited', isEdited: true }, auth);
        expect(edited.status).toBe(200);
        expect(roomCount('RANDOM')).toBe(count);
        expect(host.state.messages.get(sent.data.message_id).text).toBe('second');
        const deleted = await post('/inbound', { text: 'second', message_id: 'w-1', event: 'deleted' }, auth);
        expect(deleted.status).toBe(200);
        expect(host.state.messages.get(sent.data.message_id)).toBeUndefined();
        expect(roomCount('RANDOM')).toBeLessThanOrEqual(count);
    });

    it('strips invisible and direction-override characters from aliases', async () => {
        const response = await post('/inbound', { text: 'see attached', alias: 'Bob\u200B\u202Eevil' }, { headers: { Authorization: `Bearer ${PEER_TOKEN}` } });
        expect(response.status).toBe(200);
        expect(host.state.messages.get(response.data.message_id).alias).toBe('Bobevil');
    });

    it('limits failed authentications per client address with 429 and Retry-After', async () => {
        const from = (address: string, token: string) => ({ headers: { Authorization: `Bearer ${token}`, 'X-Forwarded-For': address } });
        for (let i = 0; i < 10; i++) {
            expect((await post('/inbound', { text: 'guess' }, from('198.51.100.7', `wrong-token-${i}`))).status).toBe(401);
        }
        const blocked = await post('/inbound', { text: 'the right one, too late' }, from('198.51.100.7', PEER_TOKEN));
        expect(blocked.status).toBe(429);
        expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
        // Another address is not held up.
        expect((await post('/inbound', { text: 'fine' }, from('198.51.100.8', PEER_TOKEN))).status).toBe(200);
    });

});
