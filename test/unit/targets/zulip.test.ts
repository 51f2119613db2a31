import { zulipTarget } from '../../../src/targets/zulip';
import { file, makeInput, outcome, response, runScripted, view } from './harness';

const SITE = 'https://example.zulipchat.com';
const raw = { site: `${SITE}/`, bot_email: 'relay-bot@example.zulipchat.com', api_key: 'lqn6mpwpam6VZzbCW0o7olmk3hwbQSK0', stream: 'general' };
// base64("relay-bot@example.zulipchat.com:lqn6mpwpam6VZzbCW0o7olmk3hwbQSK0")
const AUTH = `Basic ${Buffer.from(`${raw.bot_email}:${raw.api_key}`).toString('base64')}`;
const FORM = { Authorization: AUTH, 'Content-Type': 'application/x-www-form-urlencoded' };
const enc = encodeURIComponent;
const send = (content: string, to = 'general', topic = 'general') => ({
    method: 'POST', url: `${SITE}/api/v1/messages`, headers: FORM,
    body: `type=stream&to=${enc(to)}&topic=${enc(topic)}&content=${enc(content)}`,
});
const patch = (id: string, content: string) => ({ method: 'PATCH', url: `${SITE}/api/v1/messages/${id}`, headers: FORM, body: `content=${enc(content)}` });
const del = (id: string) => ({ method: 'DELETE', url: `${SITE}/api/v1/messages/${id}`, headers: { Authorization: AUTH } });

describe('zulip target: requests', () => {
    it.each([
        ['sent: name in the text, topic = room name', {}, [send('**Alice**: hello **world**')]],
        ['rule channel stream and topic with {room}', { channel: { stream: 'bridge', topic: 'rc / {room}' } }, [send('**Alice**: hello **world**', 'bridge', 'rc / general')]],
        ['topic without {room} is used as is', { channel: { topic: 'relay' } }, [send('**Alice**: hello **world**', 'general', 'relay')]],
        ['topic cut to 60 characters', { channel: { topic: `${'t'.repeat(70)} {room}` } }, [send('**Alice**: hello **world**', 'general', `${'t'.repeat(59)}\u2026`)]],
        [
            'mentions neutralised, Zulip wildcards too, code left alone',
            { rendered: { text: '@all @**all** @_**everyone** @**Bob** `@**all**`' } },
            [send('**Alice**: @\u200Ball @\u200B**all** @\u200B_**everyone** @**Bob** `@**all**`')],
        ],
        ['name loses its asterisks', { rendered: { alias: '*Al*' } }, [send('**Al**: hello **world**')]],
        [
            'files as links',
            { files: [file('cat.png', 'image/png', false)] },
            [send('**Alice**: hello **world**\n[cat.png](https://chat.example.com/file-upload/cat.png)')],
        ],
        [
            'split at 10 000 bytes, not characters',
            { rendered: { alias: '', text: `${'é'.repeat(4000)}\n\n${'é'.repeat(4000)}` } },
            [send('é'.repeat(4000)), send('é'.repeat(4000))],
        ],
        ['thread reply: an ordinary message in the topic', { message: { threadId: 'P' }, remoteThreadId: '55' }, [send('**Alice**: hello **world**')]],
        ['nothing to send', { rendered: { text: '' } }, []],
        ['edited: PATCH content', { message: { event: 'edited' as const }, remoteIds: ['42'] }, [patch('42', '**Alice**: hello **world**')]],
        ['edited shorter: surplus parts deleted', { message: { event: 'edited' as const }, remoteIds: ['42', '43'] }, [patch('42', '**Alice**: hello **world**'), del('43')]],
        ['deleted: every part', { message: { event: 'deleted' as const }, remoteIds: ['42', '43'] }, [del('42'), del('43')]],
    ])('%s', (_name, options, expected) => {
        const input = makeInput(zulipTarget, raw, options);
        expect(zulipTarget.buildRequests(input).map(view)).toEqual(expected);
    });

    it('edited longer: overflow merged into the last part, cut to 10 000 bytes', () => {
        const text = `${'é'.repeat(4000)}\n\n${'é'.repeat(4000)}`;
        const input = makeInput(zulipTarget, raw, { rendered: { alias: '', text }, message: { event: 'edited' }, remoteIds: ['42'] });
        const requests = zulipTarget.buildRequests(input);
        expect(requests.map((request) => [request.method, request.url])).toEqual([['PATCH', `${SITE}/api/v1/messages/42`]]);
        const content = decodeURIComponent((requests[0].body as string).replace(/^content=/, ''));
        expect(Buffer.byteLength(content)).toBeLessThanOrEqual(10000);
        expect(Buffer.byteLength(content)).toBeGreaterThan(9000);
        expect(content.startsWith(`${'é'.repeat(4000)}\n`)).toBe(true);
        expect(content.endsWith('\u2026')).toBe(true);
    });

    it('no stream anywhere: the stream general, as Apprise', () => {
        const input = makeInput(zulipTarget, { ...raw, stream: undefined });
        expect(zulipTarget.buildRequests(input)[0].body).toContain('type=stream&to=general&');
    });
});

