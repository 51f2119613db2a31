import { decodeRemoteId, encodeRemoteId, slackTarget } from '../../../src/targets/slack';
import { file, makeInput, outcome, response, runScripted, view } from './harness';

const HOOK = 'https://hooks.slack.com/services/T0001/B0002/XXXXyyyyZZZZ';
const API = 'https://slack.com/api';
const TOKEN = 'xoxb-1234-5678-abcdEFGH';
const hookRaw = { webhook_url: HOOK };
const botRaw = { bot_token: TOKEN, channel: '#general' };
const JSON_HEADERS = { 'Content-Type': 'application/json' };
const API_HEADERS = { 'Content-Type': 'application/json; charset=utf-8', Authorization: `Bearer ${TOKEN}` };
const hook = (json: Record<string, unknown>) => ({ method: 'POST', url: HOOK, headers: JSON_HEADERS, json });
const api = (method: string, json: Record<string, unknown>) => ({ method: 'POST', url: `${API}/${method}`, headers: API_HEADERS, json });
const WORKFLOW = 'https://hooks.slack.com/workflows/T1JJ3T3L2/Ft07XXXX/XXXXXXXX/YYYYYYYY';
const TRIGGER = 'https://hooks.slack.com/triggers/T1JJ3T3L2/XXXXXXXX/YYYYYYYY';
const legacy = { username: 'Alice', icon_url: 'https://cdn.example.com/alice.png' };
const long = `${'a'.repeat(30000)}\n\n${'b'.repeat(30000)}`;

describe('slack target: webhook mode requests', () => {
    it.each([
        ['sent: mrkdwn, name prefixed', {}, {}, [hook({ text: '*Alice*: hello *world*' })]],
        [
            'markdown converted and escaped',
            {}, { rendered: { text: '**bold** _it_ ~~gone~~ a<b & [site](https://x.example/a)' } },
            [hook({ text: '*Alice*: *bold* _it_ ~gone~ a&lt;b &amp; <https://x.example/a|site>' })],
        ],
        ['mentions neutralised', {}, { rendered: { text: '@here and @channel' } }, [hook({ text: '*Alice*: @\u200Bhere and @\u200Bchannel' })]],
        ['name is escaped and loses its asterisks', {}, { rendered: { alias: '*A<b>*' } }, [hook({ text: '*A&lt;b&gt;*: hello *world*' })]],
        ['identity legacy: username and icon_url, no prefix', { identity: 'legacy' }, {}, [hook({ text: 'hello *world*', ...legacy })]],
        [
            'identity legacy without avatar: the instance icon_url',
            { identity: 'legacy', icon_url: 'https://x.example/bot.png' }, { rendered: { avatarUrl: undefined } },
            [hook({ text: 'hello *world*', username: 'Alice', icon_url: 'https://x.example/bot.png' })],
        ],
        ['prefix mode sends the instance botname', { botname: 'Relay' }, {}, [hook({ text: '*Alice*: hello *world*', username: 'Relay' })]],
        ['legacy channel override from the rule channel', {}, { channel: { channel: '#dev' } }, [hook({ channel: '#dev', text: '*Alice*: hello *world*' })]],
        [
            'files as links',
            {}, { files: [file('cat.png', 'image/png', false), file('a|b.txt', 'text/plain', false)] },
            [hook({ text: '*Alice*: hello *world*\n<https://chat.example.com/file-upload/cat.png|cat.png>\n<https://chat.example.com/file-upload/a%7Cb.txt|ab.txt>' })],
        ],
        ['split at 40 000', {}, { rendered: { text: long } }, [hook({ text: `*Alice*: ${'a'.repeat(30000)}` }), hook({ text: 'b'.repeat(30000) })]],
        ['nothing to send', {}, { rendered: { text: ' ' } }, []],
        ['thread reply: an ordinary message (no ids to thread on)', {}, { message: { threadId: 'P' } }, [hook({ text: '*Alice*: hello *world*' })]],
        ['edited: nothing (a webhook cannot edit)', {}, { message: { event: 'edited' as const }, remoteIds: ['x'] }, []],
        ['deleted: nothing (a webhook cannot delete)', {}, { message: { event: 'deleted' as const }, remoteIds: ['x'] }, []],
    ])('%s', (_name, extra, options, expected) => {
        const input = makeInput(slackTarget, { ...hookRaw, ...extra }, options);
        expect(slackTarget.buildRequests(input).map(view)).toEqual(expected);
    });
});

