// A kept session (KeptSession, Matrix password login) in the delivery shell: the stored session is
// used, a login is stored, a rejected session is replaced once, and a session another server
// instance stored meanwhile is taken instead of logging in again.
import { Redactor } from '../../../src/core/redact';
import { attemptDelivery, DeliveryJob } from '../../../src/shell/delivery';
import { matrixTarget } from '../../../src/targets/matrix';
import { makeMessage } from '../targets/harness';
import { fakePersistence } from '../../support/fakePersistence';

const HS = 'https://matrix.example.org';
const config = matrixTarget.parseConfig({ homeserver: HS, user: 'relay', password: 'pw', room_id: '!r:example.org' });
const scope = matrixTarget.keptSession!.scope(config) as string;


/** The homeserver: logins hand out numbered tokens; sends take only tokens still valid. */
function homeserver(valid: Set<string>) {
    const calls: string[] = [];
    let logins = 0;
    const answer = (status: number, body: object) => ({ statusCode: status, headers: {}, content: Buffer.from(JSON.stringify(body)) });
    const handle = async (method: string, url: string, options: any) => {
        const path = url.slice(HS.length);
        const token = (options.headers.Authorization || '').replace('Bearer ', '');
        calls.push(`${method} ${path.split('/').slice(0, 5).join('/')}${token ? ` ${token}` : ''}`);
        if (path === '/_matrix/client/v3/login') {
            const issued = `tok${++logins}`;
            valid.add(issued);
            return answer(200, { access_token: issued, user_id: '@relay:example.org', device_id: JSON.parse(options.content).device_id || 'DEV1' });
        }
        return valid.has(token) ? answer(200, { event_id: '$e' }) : answer(401, { errcode: 'M_UNKNOWN_TOKEN', error: 'Unknown token' });
    };
    return {
        calls,
        http: {
            post: (url: string, options: any) => handle('POST', url, options),
            put: (url: string, options: any) => handle('PUT', url, options),
        } as any,
    };
}

function job(store: ReturnType<typeof fakePersistence>): DeliveryJob {
    const message = makeMessage();
    return {
        instance: 'mx', adapter: matrixTarget, config, channel: {}, message,
        rendered: { text: message.text, alias: 'Alice' }, partsDone: 0, remoteIds: [], carried: {}, existingIds: [], files: [],
        guard: { privateHostsAllowed: [], redactor: new Redactor() },
        sessions: { read: store.read as any, persistence: store.persistence as any },
    };
}

const storedToken = (store: ReturnType<typeof fakePersistence>) => [...store.records.values()].map((record: any) => record.values.access_token);

describe('kept sessions in the delivery shell', () => {
    it('logs in once, stores the session and reuses it for the next delivery', async () => {
        const store = fakePersistence();
        const server = homeserver(new Set());
        expect(await attemptDelivery(job(store), server.http)).toEqual({ ok: true, remoteIds: ['$e'] });
        expect(await attemptDelivery(job(store), server.http)).toEqual({ ok: true, remoteIds: ['$e'] });
        expect(server.calls).toEqual([
            'POST /_matrix/client/v3/login',
            'PUT /_matrix/client/v3/rooms tok1',
            'PUT /_matrix/client/v3/rooms tok1',
        ]);
        expect(storedToken(store)).toEqual(['tok1']);
        expect([...store.records.values()].map((record: any) => record.scope)).toEqual([scope]);
    });

    it('a rejected session is dropped and replaced by one login (same device); the delivery goes on', async () => {
        const store = fakePersistence();
        const valid = new Set<string>();
        const server = homeserver(valid);
        await attemptDelivery(job(store), server.http);
        valid.clear();
        expect(await attemptDelivery(job(store), server.http)).toEqual({ ok: true, remoteIds: ['$e'] });
        expect(server.calls.slice(2)).toEqual([
            'PUT /_matrix/client/v3/rooms tok1',
            'POST /_matrix/client/v3/login',
            'PUT /_matrix/client/v3/rooms tok2',
        ]);
        expect(storedToken(store)).toEqual(['tok2']);
    });

    it('a session another server instance stored after ours was rejected is used instead of logging in again', async () => {
        const store = fakePersistence();
        const valid = new Set<string>();
        const server = homeserver(valid);
        await attemptDelivery(job(store), server.http);
        valid.clear();
        // Between our read and our send, another instance logged in again and stored its token.
        const reader = store.read.getPersistenceReader();
        let reads = 0;
        store.read.getPersistenceReader = () => ({
            readByAssociations: async (associations: any) => {
                if (++reads === 2) {
                    valid.add('tokOther');
                    const [key] = [...store.records.keys()];
                    store.records.set(key, { scope, values: { access_token: 'tokOther', device_id: 'DEV1' }, createdAt: '' });
                }
                return reader.readByAssociations(associations);
            },
        });
        expect(await attemptDelivery(job(store), server.http)).toEqual({ ok: true, remoteIds: ['$e'] });
        expect(server.calls.slice(2)).toEqual([
            'PUT /_matrix/client/v3/rooms tok1',
            'PUT /_matrix/client/v3/rooms tokOther',
        ]);
    });

    it('a login the homeserver refuses fails the delivery without retrying, and the password stays out of the error', async () => {
        const store = fakePersistence();
        const http = { post: async () => ({ statusCode: 403, headers: {}, content: Buffer.from(JSON.stringify({ errcode: 'M_FORBIDDEN', error: 'Invalid password' })) }) } as any;
        const result = await attemptDelivery(job(store), http);
        expect(result).toMatchObject({ ok: false, retryable: false, error: '[POST https://matrix.example.org] HTTP 403: Matrix login as relay failed: Matrix answered 403: M_FORBIDDEN: Invalid password' });
        expect(store.records.size).toBe(0);
    });
});
