// The local host's HTTP bridge against a real local server: request bodies and response `data` as
// Rocket.Chat's AppHttpBridge (apps/meteor/app/apps/server/bridges/http.ts) on serverFetch
// (packages/server-fetch/src/parsers.ts) produce them. docs/HOST-FIDELITY.md lists the rules.
/* eslint-disable @typescript-eslint/no-var-requires */
import { Sink } from '../../support/sink';

const { HostBridges } = require('../../../host/bridges');

describe('requests an app makes (bridges/http.ts → serverFetch)', () => {
    let sink: Sink;
    let http: any;
    const multipart = 'multipart/form-data; boundary=xyz';

    beforeAll(async () => {
        sink = await new Sink().start();
        const host: any = { counters: { http: 0 }, rules: {} };
        http = new HostBridges(host).getHttpBridge();
    });

    afterAll(async () => {
        await sink.stop();
    });

    async function send(request: Record<string, unknown>, method = 'post') {
        sink.requests.length = 0;
        await http.call({ appId: 'APP', method, url: `${sink.url}/in`, request: { params: {}, ...request } });
        const [received] = await sink.waitFor(1);
        return received;
    }

    it('JSON-stringifies a plain Uint8Array body and forces application/json, whatever Content-Type the app set', async () => {
        const received = await send({ headers: { 'Content-Type': multipart }, content: new Uint8Array([45, 45, 120]) });
        expect(received.headers['content-type']).toBe('application/json');
        expect(received.text).toBe('{"0":45,"1":45,"2":120}');
    });

    it('sends a Node Buffer body as bytes with the Content-Type the app set', async () => {
        const bytes = Buffer.from([0x2d, 0x2d, 0x00, 0xff, 0x80]);
        const received = await send({ headers: { 'Content-Type': multipart }, content: bytes });
        expect(received.headers['content-type']).toBe(multipart);
        expect(Buffer.compare(received.body, bytes)).toBe(0);
    });

    it('leaves any body alone when the Content-Type is exactly application/x-www-form-urlencoded', async () => {
        const received = await send({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, content: new Uint8Array([97, 61, 49]) });
        expect(received.text).toBe('a=1');
        expect(received.headers['content-type']).toBe('application/x-www-form-urlencoded');
    });

    it('sends `data` as JSON when there is no content, and strings as they are', async () => {
        expect((await send({ data: { a: 1 } })).json).toEqual({ a: 1 });
        const text = await send({ headers: { 'Content-Type': 'text/plain' }, content: 'plain words' });
        expect([text.text, text.headers['content-type']]).toEqual(['plain words', 'text/plain']);
    });

    it('parses JSON responses into data, own __proto__ keys included, only for the JSON and JavaScript types', async () => {
        const hostile = '{"__proto__":{"polluted":true},"id":"1"}';
        for (const type of ['application/json', 'application/json; charset=utf-8', 'text/javascript', 'application/javascript', 'application/x-javascript']) {
            sink.setHandler(() => ({ headers: { 'Content-Type': type }, body: hostile }));
            const response = await http.call({ appId: 'APP', method: 'get', url: `${sink.url}/out`, request: {} });
            expect(response.content).toBe(hostile);
            expect(Object.keys(response.data)).toEqual(['__proto__', 'id']);
            expect(Object.getPrototypeOf(response.data)).toBe(Object.prototype);
        }
        for (const type of ['text/plain', 'application/vnd.api+json']) {
            sink.setHandler(() => ({ headers: { 'Content-Type': type }, body: hostile }));
            expect((await http.call({ appId: 'APP', method: 'get', url: `${sink.url}/out`, request: {} })).data).toBeNull();
        }
        sink.setHandler(() => ({ body: '{not json' }));
        expect((await http.call({ appId: 'APP', method: 'get', url: `${sink.url}/out`, request: {} })).data).toBeNull();
    });

    it('hands the body over as bytes, not parsed, with encoding: null', async () => {
        sink.setHandler(() => ({ body: '{"__proto__":{}}' }));
        const response = await http.call({ appId: 'APP', method: 'get', url: `${sink.url}/out`, request: { encoding: null } });
        expect(Buffer.isBuffer(response.content)).toBe(true);
        expect(response.content.toString('utf8')).toBe('{"__proto__":{}}');
        expect(response).not.toHaveProperty('data');
    });

    it('ignores request.query, which bridges/http.ts never reads; params go into the URL when there is content', async () => {
        const received = await send({ query: 'q=1', params: { p: '2', empty: '' }, content: 'x' });
        expect(received.query).toEqual({ p: '2' });
    });

    it('refuses basic auth without a colon, as the server does', async () => {
        await expect(http.call({ appId: 'APP', method: 'get', url: `${sink.url}/out`, request: { auth: 'token-only' } })).rejects.toThrow('auth option should be of the form "username:password"');
    });
});
