// A kept lookup (KeptLookup: a remote Rocket.Chat `#channel`'s room id) in the delivery shell: the
// first delivery asks the target and stores the answer, later ones (any server instance) use it
// without asking; a delivery that fails for good with a kept answer drops it, so the next asks again.
import { Redactor } from '../../../src/core/redact';
import { attemptDelivery, DeliveryJob } from '../../../src/shell/delivery';
import { rocketChatTarget } from '../../../src/targets/rocketchat';
import { makeMessage } from '../targets/harness';
import { fakePersistence } from '../../support/fakePersistence';

const SERVER = 'https://remote.example.net';
const config = rocketChatTarget.parseConfig({ server_url: SERVER, user_id: 'BOT', auth_token: 'PAT', channel: '#dev' });


/** The remote server: #dev is room `room` (or gone), chat.sendMessage stores into rooms that exist. */
function remote(state: { room?: string }) {
    const calls: string[] = [];
    const answer = (status: number, body: object) => ({ statusCode: status, headers: {}, content: Buffer.from(JSON.stringify(body)) });
    const handle = async (method: string, url: string, options: any) => {
        const path = url.slice(SERVER.length);
        calls.push(`${method} ${path}`);
        if (path.startsWith('/api/v1/rooms.info')) {
            return state.room ? answer(200, { success: true, room: { _id: state.room, name: 'dev', t: 'c' } })
                : answer(400, { success: false, error: 'no such channel [error-room-not-found]', errorType: 'error-room-not-found' });
        }
        const message = JSON.parse(options.content).message;
        return message.rid === state.room ? answer(200, { success: true, message })
            : answer(400, { success: false, error: 'Invalid room [error-invalid-room]', errorType: 'error-invalid-room' });
    };
    return { calls, http: { get: (url: string, options: any) => handle('GET', url, options), post: (url: string, options: any) => handle('POST', url, options) } as any };
}

function job(store: ReturnType<typeof fakePersistence>, id: string): DeliveryJob {
    const message = makeMessage({ id, relay: { server: 'rb-home', hops: 0 } });
    return {
        instance: 'rc', adapter: rocketChatTarget, config, channel: {}, message,
        rendered: { text: message.text, alias: 'Alice' }, partsDone: 0, remoteIds: [], carried: {}, existingIds: [], files: [],
        guard: { privateHostsAllowed: [], redactor: new Redactor() },
        sessions: { read: store.read as any, persistence: store.persistence as any },
    };
}

const keptValues = (store: ReturnType<typeof fakePersistence>) => [...store.records.values()].map((record: any) => `${record.scope.split('\n').slice(2).join(' ')} → ${record.value}`);

describe('kept lookups in the delivery shell', () => {
    it('asks once, stores the room id and sends later messages straight to it', async () => {
        const store = fakePersistence();
        const server = remote({ room: 'DEV1' });
        expect(await attemptDelivery(job(store, 'M1'), server.http)).toMatchObject({ ok: true, remoteIds: [expect.stringMatching(/^DEV1\/rbm_1_rb-home_/)] });
        expect(await attemptDelivery(job(store, 'M2'), server.http)).toMatchObject({ ok: true, remoteIds: [expect.stringMatching(/^DEV1\/rbm_1_rb-home_/)] });
        expect(server.calls).toEqual(['GET /api/v1/rooms.info?roomName=dev', 'POST /api/v1/chat.sendMessage', 'POST /api/v1/chat.sendMessage']);
        expect(keptValues(store)).toEqual(['BOT #dev → DEV1']);
    });

    it('a kept room id that fails for good is dropped; the next delivery asks again', async () => {
        const store = fakePersistence();
        const state: { room?: string } = { room: 'DEV1' };
        const server = remote(state);
        await attemptDelivery(job(store, 'M1'), server.http);
        state.room = 'DEV2'; // #dev was deleted and made again: another room id
        expect(await attemptDelivery(job(store, 'M2'), server.http)).toMatchObject({ ok: false, retryable: false });
        expect(keptValues(store)).toEqual([]);
        expect(await attemptDelivery(job(store, 'M3'), server.http)).toMatchObject({ ok: true, remoteIds: [expect.stringMatching(/^DEV2\//)] });
        expect(keptValues(store)).toEqual(['BOT #dev → DEV2']);
    });

    it('a name that does not exist stores nothing', async () => {
        const store = fakePersistence();
        const server = remote({});
        expect(await attemptDelivery(job(store, 'M1'), server.http)).toMatchObject({ ok: false, retryable: false, error: expect.stringContaining('error-room-not-found') });
        expect(store.records.size).toBe(0);
    });
});
