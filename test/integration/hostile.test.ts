// 10 000 generated malformed or hostile requests against the inbound endpoint, over real HTTP, in
// the real runtime: no 500, no runtime crash, every rejection a 4xx with a clear message, and
// nothing written (no message, no persistence record). Every request carries at least one defect.
// Nesting stays under 100 levels: deeper bodies never reach the app — the engine's transport to
// the Deno runtime refuses them (a 500 from Rocket.Chat itself; see docs/RELIABILITY.md).
import * as http from 'http';

import { LocalHost, startHostWithApp } from '../support/host';

const TOKEN = 'hostile-suite-token-0123456789';
const COUNT = Number(process.env.HOSTILE_COUNT || 10000);

/** Small deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number): () => number {
    let a = seed;
    return () => {
        a |= 0;
        a = (a + 0x6d2b79f5) | 0;
        let t = Math.imul(a ^ (a >>> 15), 1 | a);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

interface HostileRequest {
    kind: string;
    method: string;
    path: string;
    headers: Record<string, string>;
    body: Buffer | string;
}

const INJECTIONS = ["'; DROP TABLE messages; --", '<script>alert(1)</script>', '${jndi:ldap://x/a}', '{{7*7}}', '../../../etc/passwd', '\u0000\u0001\u0002', '$where', '__proto__', 'constructor', '%00', '\uD800'];
// Usable in URLs and headers (no control characters, no lone surrogates).
const PRINTABLE_INJECTIONS = INJECTIONS.filter((s) => !/[\u0000-\u001f\ud800-\udfff]/.test(s));
const WRONG_VALUES: unknown[] = [42, -1, 1e309, true, null, [], [1, 2], { a: 1 }, [{ text: 'x' }], ''];

function deep(depth: number, leaf: unknown): unknown {
    let value: unknown = leaf;
    for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { text: value };
    return value;
}

function generate(random: () => number, index: number): HostileRequest {
    const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)];
    const json = (body: unknown, headers: Record<string, string> = {}) => ({ method: 'POST', path: '/inbound', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers }, body: JSON.stringify(body) });
    const kinds: Array<() => HostileRequest> = [
        () => ({ kind: 'wrong type: text', ...json({ channel: '#general', text: pick(WRONG_VALUES.filter((v) => typeof v !== 'string')) }) }),
        () => ({ kind: 'wrong type: channel', ...json({ channel: pick([42, -1, true, [1, 2], [{ text: 'x' }]]) /* null and '' mean "not given"; an object is a NextBridge channel dict */, text: 'x' }) }),
        () => ({ kind: 'wrong type: attachments', ...json({ channel: '#general', text: 'x', attachments: pick([42, 'abc', { url: 1 }, [42], [{ image_url: 12 }]]) }) }),
        () => ({ kind: 'huge text', ...json({ channel: '#general', text: 'A'.repeat(20001 + Math.floor(random() * 200000)) }) }),
        () => ({ kind: 'huge alias', ...json({ channel: '#nonexistent-room', text: 'x', alias: 'B'.repeat(5000 + Math.floor(random() * 100000)) }) }),
        () => ({ kind: 'deep nesting', ...json({ channel: '#general', text: 'x', attachments: [deep(21 + Math.floor(random() * 70), 'x')] }) }),
        () => ({ kind: 'bad encoding', method: 'POST', path: '/inbound', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: Buffer.concat([Buffer.from('{"channel":"#general","text":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1]), Buffer.from('"')]) }),
        () => ({ kind: 'bad base64 (Apprise)', ...json({ version: '1.0', message: 'x', attachments: [{ filename: 'a.bin', base64: pick(['@@@@', 'a', '====', 'Zm9v!', '\u0000']), mimetype: 'application/octet-stream' }] }) }),
        () => ({ kind: 'bad base64 (Matterbridge)', ...json({ text: 'x', username: 'u', gateway: 'g', Extra: { file: [{ Name: 'f.bin', Data: pick(['***', 'a', 'ab=c', '%%%%']) }] } }) }),
        () => ({ kind: 'unknown dialect', ...json(pick([{ foo: 'bar' }, { message: 'no version' }, {}, { payload: 'not json' }, { Extra: 'x' }])) }),
        () => ({ kind: 'injection-looking room', ...json({ channel: `#${pick(INJECTIONS)}`, text: pick(INJECTIONS) }) }),
        () => ({ kind: 'injection-looking room id', ...json({ roomId: pick(INJECTIONS), text: 'x' }) }),
        () => ({ kind: 'not JSON', method: 'POST', path: '/inbound', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: pick(['{', '{"text":', 'null', '[]', '"string"', '12', 'tru']) }),
        () => ({ kind: 'unsupported content type', method: 'POST', path: '/inbound', headers: { 'content-type': pick(['text/plain', 'application/xml', 'image/png', 'multipart/form-data; boundary=x']), authorization: `Bearer ${TOKEN}` }, body: 'channel=#general&text=x' }),
        () => ({ kind: 'missing token', ...json({ channel: '#general', text: 'x' }, { authorization: '' }) }),
        () => ({ kind: 'wrong token', ...json({ channel: '#general', text: 'x' }, { authorization: `Bearer ${pick(['x', TOKEN.slice(1), TOKEN + 'x', pick(PRINTABLE_INJECTIONS)])}` }) }),
        () => ({ kind: 'unknown source', ...json({ text: 'x' }), path: `/inbound?source=${encodeURIComponent(pick(PRINTABLE_INJECTIONS.concat(['ghost', 'rocketchat'])))}` }),
        () => ({ kind: 'disallowed room', ...json({ channel: pick(['#staff', '#random', 'STAFF', '@bob', '@alice']), text: 'x' }) }),
        () => ({ kind: 'edit of unknown id', ...json({ id: `nope-${index}`, text: 'x' }), method: 'PUT' }),
        () => ({ kind: 'delete of unknown id', ...json({}), method: 'DELETE', path: `/inbound?id=nope-${index}` }),
        () => ({ kind: 'wrong method', ...json({ channel: '#general', text: 'x' }), method: pick(['GET', 'PATCH', 'OPTIONS']) }),
        () => ({ kind: 'bad format', ...json({ channel: '#general', text: 'x' }), path: `/inbound?format=${pick(['xml', 'telegram', 'SLACK!', '__proto__'])}` }),
        () => ({ kind: 'non-https avatar + bad room', ...json({ channel: '#nope', text: 'x', avatar: pick(['javascript:alert(1)', 'http://127.0.0.1/a.png', 'file:///etc/passwd']) }) }),
    ];
    return kinds[index % kinds.length]();
}

function send(port: number, base: string, request: HostileRequest, agent: http.Agent): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(request.headers)) if (v) headers[k] = v;
        headers['content-length'] = String(Buffer.byteLength(request.body));
        const req = http.request({ host: '127.0.0.1', port, method: request.method, path: `${base}${request.path}`, headers, agent }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode || 0, body: Buffer.concat(chunks).toString('utf8') }));
        });
        req.on('error', reject);
        req.end(request.body);
    });
}

