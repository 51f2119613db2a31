import { discordTarget, sanitiseUsername } from '../../../src/targets/discord';
import { file, makeInput, outcome, response, runScripted, view } from './harness';

const HOOK = 'https://discord.com/api/webhooks/111222333444555666/tok-EN_1';
const raw = { webhook_url: HOOK };
const JSON_HEADERS = { 'Content-Type': 'application/json' };
const who = { username: 'Alice', avatar_url: 'https://cdn.example.com/alice.png', allowed_mentions: { parse: [] } };
const post = (content: string, extra: Record<string, unknown> = {}, url = `${HOOK}?wait=true`) =>
    ({ method: 'POST', url, headers: JSON_HEADERS, json: { content, ...who, ...extra } });
const patch = (id: string, content: string, query = '') =>
    ({ method: 'PATCH', url: `${HOOK}/messages/${id}${query}`, headers: JSON_HEADERS, json: { content, allowed_mentions: { parse: [] } } });
const del = (id: string, query = '') => ({ method: 'DELETE', url: `${HOOK}/messages/${id}${query}`, headers: {} });
const long = `${'a'.repeat(1500)}\n\n${'b'.repeat(1500)}`;

describe('discord target: requests', () => {
    it.each([
        ['sent, markdown converted', {}, [post('hello **world**')]],
        ['mentions neutralised', { rendered: { text: '@here look' } }, [post('@\u200Bhere look')]],
        [
            'identity: forbidden words swapped, config botname/avatar as fallback',
            { rendered: { alias: 'Discord Clyde', avatarUrl: undefined } },
            [post('hello **world**', { username: 'Disc\u043Erd Clyd\u0435', avatar_url: undefined })],
        ],
        ['split at 2000 on the paragraph', { rendered: { text: long } }, [post('a'.repeat(1500)), post('b'.repeat(1500))]],
        [
            'thread reply without thread_id: quote line linking the parent',
            { message: { threadId: 'PARENT' } },
            [post('> \u21AA reply in thread <https://chat.example.com/channel/general?msg=PARENT>\nhello **world**')],
        ],
        [
            'rule channel thread_id: posted into that thread, no quote line',
            { message: { threadId: 'PARENT' }, channel: { thread_id: '999' } },
            [post('hello **world**', {}, `${HOOK}?wait=true&thread_id=999`)],
        ],
        [
            'files without bytes become links',
            { files: [file('cat.png', 'image/png', false)] },
            [post('hello **world**\n[cat.png](https://chat.example.com/file-upload/cat.png)')],
        ],
        [
            'files with bytes: multipart payload_json + files[n] on the last part',
            { rendered: { text: long }, files: [file('a.txt', 'text/plain', true), file('b.png', 'image/png', true)] },
            [
                post('a'.repeat(1500)),
                {
                    method: 'POST', url: `${HOOK}?wait=true`, headers: {},
                    multipart: [
                        { name: 'payload_json', value: { ...who, content: 'b'.repeat(1500), attachments: [{ id: 0, filename: 'a.txt' }, { id: 1, filename: 'b.png' }] } },
                        { name: 'files[0]', filename: 'a.txt', contentType: 'text/plain', bytes: 'abc' },
                        { name: 'files[1]', filename: 'b.png', contentType: 'image/png', bytes: 'abc' },
                    ],
                },
            ],
        ],
        [
            'file only, no text',
            { rendered: { text: '' }, files: [file('a.txt', 'text/plain', true)] },
            [{
                method: 'POST', url: `${HOOK}?wait=true`, headers: {},
                multipart: [
                    { name: 'payload_json', value: { ...who, attachments: [{ id: 0, filename: 'a.txt' }] } },
                    { name: 'files[0]', filename: 'a.txt', contentType: 'text/plain', bytes: 'abc' },
                ],
            }],
        ],
        ['nothing to send', { rendered: { text: '  ' } }, []],
        ['edited: one PATCH per part', { message: { event: 'edited' as const }, remoteIds: ['900'] }, [patch('900', 'hello **world**')]],
        [
            'edited shorter: surplus parts deleted',
            { message: { event: 'edited' as const }, remoteIds: ['900', '901'] },
            [patch('900', 'hello **world**'), del('901')],
        ],
        [
            'edited longer: overflow merged into the last part',
            { message: { event: 'edited' as const }, remoteIds: ['900'], rendered: { text: 'x '.repeat(1200).trim() } },
            [patch('900', `${'x '.repeat(1000).trim()}\n${'x '.repeat(200).trim()}`.slice(0, 1999) + '\u2026')],
        ],
        [
            'edited in a thread keeps thread_id; uploaded files are not re-linked',
            { message: { event: 'edited' as const }, remoteIds: ['900'], channel: { thread_id: '999' }, files: [file('a.txt', 'text/plain', false)] },
            [patch('900', 'hello **world**', '?thread_id=999')],
        ],
        ['deleted: every part', { message: { event: 'deleted' as const }, remoteIds: ['900', '901'] }, [del('900'), del('901')]],
        ['deleted without remote ids: nothing', { message: { event: 'deleted' as const } }, []],
    ])('%s', (_name, options, expected) => {
        const input = makeInput(discordTarget, raw, options);
        expect(discordTarget.buildRequests(input).map(view)).toEqual(expected);
    });

    it('config defaults: botname, avatar and thread from the instance', () => {
        const input = makeInput(discordTarget, { ...raw, botname: 'Relay', avatar_url: 'https://x/y.png', thread_id: '55' }, { rendered: { alias: '', avatarUrl: undefined } });
        expect(discordTarget.buildRequests(input).map(view)).toEqual([
            post('hello **world**', { username: 'Relay', avatar_url: 'https://x/y.png' }, `${HOOK}?wait=true&thread_id=55`),
        ]);
    });

    it('files over max_file_size or beyond ten become links', () => {
        const files = Array.from({ length: 11 }, (_, i) => file(`f${i}.txt`, 'text/plain', true));
        files[0] = { ...files[0], bytes: new Uint8Array(2048), size: 2048 };
        const input = makeInput(discordTarget, { ...raw, max_file_size: 1024 }, { files });
        const requests = discordTarget.buildRequests(input);
        expect(requests).toHaveLength(1);
        const parts = requests[0].multipart || [];
        expect(parts.map((part) => part.name)).toEqual(['payload_json', ...Array.from({ length: 9 }, (_, i) => `files[${i}]`)]);
        expect(JSON.parse(parts[0].value as string).content).toBe(
            'hello **world**\n[f0.txt](https://chat.example.com/file-upload/f0.txt)\n[f10.txt](https://chat.example.com/file-upload/f10.txt)');
    });
});