describe('slack target: bot mode requests', () => {
    it.each([
        ['sent: chat.postMessage to the instance channel', {}, {}, [api('chat.postMessage', { channel: '#general', text: '*Alice*: hello *world*' })]],
        ['rule channel_id wins', {}, { channel: { channel_id: 'C0DEV' } }, [api('chat.postMessage', { channel: 'C0DEV', text: '*Alice*: hello *world*' })]],
        [
            'identity legacy (chat:write.customize): username and icon_url',
            { identity: 'legacy' }, {},
            [api('chat.postMessage', { channel: '#general', text: 'hello *world*', ...legacy })],
        ],
        [
            'thread reply: the parent\'s channel and thread_ts',
            {}, { message: { threadId: 'P' }, remoteThreadId: 'C0GEN/1700000000.000100' },
            [api('chat.postMessage', { channel: 'C0GEN', text: '*Alice*: hello *world*', thread_ts: '1700000000.000100' })],
        ],
        [
            'split: every part a message',
            {}, { rendered: { text: long } },
            [
                api('chat.postMessage', { channel: '#general', text: `*Alice*: ${'a'.repeat(30000)}` }),
                api('chat.postMessage', { channel: '#general', text: 'b'.repeat(30000) }),
            ],
        ],
        [
            'edited: chat.update per part',
            {}, { message: { event: 'edited' as const }, remoteIds: ['C0GEN/1.1'] },
            [api('chat.update', { channel: 'C0GEN', ts: '1.1', text: '*Alice*: hello *world*' })],
        ],
        [
            'edited shorter: surplus parts deleted',
            {}, { message: { event: 'edited' as const }, remoteIds: ['C0GEN/1.1', 'C0GEN/1.2'] },
            [api('chat.update', { channel: 'C0GEN', ts: '1.1', text: '*Alice*: hello *world*' }), api('chat.delete', { channel: 'C0GEN', ts: '1.2' })],
        ],
        [
            'deleted: chat.delete per part',
            {}, { message: { event: 'deleted' as const }, remoteIds: ['C0GEN/1.1', 'C0GEN/1.2'] },
            [api('chat.delete', { channel: 'C0GEN', ts: '1.1' }), api('chat.delete', { channel: 'C0GEN', ts: '1.2' })],
        ],
        [
            'api_url points the Web API elsewhere',
            { api_url: 'http://127.0.0.1:9999/api/' }, {},
            [{ ...api('chat.postMessage', { channel: '#general', text: '*Alice*: hello *world*' }), url: 'http://127.0.0.1:9999/api/chat.postMessage' }],
        ],
    ])('%s', (_name, extra, options, expected) => {
        const input = makeInput(slackTarget, { ...botRaw, ...extra }, options);
        expect(slackTarget.buildRequests(input).map(view)).toEqual(expected);
    });

    it('no channel anywhere is a final error', () => {
        const input = makeInput(slackTarget, { bot_token: TOKEN });
        expect(outcome(() => ({ remoteId: String(slackTarget.buildRequests(input).length) }))).toMatchObject({
            error: 'TargetError', retryable: false, message: 'Slack: no channel; set channel in the rule channel or the instance',
        });
    });

    it.each([['C1/1700000000.000100', { channel: 'C1', ts: '1700000000.000100' }], ['1.2', { ts: '1.2' }]])('decodeRemoteId(%s)', (id, decoded) => {
        expect(decodeRemoteId(id)).toEqual(decoded);
        expect(encodeRemoteId('C1', '1.2')).toBe('C1/1.2');
    });
});

