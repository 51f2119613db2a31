// The one place requests are executed: binary bodies leave as Node Buffers (the only object body
// Rocket.Chat's serverFetch sends as it is), answers are asked for as bytes and parsed here.
import { HttpResult, MAX_RESPONSE_BYTES, OutboundRequest, parseJsonBody } from '../../../src/core/http';
import { executeRequest, responseBytes } from '../../../src/shell/httpExecutor';

function fakeHttp(content: unknown) {
    const calls: Array<{ url: string; options: any }> = [];
    const answer = async (url: string, options: any) => {
        calls.push({ url, options });
        return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, content };
    };
    return { calls, http: { get: answer, post: answer, put: answer, patch: answer, del: answer } as any };
}

const upload: OutboundRequest = {
    method: 'POST',
    url: 'https://discord.example/api/webhooks/1/t',
    headers: {},
    multipart: [{ name: 'files[0]', file: { filename: 'a.bin', contentType: 'application/octet-stream', bytes: new Uint8Array([0, 255, 45, 45]) } }],
};

describe('executeRequest', () => {
    it('sends a multipart body as a Node Buffer, and asks for the answer as bytes', async () => {
        const { calls, http } = fakeHttp(Buffer.from('{}'));
        await executeRequest(http, upload);
        const { options } = calls[0];
        expect(Buffer.isBuffer(options.content)).toBe(true);
        expect(options.headers['Content-Type']).toMatch(/^multipart\/form-data; boundary=/);
        expect(Buffer.from(options.content).includes(Buffer.from([0, 255, 45, 45]))).toBe(true);
        expect(options.encoding).toBeNull();
    });

    it('sends a raw binary body (Matrix media, ntfy attachments) as a Node Buffer too', async () => {
        const { calls, http } = fakeHttp(Buffer.from('{}'));
        await executeRequest(http, { method: 'PUT', url: 'https://ntfy.example/t', headers: { Filename: 'a.bin' }, bytes: new Uint8Array([0, 255, 1]) });
        expect(Buffer.isBuffer(calls[0].options.content)).toBe(true);
        expect([...calls[0].options.content]).toEqual([0, 255, 1]);
    });

    it('parses a JSON answer with a __proto__ key into an own property, never a prototype', async () => {
        const { http } = fakeHttp(Buffer.from('{"__proto__":{"polluted":true},"id":"7"}'));
        const result = await executeRequest(http, { method: 'POST', url: 'https://x.example/', headers: {}, body: '{}' });
        const body = parseJsonBody(result);
        expect(body.id).toBe('7');
        expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
        expect(({} as any).polluted).toBeUndefined();
    });

    it('reads at most MAX_RESPONSE_BYTES of a huge answer and does not parse a cut body', async () => {
        const huge = Buffer.from(JSON.stringify({ id: '1', padding: 'x'.repeat(MAX_RESPONSE_BYTES) }));
        const { http } = fakeHttp(huge);
        const result: HttpResult = await executeRequest(http, { method: 'GET', url: 'https://x.example/', headers: {} });
        expect(result.truncated).toBe(true);
        expect(result.body.length).toBe(MAX_RESPONSE_BYTES);
        expect(parseJsonBody(result)).toBeUndefined();
    });

    it('reads the forms a byte body may arrive in', () => {
        const read = (content: unknown) => Array.from(responseBytes(content)!);
        expect(read(Buffer.from([1, 2]))).toEqual([1, 2]);
        expect(read(new Uint8Array([1, 2]))).toEqual([1, 2]);
        expect(read({ type: 'Buffer', data: [1, 2] })).toEqual([1, 2]);
        expect(read({ 0: 1, 1: 2 })).toEqual([1, 2]);
        expect(responseBytes(undefined)).toBeUndefined();
    });
});