describe('sanitiseUsername', () => {
    it.each([
        ['Alice', 'Alice'],
        ['CLYDE', 'CLYD\u0415'],
        ['my discord bot', 'my disc\u043Erd bot'],
        ['  spaced   out  ', 'spaced out'],
        ['x'.repeat(100), 'x'.repeat(80)],
        [`${'x'.repeat(79)}😀`, 'x'.repeat(79)],
    ])('%s', (name, expected) => {
        expect(sanitiseUsername(name)).toBe(expected);
    });
});

describe('discord target: responses', () => {
    const input = makeInput(discordTarget, raw);
    const postRequest = { method: 'POST' as const, url: HOOK, headers: {} };
    const deleteRequest = { method: 'DELETE' as const, url: `${HOOK}/messages/1`, headers: {} };
    it.each([
        ['message id', postRequest, response(200, { id: '1234', channel_id: '5' }), { remoteId: '1234' }],
        ['204 on delete', deleteRequest, response(204), {}],
        ['404 on delete: already gone', deleteRequest, response(404, { message: 'Unknown Message', code: 10008 }), {}],
        [
            '404 on post is final',
            postRequest, response(404, { message: 'Unknown Webhook', code: 10015 }),
            { error: 'TargetError', message: 'Discord answered 404: Unknown Webhook (code 10015)', status: 404, retryable: false },
        ],
        [
            '400 form errors are shown',
            postRequest, response(400, { message: 'Invalid Form Body', code: 50035, errors: { username: { _errors: [{ code: 'USERNAME_INVALID' }] } } }),
            {
                error: 'TargetError', status: 400, retryable: false,
                message: 'Discord answered 400: Invalid Form Body (code 50035) {"username":{"_errors":[{"code":"USERNAME_INVALID"}]}}',
            },
        ],
        [
            '429 retry_after seconds (fractional) from the body',
            postRequest, response(429, { message: 'You are being rate limited.', retry_after: 0.347, global: false }, { 'retry-after': '1' }),
            { error: 'TargetError', message: 'Discord answered 429: You are being rate limited.', status: 429, retryable: true, retryAfterMs: 347 },
        ],
        [
            '502 from a proxy, Retry-After header',
            postRequest, response(502, '<html>bad gateway</html>', { 'retry-after': '3' }),
            { error: 'TargetError', message: 'Discord answered 502: <html>bad gateway</html>', status: 502, retryable: true, retryAfterMs: 3000 },
        ],
    ])('%s', (_name, request, result, expected) => {
        expect(outcome(() => discordTarget.readResponse(input, request, result))).toEqual(expected);
    });
});