describe('slack target: bot mode uploads', () => {
    const FORM_HEADERS = { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Bearer ${TOKEN}` };
    const UPLOAD_HOST = 'https://files.slack.com/upload/v1';
    // Slack: text → {channel id, ts}; getUploadURLExternal → a one-time URL and a file id; the URL → `OK - n`.
    const slack = () => {
        let next = 0;
        return (request: { url: string }) => {
            if (request.url.endsWith('/chat.postMessage')) return response(200, { ok: true, channel: 'C0123GENERAL', ts: `1.${++next}` });
            if (request.url.endsWith('/files.getUploadURLExternal')) return response(200, { ok: true, upload_url: `${UPLOAD_HOST}/U${++next}`, file_id: `F${next}` });
            if (request.url.startsWith(UPLOAD_HOST)) return response(200, 'OK - 3', { 'content-type': 'text/plain' });
            return response(200, { ok: true, files: [{ id: 'F2' }, { id: 'F3' }] });
        };
    };
    const getUrl = (filename: string) => ({ method: 'POST', url: `${API}/files.getUploadURLExternal`, headers: FORM_HEADERS, body: `filename=${filename}&length=3` });
    const put = (url: string, filename: string, contentType: string) => ({ method: 'POST', url, headers: {}, multipart: [{ name: 'filename', filename, contentType, bytes: 'abc' }] });

    it('text first (it tells the channel id), then every file up, then one share in the thread; files without bytes stay links', async () => {
        const input = makeInput(slackTarget, botRaw, {
            message: { threadId: 'P' }, remoteThreadId: '#general/1700000000.000100',
            files: [file('a b.txt', 'text/plain', true), file('cat.png', 'image/png', true), file('gone.pdf', 'application/pdf', false)],
        });
        const run = await runScripted(slackTarget, input, slack());
        expect(run.sent.map(view)).toEqual([
            api('chat.postMessage', { channel: '#general', text: '*Alice*: hello *world*\n<https://chat.example.com/file-upload/gone.pdf|gone.pdf>', thread_ts: '1700000000.000100' }),
            getUrl('a%20b.txt'), put(`${UPLOAD_HOST}/U2`, 'a b.txt', 'text/plain'),
            getUrl('cat.png'), put(`${UPLOAD_HOST}/U3`, 'cat.png', 'image/png'),
            api('files.completeUploadExternal', {
                files: [{ id: 'F2', title: 'a b.txt' }, { id: 'F3', title: 'cat.png' }], channel_id: 'C0123GENERAL', thread_ts: '1700000000.000100',
            }),
        ]);
        expect(run.remoteIds).toEqual(['C0123GENERAL/1.1']);
    });

    it('files alone to a channel id: shared with the name as the comment', async () => {
        const input = makeInput(slackTarget, botRaw, { channel: { channel_id: 'C0123GENERAL' }, rendered: { text: '' }, files: [file('a.txt', 'text/plain', true)] });
        const run = await runScripted(slackTarget, input, slack());
        expect(run.sent.map(view)).toEqual([
            getUrl('a.txt'), put(`${UPLOAD_HOST}/U1`, 'a.txt', 'text/plain'),
            api('files.completeUploadExternal', { files: [{ id: 'F1', title: 'a.txt' }], channel_id: 'C0123GENERAL', initial_comment: '*Alice*' }),
        ]);
    });

    it('files alone to a #name: no id to share to, so they are linked', () => {
        const input = makeInput(slackTarget, botRaw, { rendered: { text: '' }, files: [file('a.txt', 'text/plain', true)] });
        expect(slackTarget.buildRequests(input).map(view)).toEqual([
            api('chat.postMessage', { channel: '#general', text: '*Alice*: <https://chat.example.com/file-upload/a.txt|a.txt>' }),
        ]);
    });

    it('an edit keeps the text without the uploaded files\' links', () => {
        const input = makeInput(slackTarget, botRaw, { message: { event: 'edited' }, remoteIds: ['C0GEN/1.1'], files: [file('a.txt', 'text/plain', false)] });
        expect(slackTarget.buildRequests(input).map(view)).toEqual([api('chat.update', { channel: 'C0GEN', ts: '1.1', text: '*Alice*: hello *world*' })]);
    });

    it.each([
        [
            'getUploadURLExternal refused',
            { url: `${API}/files.getUploadURLExternal`, tag: 'file.0' }, response(200, { ok: false, error: 'file_uploads_disabled' }),
            { error: 'TargetError', message: 'Slack answered 200: file_uploads_disabled', status: 200, retryable: false },
        ],
        [
            'getUploadURLExternal without a URL',
            { url: `${API}/files.getUploadURLExternal`, tag: 'file.0' }, response(200, { ok: true }),
            { error: 'TargetError', message: 'Slack answered files.getUploadURLExternal without upload_url and file_id', status: 200, retryable: false },
        ],
        [
            'the upload URL failing',
            { url: `${UPLOAD_HOST}/U1`, multipart: [] }, response(500, 'upload failed'),
            { error: 'TargetError', message: 'Slack file upload answered 500: upload failed', status: 500, retryable: true },
        ],
        [
            'completeUploadExternal refused',
            { url: `${API}/files.completeUploadExternal` }, response(200, { ok: false, error: 'channel_not_found' }),
            { error: 'TargetError', message: 'Slack answered 200: channel_not_found', status: 200, retryable: false },
        ],
        ['completeUploadExternal: no id to keep', { url: `${API}/files.completeUploadExternal` }, response(200, { ok: true, files: [] }), {}],
    ])('%s', (_name, request, result, expected) => {
        const input = makeInput(slackTarget, botRaw, { files: [file('a.txt', 'text/plain', true)] });
        expect(outcome(() => slackTarget.readResponse(input, { method: 'POST', headers: {}, ...request }, result))).toEqual(expected);
    });
});

describe('slack target: responses', () => {
    const bot = makeInput(slackTarget, botRaw);
    const hookInput = makeInput(slackTarget, hookRaw);
    const post = { method: 'POST' as const, url: `${API}/chat.postMessage`, headers: {} };
    const del = { method: 'POST' as const, url: `${API}/chat.delete`, headers: {} };
    it.each([
        ['webhook: plain ok', hookInput, post, response(200, 'ok'), {}],
        [
            'webhook: plain-text error',
            hookInput, post, response(404, 'channel_not_found'),
            { error: 'TargetError', message: 'Slack answered 404: channel_not_found', status: 404, retryable: false },
        ],
        [
            'webhook: 429 with Retry-After',
            hookInput, post, response(429, 'rate_limited', { 'retry-after': '30' }),
            { error: 'TargetError', message: 'Slack answered 429: rate_limited', status: 429, retryable: true, retryAfterMs: 30000 },
        ],
        ['bot: channel id and ts', bot, post, response(200, { ok: true, channel: 'C0GEN', ts: '1700000000.000100', message: {} }), { remoteId: 'C0GEN/1700000000.000100' }],
        ['bot: chat.delete has no id to keep', bot, del, response(200, { ok: true, channel: 'C0GEN', ts: '1.1' }), {}],
        ['bot: deleting a message that is gone', bot, del, response(200, { ok: false, error: 'message_not_found' }), {}],
        [
            'bot: 200 ok:false is final',
            bot, post, response(200, { ok: false, error: 'not_in_channel' }),
            { error: 'TargetError', message: 'Slack answered 200: not_in_channel', status: 200, retryable: false },
        ],
        [
            'bot: ratelimited is retryable, with Retry-After',
            bot, post, response(429, { ok: false, error: 'ratelimited' }, { 'retry-after': '5' }),
            { error: 'TargetError', message: 'Slack answered 429: ratelimited', status: 429, retryable: true, retryAfterMs: 5000 },
        ],
        [
            'bot: ratelimited inside HTTP 200 is retryable too',
            bot, post, response(200, { ok: false, error: 'ratelimited' }, { 'retry-after': '2' }),
            { error: 'TargetError', message: 'Slack answered 200: ratelimited', status: 200, retryable: true, retryAfterMs: 2000 },
        ],
        [
            'bot: invalid_auth',
            bot, post, response(200, { ok: false, error: 'invalid_auth' }),
            { error: 'TargetError', message: 'Slack answered 200: invalid_auth', status: 200, retryable: false },
        ],
        [
            'bot: 503 from a proxy',
            bot, post, response(503, '<html>down</html>'),
            { error: 'TargetError', message: 'Slack answered 503: <html>down</html>', status: 503, retryable: true },
        ],
    ])('%s', (_name, input, request, result, expected) => {
        expect(outcome(() => slackTarget.readResponse(input, request, result))).toEqual(expected);
    });
});

describe('slack target: config', () => {
    it.each([
        [{}, 'webhook_url: is required (or bot_token and channel for chat.postMessage)'],
        [{ webhook_url: 'http://hooks.slack.com/services/T/B/X' }, 'webhook_url: must be an https URL (http only for localhost or 127.0.0.1)'],
        [{ webhook_url: 'https://hooks.slack.com/workflows/T/B/X' }, 'webhook_url: must look like https://hooks.slack.com/services/'],
        [{ bot_token: 'abc' }, 'bot_token: must be a Slack OAuth token'],
        [{ ...hookRaw, bot_token: TOKEN }, 'bot_token: give either webhook_url (incoming webhook) or bot_token (chat.postMessage), not both'],
        [{ ...botRaw, api_url: 'http://slack.example/api' }, 'api_url: must be an https URL'],
        [{ ...hookRaw, identity: 'native' }, 'identity: must be "prefix" (name in the text) or "legacy" (username/icon_url), got "native"'],
        [{ ...hookRaw, channel: 'bad channel' }, 'channel: "bad channel" is not #channel, a channel id, @user or an e-mail address'],
        [{ ...hookRaw, icon_url: 'ftp://x' }, 'icon_url: must be an http(s) URL'],
        [{ ...hookRaw, channel: 'a@example.com' }, 'channel: an e-mail address is looked up with users.lookupByEmail, which needs a bot token (bot_token)'],
        [{ ...hookRaw, channel: '#general:soon' }, 'channel: "#general:soon" is not #channel'],
        [{ webhook_url: WORKFLOW, channel: '#general' }, 'channel: a workflow posts where the workflow was built to; remove the channel'],
    ])('%j → %s', (config, message) => {
        expect(() => slackTarget.parseConfig(config)).toThrow(message);
    });

    it('accepts a loopback stand-in', () => {
        expect(slackTarget.parseConfig({ webhook_url: 'http://127.0.0.1:8080/services/T/B/X' }).webhookUrl).toBe('http://127.0.0.1:8080/services/T/B/X');
    });

    it.each([
        [hookRaw, 'slack webhook https://hooks.slack.com'],
        [botRaw, 'slack chat.postMessage #general'],
        [{ bot_token: TOKEN, api_url: 'http://localhost:1/api' }, 'slack chat.postMessage (channel from the rule) via http://localhost:1'],
    ])('describe(%j) shows no secret', (config, description) => {
        expect(slackTarget.describe(slackTarget.parseConfig(config))).toBe(description);
    });
});

describe('slack target: Workflow Builder webhooks and triggers', () => {
    it.each([
        ['workflow', WORKFLOW],
        ['trigger', TRIGGER],
    ])('%s: {text} (the variable the workflow reads), sent messages only', async (mode, url) => {
        const config = { webhook_url: url };
        expect(slackTarget.parseConfig(config).mode).toBe(mode);
        const input = makeInput(slackTarget, config, { files: [file('cat.png', 'image/png', true)] });
        const { sent } = await runScripted(slackTarget, input, () => response(200, ''));
        expect(sent.map(view)).toEqual([{ method: 'POST', url, headers: JSON_HEADERS, json: { text: '*Alice*: hello *world*\n<https://chat.example.com/file-upload/cat.png|cat.png>' } }]);
        expect(slackTarget.buildRequests(makeInput(slackTarget, config, { message: { event: 'edited' }, remoteIds: ['x'] }))).toEqual([]);
        expect(slackTarget.buildRequests(makeInput(slackTarget, config, { message: { event: 'deleted' }, remoteIds: ['x'] }))).toEqual([]);
        expect(slackTarget.endpoints(input.config)).toEqual([url]);
        expect(slackTarget.describe(input.config)).toBe(`slack ${mode} https://hooks.slack.com`);
    });

    it('a refused workflow call is a TargetError', () => {
        const input = makeInput(slackTarget, { webhook_url: WORKFLOW });
        const [request] = slackTarget.buildRequests(input);
        expect(outcome(() => slackTarget.readResponse(input, request, response(400, 'invalid_workflow_input')))).toMatchObject({ status: 400, retryable: false, message: 'Slack answered 400: invalid_workflow_input' });
    });
});

