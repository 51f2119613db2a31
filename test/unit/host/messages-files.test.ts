// How the local host hands messages and their files to apps and serves /file-upload, as Rocket.Chat
// does (docs/HOST-FIDELITY.md, "Messages apps receive" and "Uploaded files").
/* eslint-disable @typescript-eslint/no-var-requires */
import * as http from 'http';
import { AddressInfo } from 'net';

const { HostState } = require('../../../host/state');
const { AppsRestApi } = require('../../../host/apps-rest');
const { serveFileUpload } = require('../../../host/file-upload');
const { SERVER_SETTING_DEFAULTS } = require('../../../host/server-rules');

function makeHost() {
    const host: any = { serverSettings: { ...SERVER_SETTING_DEFAULTS } };
    host.state = new HostState({ siteUrl: 'http://localhost:1' });
    host.admin = host.state.createUser({ id: 'admin', username: 'admin', roles: ['admin', 'user'] });
    host.alice = host.state.createUser({ id: 'alice', username: 'alice' });
    host.state.createRoom({ id: 'GENERAL', name: 'general', kind: 'channel', creatorId: 'admin', memberIds: ['alice'] });
    host.appsRest = new AppsRestApi(host, { passwords: { alice: 'alice-pass' } });
    host.appsRest.seed();
    return host;
}

describe('messages apps receive (converters/messages.ts convertMessage)', () => {
    const image = { _id: 'F1', name: 'cat.png', type: 'image/png', size: 3 };
    const thumb = { _id: 'F2', name: 'thumb-cat.png', type: 'image/png', size: 1 };

    it('maps t to type', () => {
        const host = makeHost();
        const stored = host.state.insertMessage({ roomId: 'GENERAL', senderId: 'alice', text: 'alice', t: 'uj' });
        const message = host.state.messageForApp(stored);
        expect(message.type).toBe('uj');
        expect(message.t).toBeUndefined();
    });

    it('leaves files in _unmappedProperties_ only, as 7.x converters do', () => {
        const host = makeHost();
        const stored = host.state.insertMessage({ roomId: 'GENERAL', senderId: 'alice', text: '', file: image, files: [image, thumb], attachments: [{ title: 'cat.png', type: 'file' }] });
        const message = host.state.messageForApp(stored);
        expect(message.files).toBeUndefined();
        expect(message._unmappedProperties_).toEqual({ files: [image, thumb] });
        expect(message.file).toEqual(image);
    });

    it('maps files through convertMessageFiles when modelling the newer converter: an old message’s second file is its thumbnail', () => {
        const host = makeHost();
        host.state.convertsMessageFiles = true;
        const stored = host.state.insertMessage({ roomId: 'GENERAL', senderId: 'alice', text: '', file: image, files: [image, thumb], attachments: [{ title: 'cat.png', type: 'file' }] });
        const message = host.state.messageForApp(stored);
        expect(message.files).toEqual([image, { ...thumb, typeGroup: 'thumb' }]);
        expect(message._unmappedProperties_).toEqual({ files: [image, thumb] }); // the map function deletes nothing
        const two = host.state.insertMessage({ roomId: 'GENERAL', senderId: 'alice', text: '', files: [image, thumb] }); // no attachments: no thumbnail guess
        expect(host.state.messageForApp(two).files).toEqual([image, thumb]);
    });
});

describe('GET /file-upload/<id>/<name> (file-upload/server/lib/requests.ts, FileUpload.ts requestCanAccessFiles)', () => {
    let host: any;
    let server: http.Server;
    let base: string;
    let token: string;

    beforeAll(async () => {
        host = makeHost();
        host.state.uploads.set('UP1', { upload: { id: 'UP1', name: 'a.txt', type: 'text/plain' }, bytes: Buffer.from('hello') });
        const login = host.appsRest.login({ bodyParams: { user: 'alice', password: 'alice-pass' } });
        token = login.body.data.authToken;
        server = http.createServer((req, res) => {
            if (!serveFileUpload(host, req, res, new URL(req.url || '/', 'http://localhost'))) {
                res.writeHead(599);
                res.end();
            }
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
        await new Promise((resolve) => server.close(resolve));
    });

    const get = async (path: string, headers: Record<string, string> = {}) => {
        const res = await fetch(`${base}${path}`, { headers });
        return { status: res.status, body: await res.text(), headers: res.headers };
    };

    it('answers 403 to anyone not logged in while FileUpload_ProtectFiles is on (the default)', async () => {
        expect(host.serverSettings.FileUpload_ProtectFiles).toBe(true);
        expect((await get('/file-upload/UP1/a.txt')).status).toBe(403);
        expect((await get('/file-upload/UP1/a.txt', { 'X-User-Id': 'alice', 'X-Auth-Token': 'wrong' })).status).toBe(403);
    });

    it('serves the bytes to a logged-in user: headers, rc_uid/rc_token query or cookies', async () => {
        for (const [path, headers] of [
            ['/file-upload/UP1/a.txt', { 'X-User-Id': 'alice', 'X-Auth-Token': token }],
            [`/file-upload/UP1/a.txt?rc_uid=alice&rc_token=${encodeURIComponent(token)}`, {}],
            ['/file-upload/UP1/a.txt', { Cookie: `rc_uid=alice; rc_token=${encodeURIComponent(token)}` }],
        ] as Array<[string, Record<string, string>]>) {
            const res = await get(path, headers);
            expect(res.status).toBe(200);
            expect(res.body).toBe('hello');
            expect(res.headers.get('content-security-policy')).toBe("default-src 'none'");
        }
    });

    it('serves the bytes to anyone while FileUpload_ProtectFiles is off; an unknown id is 404 either way', async () => {
        host.serverSettings.FileUpload_ProtectFiles = false;
        try {
            const res = await get('/file-upload/UP1/a.txt');
            expect(res.status).toBe(200);
            expect(res.body).toBe('hello');
            expect((await get('/file-upload/NOPE/a.txt')).status).toBe(404);
        } finally {
            host.serverSettings.FileUpload_ProtectFiles = true;
        }
        expect((await get('/file-upload/NOPE/a.txt')).status).toBe(404);
    });

    it('leaves every other path alone', async () => {
        expect((await get('/api/info')).status).toBe(599);
    });
});