describe('zulip target: uploads', () => {
    it('uploads every file with bytes first, then links the paths Zulip answered (others link Rocket.Chat)', async () => {
        const input = makeInput(zulipTarget, raw, { files: [file('cat.png', 'image/png', true), file('gone.pdf', 'application/pdf', false), file('a.txt', 'text/plain', true)] });
        let next = 0;
        const run = await runScripted(zulipTarget, input, (request) => (request.multipart
            ? response(200, { result: 'success', msg: '', uri: `/user_uploads/2/ab/${++next}/x`, url: `/user_uploads/2/ab/${next}/x` })
            : response(200, { result: 'success', msg: '', id: 42 })));
        const upload = (name: string, type: string) => ({
            method: 'POST', url: `${SITE}/api/v1/user_uploads`, headers: { Authorization: AUTH }, multipart: [{ name: 'filename', filename: name, contentType: type, bytes: 'abc' }],
        });
        expect(run.sent.map(view)).toEqual([
            upload('cat.png', 'image/png'),
            upload('a.txt', 'text/plain'),
            send('**Alice**: hello **world**\n[cat.png](/user_uploads/2/ab/1/x)\n[gone.pdf](https://chat.example.com/file-upload/gone.pdf)\n[a.txt](/user_uploads/2/ab/2/x)', 'general', 'general'),
        ]);
        expect(run.remoteIds).toEqual(['42']);
    });

    it.each([
        ['uri only (before Zulip 9.0)', response(200, { result: 'success', msg: '', uri: '/user_uploads/1/x' }), { carry: { 'upload.0': '/user_uploads/1/x' } }],
        ['no url', response(200, { result: 'success', msg: '' }), { error: 'TargetError', message: 'Zulip answered 200 to an upload without its url', status: 200, retryable: false }],
        [
            'too large',
            response(400, { result: 'error', msg: 'Uploaded file is larger than the allowed limit of 25 MiB', code: 'BAD_REQUEST' }),
            { error: 'TargetError', message: 'Zulip answered 400: Uploaded file is larger than the allowed limit of 25 MiB [BAD_REQUEST]', status: 400, retryable: false },
        ],
    ])('upload answer: %s', (_name, result, expected) => {
        const request = { method: 'POST' as const, url: `${SITE}/api/v1/user_uploads`, headers: {}, multipart: [], tag: 'upload.0' };
        expect(outcome(() => zulipTarget.readResponse(makeInput(zulipTarget, raw), request, result))).toEqual(expected);
    });
});

