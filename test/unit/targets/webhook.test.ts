import { webhookTarget } from '../../../src/targets/webhook';
import { file, makeInput, outcome, response, view } from './harness';

const raw = { url: 'https://hooks.example.org/relay', token: 'secret' };

const basePayload = {
    token: 'secret',
    bot: false,
    channel_id: 'GENERAL',
    channel_name: 'general',
    message_id: 'MSG1',
    timestamp: '2024-05-01T10:00:00.000Z',
    user_id: 'U1',
    user_name: 'alice',
    text: 'hello *world*',
    siteUrl: 'https://chat.example.com',
    alias: 'Alice',
    user_avatar: 'https://cdn.example.com/alice.png',
    attachments: [],
    event: 'sent',
    channel: { room: 'x' },
};

const headers = (event: string) => ({ 'Content-Type': 'application/json', 'Idempotency-Key': `MSG1:${event}:0` });

describe('webhook target: requests', () => {
    it.each([
        ['sent', {}, { method: 'POST', url: raw.url, headers: headers('sent'), json: basePayload }],
        [
            'edited',
            { message: { event: 'edited' as const }, remoteIds: ['MSG1'] },
            { method: 'POST', url: raw.url, headers: headers('edited'), json: { ...basePayload, isEdited: true, event: 'edited' } },
        ],
        [
            'deleted',
            { message: { event: 'deleted' as const }, remoteIds: ['MSG1'] },
            { method: 'POST', url: raw.url, headers: headers('deleted'), json: { ...basePayload, event: 'deleted' } },
        ],
        [
            'thread reply carries tmid',
            { message: { threadId: 'PARENT' } },
            { method: 'POST', url: raw.url, headers: headers('sent'), json: { ...basePayload, tmid: 'PARENT' } },
        ],
        [
            'bot sender, emoji, no rendered avatar falls back to the sender avatar',
            { message: { sender: { id: 'B1', username: 'bot', displayName: 'Bot', avatarUrl: 'https://chat.example.com/avatar/bot', isBot: true } }, rendered: { avatarUrl: undefined, emoji: ':robot:' } },
            {
                method: 'POST', url: raw.url, headers: headers('sent'),
                json: { ...basePayload, bot: true, user_id: 'B1', user_name: 'bot', user_avatar: 'https://chat.example.com/avatar/bot', emoji: ':robot:' },
            },
        ],
        [
            'files as attachments (links, never bytes)',
            { files: [file('cat.png', 'image/png', true, 2048), file('notes.pdf', 'application/pdf', false, 99)] },
            {
                method: 'POST', url: raw.url, headers: headers('sent'),
                json: {
                    ...basePayload,
                    attachments: [
                        {
                            title: 'cat.png', title_link: 'https://chat.example.com/file-upload/cat.png', image_url: 'https://chat.example.com/file-upload/cat.png',
                            type: 'image', url: 'https://chat.example.com/file-upload/cat.png', name: 'cat.png', size: 2048, mime_type: 'image/png',
                        },
                        {
                            title: 'notes.pdf', title_link: 'https://chat.example.com/file-upload/notes.pdf',
                            type: 'file', url: 'https://chat.example.com/file-upload/notes.pdf', name: 'notes.pdf', size: 99, mime_type: 'application/pdf',
                        },
                    ],
                },
            },
        ],
        [
            'long text is not split and mentions are left to the receiver',
            { rendered: { text: `@all ${'x'.repeat(10000)}` } },
            { method: 'POST', url: raw.url, headers: headers('sent'), json: { ...basePayload, text: `@all ${'x'.repeat(10000)}` } },
        ],
    ])('%s', (_name, options, expected) => {
        const input = makeInput(webhookTarget, raw, { channel: { room: 'x' }, ...options });
        expect(webhookTarget.buildRequests(input).map(view)).toEqual([expected]);
    });

    it('PUT with configured headers, no token field', () => {
        const input = makeInput(webhookTarget, { url: 'http://10.0.0.5:8080/in', method: 'put', headers: { 'X-Api-Key': 'k' } });
        const [request] = webhookTarget.buildRequests(input);
        expect(request.method).toBe('PUT');
        expect(request.headers).toEqual({ ...headers('sent'), 'X-Api-Key': 'k' });
        expect(JSON.parse(request.body as string)).not.toHaveProperty('token');
    });
});

describe('webhook target: responses', () => {
    const sent = () => makeInput(webhookTarget, raw);
    const edited = () => makeInput(webhookTarget, raw, { message: { event: 'edited' }, remoteIds: ['R-7'] });
    it.each([
        ['id from the body', sent, response(200, { id: 'abc' }), { remoteId: 'abc' }],
        ['numeric message_id', sent, response(201, { message_id: 42 }), { remoteId: '42' }],
        ['no body: the Rocket.Chat id', sent, response(204), { remoteId: 'MSG1' }],
        ['edit keeps the known remote id', edited, response(200, 'ok'), { remoteId: 'R-7' }],
        ['400 is final, with the body text', sent, response(400, 'bad payload'), { error: 'TargetError', message: 'webhook answered 400: bad payload', status: 400, retryable: false }],
        ['410 is final', sent, response(410), { error: 'TargetError', message: 'webhook answered 410', status: 410, retryable: false }],
        ['503 with Retry-After seconds', sent, response(503, '', { 'retry-after': '7' }), { error: 'TargetError', message: 'webhook answered 503', status: 503, retryable: true, retryAfterMs: 7000 }],
        ['429 without Retry-After', sent, response(429), { error: 'TargetError', message: 'webhook answered 429', status: 429, retryable: true }],
        ['408 is retryable', sent, response(408), { error: 'TargetError', message: 'webhook answered 408', status: 408, retryable: true }],
    ])('%s', (_name, makeIt, result, expected) => {
        const input = makeIt();
        const [request] = webhookTarget.buildRequests(input);
        expect(outcome(() => webhookTarget.readResponse(input, request, result))).toEqual(expected);
    });
});

