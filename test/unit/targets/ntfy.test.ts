import { headerValue, ntfyTarget } from '../../../src/targets/ntfy';
import { file, makeInput, outcome, response, view } from './harness';

const raw = { topic: 'relay_alerts' };
const HEADERS = { 'X-Title': 'Alice', 'X-Icon': 'https://cdn.example.com/alice.png', 'X-Markdown': 'yes' };
const post = (body: string, headers: Record<string, string> = HEADERS, url = 'https://ntfy.sh/relay_alerts') =>
    ({ method: 'POST', url, headers, body });

describe('ntfy target: requests', () => {
    it.each([
        ['sent: text as markdown body, name and avatar in headers', {}, [post('hello **world**')]],
        ['rule channel topic wins', { channel: { topic: 'other' } }, [post('hello **world**', HEADERS, 'https://ntfy.sh/other')]],
        [
            'identity: non-ASCII name as an RFC 2047 word, no icon without an https avatar',
            { rendered: { alias: 'Jürgen 🚀', avatarUrl: undefined } },
            [post('hello **world**', { 'X-Title': '=?UTF-8?B?SsO8cmdlbiDwn5qA?=', 'X-Markdown': 'yes' })],
        ],
        ['mentions are plain text here', { rendered: { text: '@here look' } }, [post('@here look')]],
        ['files without bytes become links', { files: [file('cat.png', 'image/png', false)] }, [post('hello **world**\n[cat.png](https://chat.example.com/file-upload/cat.png)')]],
        [
            'files with bytes: one attachment each after the text (PUT, Filename)',
            { files: [file('cat.png', 'image/png', true), file('köln.txt', 'text/plain', true)] },
            [
                post('hello **world**'),
                { method: 'PUT', url: 'https://ntfy.sh/relay_alerts', headers: { 'X-Title': 'Alice', 'X-Icon': 'https://cdn.example.com/alice.png', Filename: 'cat.png', 'Content-Type': 'image/png' }, bytes: 'abc' },
                {
                    method: 'PUT', url: 'https://ntfy.sh/relay_alerts',
                    headers: { 'X-Title': 'Alice', 'X-Icon': 'https://cdn.example.com/alice.png', Filename: '=?UTF-8?B?a8O2bG4udHh0?=', 'Content-Type': 'text/plain' }, bytes: 'abc',
                },
            ],
        ],
        [
            'split at 4096 bytes',
            { rendered: { text: `${'ü'.repeat(1500)}\n\n${'ü'.repeat(1500)}` } },
            [post('ü'.repeat(1500)), post('ü'.repeat(1500))],
        ],
        ['nothing to send', { rendered: { text: '' } }, []],
        ['no edits', { message: { event: 'edited' as const }, remoteIds: ['abc'] }, []],
        ['no deletes', { message: { event: 'deleted' as const }, remoteIds: ['abc'] }, []],
        ['thread replies go to the topic like any message', { message: { threadId: 'P' }, remoteThreadId: 'xyz' }, [post('hello **world**')]],
    ])('%s', (_name, options, expected) => {
        const input = makeInput(ntfyTarget, raw, options);
        expect(ntfyTarget.buildRequests(input).map(view)).toEqual(expected);
    });

    it.each([
        ['access token', { access_token: 'tk_abc' }, { Authorization: 'Bearer tk_abc' }],
        ['user and password', { username: 'relay', password: 'pä:ss' }, { Authorization: 'Basic cmVsYXk6cMOkOnNz' }],
        ['priority and tags', { priority: 4, tags: 'speech_balloon' }, { 'X-Priority': 'high', 'X-Tags': 'speech_balloon' }],
    ])('instance options: %s', (_name, extra, headers) => {
        const input = makeInput(ntfyTarget, { ...raw, server: 'https://ntfy.example.com/', ...extra });
        expect(ntfyTarget.buildRequests(input).map(view)).toEqual([post('hello **world**', { ...HEADERS, ...headers }, 'https://ntfy.example.com/relay_alerts')]);
    });

    it.each([
        ['Alice', 'Alice'],
        ['two\nlines', 'two lines'],
        ['Zoë', '=?UTF-8?B?Wm/Dqw==?='],
    ])('headerValue(%j)', (text, expected) => {
        expect(headerValue(text)).toBe(expected);
    });
});

describe('ntfy target: responses', () => {
    const input = makeInput(ntfyTarget, raw);
    const request = { method: 'POST' as const, url: 'https://ntfy.sh/relay_alerts', headers: {} };
    it.each([
        ['message id', response(200, { id: 'hwQ2YpKdmg', time: 1635528741, event: 'message', topic: 'relay_alerts', message: 'hi' }), { remoteId: 'hwQ2YpKdmg' }],
        [
            '403 with ntfy\'s error body',
            response(403, { code: 40301, http: 403, error: 'forbidden', link: 'https://ntfy.sh/docs/publish/#authentication' }),
            { error: 'TargetError', message: 'ntfy answered 403: forbidden (code 40301)', status: 403, retryable: false },
        ],
        [
            '429 is retried',
            response(429, { code: 42908, http: 429, error: 'limit reached: too many requests' }, { 'retry-after': '10' }),
            { error: 'TargetError', message: 'ntfy answered 429: limit reached: too many requests (code 42908)', status: 429, retryable: true, retryAfterMs: 10000 },
        ],
    ])('%s', (_name, result, expected) => {
        expect(outcome(() => ntfyTarget.readResponse(input, request, result))).toEqual(expected);
    });
});

describe('ntfy target: config', () => {
    it.each([
        [{ topic: 'bad topic' }, 'topic: must be 1-64 letters, digits, - or _, got "bad topic"'],
        [{ ...raw, server: 'ntfy.example.com' }, 'server: must be an absolute http(s) URL'],
        [{ ...raw, password: 'pw' }, 'username: is required with password (Basic authentication)'],
        [{ ...raw, access_token: 'tk_a', username: 'u', password: 'p' }, 'access_token: give either access_token or username and password, not both'],
        [{ ...raw, priority: 'urgentest' }, 'priority: must be 1-5 or min, low, default, high, max; got "urgentest"'],
    ])('%j → %s', (config, message) => {
        expect(() => ntfyTarget.parseConfig(config)).toThrow(message);
    });

    it('no topic anywhere is a delivery error', () => {
        expect(() => ntfyTarget.buildRequests(makeInput(ntfyTarget, {}))).toThrow('ntfy: no topic; set topic in the rule channel or the instance');
    });

    it('describe names server and topic, never credentials', () => {
        expect(ntfyTarget.describe(ntfyTarget.parseConfig({ ...raw, access_token: 'tk_secret' }))).toBe('ntfy https://ntfy.sh topic relay_alerts with token');
    });
});

describe('ntfy target: a user without a password (issue 16)', () => {
    it('is Basic user: as Apprise sends it', () => {
        const [request] = ntfyTarget.buildRequests(makeInput(ntfyTarget, { ...raw, username: 'relay' })).map(view);
        expect((request.headers as Record<string, string>).Authorization).toBe(`Basic ${Buffer.from('relay:').toString('base64')}`);
    });
});