describe('zulip target: responses', () => {
    const input = makeInput(zulipTarget, raw);
    const post = { method: 'POST' as const, url: `${SITE}/api/v1/messages`, headers: {} };
    const remove = { method: 'DELETE' as const, url: `${SITE}/api/v1/messages/42`, headers: {} };
    it.each([
        ['message id', post, response(200, { id: 42, msg: '', result: 'success' }), { remoteId: '42' }],
        ['delete success', remove, response(200, { msg: '', result: 'success' }), {}],
        ['edit success: the edited id stays', { ...remove, method: 'PATCH' as const }, response(200, { msg: '', result: 'success' }), { remoteId: '42' }],
        ['deleting a message that is gone', remove, response(400, { code: 'BAD_REQUEST', msg: 'Invalid message(s)', result: 'error' }), {}],
        [
            'stream missing',
            post, response(400, { code: 'STREAM_DOES_NOT_EXIST', msg: "Channel 'nope' does not exist", result: 'error', stream: 'nope' }),
            { error: 'TargetError', message: "Zulip answered 400: Channel 'nope' does not exist [STREAM_DOES_NOT_EXIST]", status: 400, retryable: false },
        ],
        [
            'bad key',
            post, response(401, { code: 'INVALID_API_KEY', msg: 'Invalid API key', result: 'error' }),
            { error: 'TargetError', message: 'Zulip answered 401: Invalid API key [INVALID_API_KEY]', status: 401, retryable: false },
        ],
        [
            'rate limited: retry-after from the body',
            post, response(429, { code: 'RATE_LIMIT_HIT', msg: 'API usage exceeded rate limit', result: 'error', 'retry-after': 2.5 }, { 'retry-after': '3' }),
            { error: 'TargetError', message: 'Zulip answered 429: API usage exceeded rate limit [RATE_LIMIT_HIT]', status: 429, retryable: true, retryAfterMs: 2500 },
        ],
        [
            'result error inside a 200',
            post, response(200, { msg: 'odd', result: 'error' }),
            { error: 'TargetError', message: 'Zulip refused: odd', status: 200, retryable: false },
        ],
    ])('%s', (_name, request, result, expected) => {
        expect(outcome(() => zulipTarget.readResponse(input, request, result))).toEqual(expected);
    });
});

describe('zulip target: config', () => {
    it.each([
        [{}, 'site: is required'],
        [{ ...raw, site: 'http://example.zulipchat.com' }, 'site: must be an https URL (http only for localhost or 127.0.0.1)'],
        [{ ...raw, site: 'https://example.zulipchat.com/api/v1' }, 'site: must be the server address only'],
        [{ ...raw, bot_email: undefined }, 'bot_email: is required'],
        [{ ...raw, bot_email: 'relay-bot' }, 'bot_email: must be the bot\'s email address, got "relay-bot"'],
        [{ ...raw, api_key: undefined }, 'api_key: is required'],
        [{ ...raw, api_key: 'has space' }, 'api_key: must be the API key'],
    ])('%j → %s', (config, message) => {
        expect(() => zulipTarget.parseConfig(config)).toThrow(message);
    });

    it('describe shows the site and bot, not the key', () => {
        expect(zulipTarget.describe(zulipTarget.parseConfig(raw))).toBe('zulip https://example.zulipchat.com as relay-bot@example.zulipchat.com #general');
    });
});

describe('zulip target: direct messages (issue 16)', () => {
    const dm = (to: string) => ({ method: 'POST', url: `${SITE}/api/v1/messages`, headers: FORM, body: `type=private&to=${enc(to)}&content=${enc('**Alice**: hello **world**')}` });

    it.each<[string, Record<string, unknown>, Record<string, string>, object]>([
        ['rule channel to: a direct message', raw, { to: 'bob@example.com' }, dm('bob@example.com')],
        ['instance to (from a URL e-mail target): a direct message', { ...raw, stream: undefined, to: 'bob@example.com' }, {}, dm('bob@example.com')],
        ['a rule channel stream wins over the instance to', { ...raw, stream: undefined, to: 'bob@example.com' }, { stream: 'dev' }, send('**Alice**: hello **world**', 'dev')],
    ])('%s', (_name, config, channel, expected) => {
        expect(zulipTarget.buildRequests(makeInput(zulipTarget, config, { channel })).map(view)).toEqual([expected]);
    });

    it('to must be an e-mail address', () => {
        expect(() => zulipTarget.parseConfig({ ...raw, to: 'bob' })).toThrow('to: must be the e-mail address');
    });
});