describe('slack target: threads and e-mail targets', () => {
    it('webhook: #channel:thread_ts posts into that thread', () => {
        expect(slackTarget.buildRequests(makeInput(slackTarget, { ...hookRaw, channel: '#general:1700000000.123456' })).map(view))
            .toEqual([hook({ channel: '#general', text: '*Alice*: hello *world*', thread_ts: '1700000000.123456' })]);
    });

    it('bot: the configured thread, unless the message replies to a mapped parent', () => {
        const threaded = { bot_token: TOKEN, channel: '+C0123ABC:1700000000.123456' };
        expect(slackTarget.buildRequests(makeInput(slackTarget, threaded)).map(view))
            .toEqual([api('chat.postMessage', { channel: 'C0123ABC', text: '*Alice*: hello *world*', thread_ts: '1700000000.123456' })]);
        expect(slackTarget.buildRequests(makeInput(slackTarget, threaded, { remoteThreadId: 'C0999/1600000000.000001' })).map(view))
            .toEqual([api('chat.postMessage', { channel: 'C0999', text: '*Alice*: hello *world*', thread_ts: '1600000000.000001' })]);
    });

    it('bot: an e-mail target is looked up (users.lookupByEmail), then the message goes to that user', async () => {
        const input = makeInput(slackTarget, { bot_token: TOKEN, channel: 'ann@example.com' });
        const { sent, remoteIds } = await runScripted(slackTarget, input, (request) => (request.url.indexOf('users.lookupByEmail') >= 0
            ? response(200, { ok: true, user: { id: 'U0ANN', name: 'ann' } })
            : response(200, { ok: true, channel: 'D0ANN', ts: '1700000001.000100' })));
        expect(sent.map(view)).toEqual([
            { method: 'GET', url: `${API}/users.lookupByEmail?email=ann%40example.com`, headers: { Authorization: `Bearer ${TOKEN}` } },
            api('chat.postMessage', { channel: 'U0ANN', text: '*Alice*: hello *world*' }),
        ]);
        // The direct message's channel id comes back: edits and deletes need no lookup.
        expect(remoteIds).toEqual(['D0ANN/1700000001.000100']);
        const edit = makeInput(slackTarget, { bot_token: TOKEN, channel: 'ann@example.com' }, { message: { event: 'edited' }, remoteIds });
        expect(slackTarget.buildRequests(edit).map(view)).toEqual([api('chat.update', { channel: 'D0ANN', ts: '1700000001.000100', text: '*Alice*: hello *world*' })]);
    });

    it('a rule channel may be an e-mail address too', () => {
        const requests = slackTarget.buildRequests(makeInput(slackTarget, botRaw, { channel: { channel: 'bob@example.com' } }));
        expect(requests[0].url).toBe(`${API}/users.lookupByEmail?email=bob%40example.com`);
    });

    it.each([
        [response(200, { ok: false, error: 'users_not_found' }), { status: 200, retryable: false, message: 'Slack users.lookupByEmail answered 200: users_not_found (no Slack user has that e-mail address)' }],
        [response(200, { ok: false, error: 'missing_scope', needed: 'users:read.email' }), { status: 200, retryable: false, message: 'Slack users.lookupByEmail answered 200: missing_scope (the bot needs the users:read.email scope)' }],
        [response(200, { ok: false, error: 'ratelimited' }, { 'retry-after': '5' }), { status: 200, retryable: true, retryAfterMs: 5000 }],
        [response(503, 'down'), { status: 503, retryable: true, message: 'Slack users.lookupByEmail answered 503: down' }],
    ])('a failed lookup: %j', (answer, expected) => {
        const input = makeInput(slackTarget, { bot_token: TOKEN, channel: 'ann@example.com' });
        const [lookup] = slackTarget.buildRequests(input);
        const result = outcome(() => slackTarget.readResponse(input, lookup, answer));
        expect(result).toMatchObject(expected);
        expect(JSON.stringify(result)).not.toContain('ann@example.com');
    });
});

describe('slack target: rule channels (checked at configuration time)', () => {
    it.each([
        [botRaw, {}, undefined],
        [{ bot_token: TOKEN }, { channel: 'ann@example.com' }, undefined],
        [{ bot_token: TOKEN }, {}, 'channel: is missing: the instance names no channel, so the rule channel must'],
        [{ bot_token: TOKEN }, { channel_id: 'C0 1' }, 'channel_id: "C0 1" is not #channel'],
        [hookRaw, {}, undefined],
        [hookRaw, { channel: 'ann@example.com' }, 'channel: an e-mail address is looked up with users.lookupByEmail, which needs a bot token'],
        [{ webhook_url: WORKFLOW }, { channel: '#general' }, 'channel: a workflow posts where the workflow was built to; remove the channel'],
    ])('%j with %j', (config, channel, message) => {
        const check = () => slackTarget.checkChannel!(slackTarget.parseConfig(config), channel);
        if (message) expect(check).toThrow(message); else expect(check).not.toThrow();
    });
});
