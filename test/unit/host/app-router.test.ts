// App API endpoints as Rocket.Chat serves them (bridges/router.ts + api.ts): body-parser at its
// defaults in front, express routing with `:param`, the server's own answers when the app is not
// reached or throws. A real HTTP server; the engine is replaced by a recorder.
/* eslint-disable @typescript-eslint/no-var-requires */
import * as http from 'http';
import axios from 'axios';

const { AppRouter } = require('../../../host/app-router');

describe('AppRouter (the server in front of app endpoints)', () => {
    const calls: any[] = [];
    let reply: (request: any) => Promise<any> = async () => ({ status: 200, content: { ok: true } });
    const router = new AppRouter(() => ({ executeApi: (appId: string, path: string, request: any) => (calls.push({ appId, path, request }), reply(request)) }));
    router.register('app1', { path: 'inbound' });
    router.register('app1', { path: 'things/:name' });
    let server: http.Server;
    let base: string;
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
        axios.post(`${base}${path}`, typeof body === 'string' ? body : JSON.stringify(body), { headers: { 'content-type': 'application/json', ...headers }, validateStatus: () => true, transformRequest: (d) => d });

    beforeAll(async () => {
        server = http.createServer(router.server);
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        base = `http://127.0.0.1:${(server.address() as any).port}`;
    });
    afterAll(() => new Promise((r) => server.close(r)));
    beforeEach(() => {
        calls.length = 0;
        reply = async () => ({ status: 200, content: { ok: true } });
    });

    it('parses JSON and urlencoded bodies; every other type reaches the app as {}', async () => {
        await post('/api/apps/public/app1/inbound', '{"text":"hi"}', { 'content-type': 'application/json' });
        await post('/api/apps/public/app1/inbound', 'text=hi&channel=%23general', { 'content-type': 'application/x-www-form-urlencoded' });
        await post('/api/apps/public/app1/inbound', '{"text":"hi"}', { 'content-type': 'text/plain' });
        await post('/api/apps/public/app1/inbound', '{"text":"hi"}', { 'content-type': 'application/vnd.api+json' });
        expect(calls.map((c) => c.request.content)).toEqual([{ text: 'hi' }, { text: 'hi', channel: '#general' }, {}, {}]);
        expect(calls[0]).toMatchObject({ appId: 'app1', path: 'inbound', request: { method: 'post', params: {}, query: {} } });
    });

    it('refuses a body over 100 kB with 413 and bad JSON with 400, before the app runs', async () => {
        const big = JSON.stringify({ text: 'x'.repeat(100 * 1024) });
        const tooLarge = await post('/api/apps/public/app1/inbound', big, { 'content-type': 'application/json' });
        const badJson = await post('/api/apps/public/app1/inbound', '{"text":', { 'content-type': 'application/json' });
        const notObject = await post('/api/apps/public/app1/inbound', '"text"', { 'content-type': 'application/json' });
        expect([tooLarge.status, badJson.status, notObject.status]).toEqual([413, 400, 400]);
        expect(tooLarge.headers['content-type']).toMatch(/text\/html/);
        expect(tooLarge.data).toMatch(/Payload Too Large/);
        expect(badJson.data).not.toMatch(/SyntaxError|at /); // production error page: no stack
        expect(calls).toHaveLength(0);
        const justUnder = await post('/api/apps/public/app1/inbound', JSON.stringify({ text: 'x'.repeat(100 * 1024 - 20) }), { 'content-type': 'application/json' });
        expect(justUnder.status).toBe(200);
    });

    it('routes :param paths, passes query and the private hash, answers 404 for the rest', async () => {
        await post('/api/apps/public/app1/things/a%20b?x=1', {}, {});
        await post('/api/apps/private/app1/HASH/inbound', {}, {});
        expect(calls.map((c) => [c.path, c.request.params, c.request.query, c.request.privateHash])).toEqual([
            ['things/:name', { name: 'a b' }, { x: '1' }, undefined],
            ['inbound', {}, {}, 'HASH'],
        ]);
        const unknownPath = await post('/api/apps/public/app1/nope', {}, {});
        const unknownApp = await post('/api/apps/public/app2/inbound', {}, {});
        expect([unknownPath.status, unknownPath.data, unknownApp.status]).toEqual([404, 'Not Found', 404]);
    });

    it('sends what the app returns, and 500 with the error text when the call fails', async () => {
        reply = async () => ({ status: 201, headers: { 'X-Test': 'yes' }, content: { made: 1 } });
        const ok = await post('/api/apps/public/app1/inbound', {}, {});
        expect([ok.status, ok.headers['x-test'], ok.data]).toEqual([201, 'yes', { made: 1 }]);
        reply = async () => {
            throw new Error('Request "7" for method "api:inbound:post" timed out after 30000ms');
        };
        const failed = await post('/api/apps/public/app1/inbound', {}, {});
        expect([failed.status, failed.data]).toEqual([500, 'Request "7" for method "api:inbound:post" timed out after 30000ms']);
    });
});