describe('discord target: config', () => {
    it.each([
        [{}, 'webhook_url: is required (or webhook_id and webhook_token)'],
        [{ webhook_url: 'https://discord.com/api/channels/1' }, 'webhook_url: must look like https://discord.com/api/webhooks/{id}/{token}'],
        [{ webhook_url: 'http://discord.com/api/webhooks/1/t' }, 'webhook_url: must look like'],
        [{ webhook_id: 'abc', webhook_token: 't' }, 'webhook_id: must be the numeric webhook id, got "abc"'],
        [{ webhook_id: '1', webhook_token: 'a/b' }, 'webhook_token: must be the webhook token'],
        [{ ...raw, thread_id: 'general' }, 'thread_id: must be a numeric Discord thread id, got "general"'],
        [{ ...raw, avatar_url: 'ftp://x' }, 'avatar_url: must be an http(s) URL'],
        [{ ...raw, max_file_size: -1 }, 'max_file_size: must be a positive whole number, got -1'],
    ])('%j → %s', (config, message) => {
        expect(() => discordTarget.parseConfig(config)).toThrow(message);
    });

    it.each([
        [{ webhook_id: '111222333444555666', webhook_token: 'tok-EN_1' }, HOOK],
        [{ webhook_url: 'https://canary.discordapp.com/api/v10/webhooks/1/t/' }, 'https://canary.discordapp.com/api/v10/webhooks/1/t'],
    ])('%j → %s', (config, webhookUrl) => {
        expect(discordTarget.parseConfig(config).webhookUrl).toBe(webhookUrl);
    });

    it('describe shows the webhook id, not the token', () => {
        expect(discordTarget.describe(discordTarget.parseConfig({ ...raw, thread_id: '5' }))).toBe('discord webhook 111222333444555666 thread 5');
    });
});

describe('discord target: flags and forum posts (issue 16)', () => {
    it('flags go with every new message', () => {
        const input = makeInput(discordTarget, { ...raw, flags: '4096' });
        expect(discordTarget.buildRequests(input).map(view)).toEqual([post('hello **world**', { flags: 4096 })]);
    });

    it.each([['-1'], ['invalid'], [1.5]])('flags %p is refused', (flags) => {
        expect(() => discordTarget.parseConfig({ ...raw, flags })).toThrow('flags: must be a whole number of 0 or more');
    });

    it('thread_name: the first part opens a forum post, later parts and edits go into it', async () => {
        const input = makeInput(discordTarget, { ...raw, thread_name: 'Relay' }, { rendered: { text: long } });
        const { sent, remoteIds } = await runScripted(discordTarget, input, (_request, index) =>
            response(200, { id: `M${index}`, channel_id: 'POST9' }));
        expect(sent.map(view)).toEqual([
            post('a'.repeat(1500), { thread_name: 'Relay' }),
            post('b'.repeat(1500), {}, `${HOOK}?wait=true&thread_id=POST9`),
        ]);
        expect(remoteIds).toEqual(['M0@POST9', 'M1@POST9']);
        const edit = makeInput(discordTarget, { ...raw, thread_name: 'Relay' }, { message: { event: 'edited' }, remoteIds });
        expect(discordTarget.buildRequests(edit).map(view)[0]).toEqual(patch('M0', 'hello **world**', '?thread_id=POST9'));
    });

    it('thread_name is not used when the rule channel names a thread', () => {
        const input = makeInput(discordTarget, { ...raw, thread_name: 'Relay' }, { channel: { thread_id: '77' } });
        expect(discordTarget.buildRequests(input).map(view)).toEqual([post('hello **world**', {}, `${HOOK}?wait=true&thread_id=77`)]);
    });
});