describe('hostile inbound requests', () => {
    let host: LocalHost;

    beforeAll(async () => {
        host = await startHostWithApp({ inbound_rate_per_minute: 0 }); // no rate limit: every request reaches the parser
        await host.updateSetting(
            'relay_config',
            JSON.stringify({
                instances: { ext: { type: 'inbound', token: TOKEN, rooms: ['#general'] }, other: { type: 'inbound', token: 'other-token-0123456789' } },
                rules: [{ from: { ext: {} }, to: { rocketchat: { room: '#general' } } }, { from: { other: {} }, to: { rocketchat: { room: '#general' } } }],
            }),
        );
    });

    afterAll(async () => {
        await host?.stop();
    });

    it(`answers ${COUNT} hostile requests with a clear 4xx each, writes nothing and stays up`, async () => {
        const random = prng(20261121);
        const base = `/api/apps/public/${host.appId}`;
        const messagesBefore = host.state.messages.size;
        const recordsBefore = host.state.appPersistence(host.appId).size;
        const pidBefore = host.runtimePid();
        const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
        const byStatus: Record<string, number> = {};
        const failures: string[] = [];
        let refusedByParser = 0;
        let next = 0;
        const worker = async () => {
            while (next < COUNT) {
                const index = next++;
                const request = generate(random, index);
                const { status, body } = await send(host.port, base, request, agent);
                byStatus[status] = (byStatus[status] || 0) + 1;
                let error: unknown;
                try {
                    error = JSON.parse(body).error;
                } catch {
                    // The server's body parser refuses oversize and malformed bodies itself, before
                    // the app runs, with its own error page naming the status.
                    const page = /<pre>(Bad Request|Payload Too Large|Unsupported Media Type)<\/pre>/.exec(body);
                    error = page && [400, 413, 415].indexOf(status) >= 0 ? `server: ${page[1]}` : undefined;
                    if (error) refusedByParser++;
                }
                if (status < 400 || status >= 500 || typeof error !== 'string' || error.length < 5) {
                    if (failures.length < 20) failures.push(`#${index} ${request.kind} ${request.method} ${request.path} → ${status} ${body.slice(0, 200)}`);
                }
            }
        };
        await Promise.all(Array.from({ length: 8 }, worker));
        agent.destroy();
        // eslint-disable-next-line no-console
        console.log(`hostile requests by status: ${JSON.stringify(byStatus)}; refused by the server's body parser before the app: ${refusedByParser}`);
        expect(failures).toEqual([]);
        expect(host.state.messages.size).toBe(messagesBefore);
        expect(host.state.appPersistence(host.appId).size).toBe(recordsBefore);
        expect(host.runtimePid()).toBe(pidBefore);
        // …and the endpoint still works.
        const ok = await send(host.port, base, { kind: 'valid', method: 'POST', path: '/inbound', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ channel: '#general', text: 'still here' }) }, new http.Agent());
        expect(ok.status).toBe(200);
        await host.idle(); // its relay work ends before the host stops
    });
});
