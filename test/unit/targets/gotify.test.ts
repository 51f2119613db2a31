import { gotifyTarget } from '../../../src/targets/gotify';
import { file, makeInput, outcome, response, view } from './harness';

const SERVER = 'https://push.example.com/gotify';
const raw = { server: `${SERVER}/`, app_token: 'AppTok3n' };
const post = (message: string, extra: Record<string, unknown> = {}) => ({
    method: 'POST', url: `${SERVER}/message`, headers: { 'Content-Type': 'application/json', 'X-Gotify-Key': 'AppTok3n' },
    json: { title: 'Alice', message, priority: 5, extras: { 'client::display': { contentType: 'text/markdown' } }, ...extra },
});
const del = (id: string) => ({ method: 'DELETE', url: `${SERVER}/message/${id}`, headers: { 'X-Gotify-Key': 'ClientTok' } });

describe('gotify target: requests', () => {
    it.each([
        ['sent: name as title, markdown message, default priority', raw, {}, [post('hello **world**')]],
        ['configured priority', { ...raw, priority: 8 }, {}, [post('hello **world**', { priority: 8 })]],
        ['identity: any name goes in the title', raw, { rendered: { alias: 'Jürgen 🚀' } }, [post('hello **world**', { title: 'Jürgen 🚀' })]],
        ['mentions are plain text here', raw, { rendered: { text: '@all hi' } }, [post('@all hi')]],
        ['files become links', raw, { files: [file('a.txt', 'text/plain', true)] }, [post('hello **world**\n[a.txt](https://chat.example.com/file-upload/a.txt)')]],
        [
            'split at 65 535 bytes',
            raw, { rendered: { text: `${'€'.repeat(15000)}\n\n${'€'.repeat(15000)}` } },
            [post('€'.repeat(15000)), post('€'.repeat(15000))],
        ],
        ['no edits', raw, { message: { event: 'edited' as const }, remoteIds: ['12'] }, []],
        ['deletes need a client token', raw, { message: { event: 'deleted' as const }, remoteIds: ['12'] }, []],
        ['deleted with a client token', { ...raw, client_token: 'ClientTok' }, { message: { event: 'deleted' as const }, remoteIds: ['12', '13'] }, [del('12'), del('13')]],
    ])('%s', (_name, config, options, expected) => {
        const input = makeInput(gotifyTarget, config, options);
        expect(gotifyTarget.buildRequests(input).map(view)).toEqual(expected);
    });
});

describe('gotify target: responses', () => {
    const input = makeInput(gotifyTarget, raw);
    const postRequest = { method: 'POST' as const, url: `${SERVER}/message`, headers: {} };
    const deleteRequest = { method: 'DELETE' as const, url: `${SERVER}/message/12`, headers: {} };
    it.each([
        ['message id', postRequest, response(200, { id: 12, appid: 3, message: 'hi', title: 'Alice', priority: 5, date: '2024-05-01T10:00:00Z' }), { remoteId: '12' }],
        ['delete', deleteRequest, response(200, ''), {}],
        ['delete of a gone message', deleteRequest, response(404, { error: 'Not Found', errorCode: 404, errorDescription: 'message does not exist' }), {}],
        [
            '401 with Gotify\'s error body',
            postRequest, response(401, { error: 'Unauthorized', errorCode: 401, errorDescription: 'you need to provide a valid access token or user credentials to access this api' }),
            {
                error: 'TargetError', status: 401, retryable: false,
                message: 'Gotify answered 401: Unauthorized: you need to provide a valid access token or user credentials to access this api',
            },
        ],
        [
            '503 is retried',
            postRequest, response(503, 'unavailable'),
            { error: 'TargetError', message: 'Gotify answered 503: unavailable', status: 503, retryable: true, retryAfterMs: undefined },
        ],
    ])('%s', (_name, request, result, expected) => {
        expect(outcome(() => gotifyTarget.readResponse(input, request, result))).toEqual(expected);
    });
});

describe('gotify target: config', () => {
    it.each([
        [{}, 'server: is required'],
        [{ server: SERVER }, 'app_token: is required'],
        [{ ...raw, priority: 11 }, 'priority: must be a whole number from 0 to 10, got 11'],
        [{ ...raw, priority: 'high' }, 'priority: must be a whole number from 0 to 10, got "high"'],
    ])('%j → %s', (config, message) => {
        expect(() => gotifyTarget.parseConfig(config)).toThrow(message);
    });

    it('priority 0 is allowed', () => {
        expect(gotifyTarget.parseConfig({ ...raw, priority: 0 }).priority).toBe(0);
    });

    it('describe shows the server, never the tokens', () => {
        expect(gotifyTarget.describe(gotifyTarget.parseConfig({ ...raw, client_token: 'ClientTok' }))).toBe('gotify https://push.example.com priority 5, deletes with client token');
    });
});

describe('gotify target: capabilities follow the configuration (issue 16)', () => {
    it('deletes only with a client token, never edits', () => {
        expect(gotifyTarget.capabilities(gotifyTarget.parseConfig(raw))).toEqual({ edit: false, delete: false, threads: false, upload: false });
        expect(gotifyTarget.capabilities(gotifyTarget.parseConfig({ ...raw, client_token: 'ClientTok' }))).toEqual({ edit: false, delete: true, threads: false, upload: false });
    });
});