describe('webhook target: config', () => {
    it.each([
        [{}, 'url: is required (the http(s) URL to send messages to)'],
        [{ url: 'ftp://x/y' }, 'url: must use http or https, got "ftp:"'],
        [{ url: 'not a url' }, 'url: must be an absolute http(s) URL, got "not a url"'],
        [{ url: 'https://x', method: 'HEAD' }, 'method: must be POST, PUT, PATCH, DELETE, GET, got "HEAD"'],
        [{ url: 'https://x', body: 'slack' }, 'body: must be "rocketchat" (the outgoing-webhook payload) or "apprise"'],
        [{ url: 'https://x', renames: { text: 'x' } }, 'renames.text: is not a key of Apprise\'s body'],
        [{ url: 'https://x', headers: ['a'] }, 'headers: must be an object of header name to value'],
        [{ url: 'https://x', headers: { 'Bad Name': 'v' } }, 'headers.Bad Name: is not a valid HTTP header name'],
        [{ url: 'https://x', headers: { 'X-A': 'a\r\nInjected: 1' } }, 'headers.X-A: must be a single-line string'],
        [{ url: 'https://x', token: 5 }, 'token: must be a string, got number'],
    ])('%j → %s', (config, message) => {
        expect(() => webhookTarget.parseConfig(config)).toThrow(message);
    });

    it('describe hides the path and credentials', () => {
        expect(webhookTarget.describe(webhookTarget.parseConfig({ url: 'https://u:p@hooks.example.org/secret/path?k=v' }))).toBe('webhook POST https://hooks.example.org');
    });
});

describe('webhook target: methods and Apprise\'s body (issue 16)', () => {
    const sent = (raw2: Record<string, unknown>, options = {}) =>
        webhookTarget.buildRequests(makeInput(webhookTarget, raw2, { channel: { room: 'x' }, ...options })).map(view);

    it('PATCH and DELETE carry the payload as their body', () => {
        expect(sent({ ...raw, method: 'patch' })).toEqual([{ method: 'PATCH', url: raw.url, headers: headers('sent'), json: basePayload }]);
        expect(sent({ ...raw, method: 'DELETE' })).toEqual([{ method: 'DELETE', url: raw.url, headers: headers('sent'), json: basePayload }]);
    });

    it('GET carries the payload as query parameters (a GET has no body)', () => {
        const [request] = sent({ url: 'https://hooks.example.org/in/?k=1', method: 'GET' });
        expect(request.json).toBeUndefined();
        expect(request.headers).toEqual({ 'Idempotency-Key': 'MSG1:sent:0' });
        const query = new URL(request.url as string).searchParams;
        expect([query.get('k'), query.get('text'), query.get('alias'), query.get('channel')]).toEqual(['1', 'hello *world*', 'Alice', '{"room":"x"}']);
        expect((request.url as string).indexOf('https://hooks.example.org/in/?k=1&')).toBe(0);
    });

    it('body apprise: version, title, message, type and base64 attachments; larger files as links', () => {
        const files = [file('cat.png', 'image/png', true), file('big.zip', 'application/zip', false)];
        expect(sent({ ...raw, body: 'apprise' }, { files })).toEqual([{
            method: 'POST', url: raw.url, headers: headers('sent'),
            json: {
                version: '1.0', title: 'Alice', type: 'info',
                message: 'hello *world*\n[big.zip](https://chat.example.com/file-upload/big.zip)',
                attachments: [{ filename: 'cat.png', base64: 'YWJj', mimetype: 'image/png' }],
            },
        }]);
    });

    it('body apprise: :key=name renames a key, an empty name drops it (as Apprise)', () => {
        expect(sent({ ...raw, body: 'apprise', renames: { message: 'text', version: '' } })[0].json)
            .toEqual({ title: 'Alice', text: 'hello *world*', type: 'info', attachments: [] });
    });

    it('body apprise: new messages only, files loaded for it', () => {
        expect(sent({ ...raw, body: 'apprise' }, { message: { event: 'edited' }, remoteIds: ['MSG1'] })).toEqual([]);
        const config = webhookTarget.parseConfig({ ...raw, body: 'apprise' });
        expect(webhookTarget.capabilities(config)).toEqual({ edit: false, delete: false, threads: false, upload: true });
        expect(webhookTarget.capabilities(webhookTarget.parseConfig(raw))).toEqual({ edit: true, delete: true, threads: true, upload: false });
    });
});
