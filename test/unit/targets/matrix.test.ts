import { matrixTarget } from '../../../src/targets/matrix';
import { fingerprint } from '../../../src/targets/sizing';
import { file, makeInput, outcome, response, runScripted, view } from './harness';

const HS = 'https://matrix.example.org';
const ROOM = '!room1:example.org';
const raw = { homeserver: `${HS}/`, access_token: 'syt_secret', room_id: ROOM };
const HEADERS = { Authorization: 'Bearer syt_secret', 'Content-Type': 'application/json' };
const roomUrl = (room = ROOM) => `${HS}/_matrix/client/v3/rooms/${encodeURIComponent(room)}`;
const profile = { id: 'U1', displayname: 'Alice', has_fallback: true };
const content = (plain: string, html: string, extra: Record<string, unknown> = {}) => ({
    msgtype: 'm.text',
    body: `Alice: ${plain}`,
    format: 'org.matrix.custom.html',
    formatted_body: `<strong>Alice</strong>: ${html}`,
    'm.mentions': {},
    'com.beeper.per_message_profile': profile,
    ...extra,
});
const send = (txn: string, json: Record<string, unknown>, room = ROOM) =>
    ({ method: 'PUT', url: `${roomUrl(room)}/send/m.room.message/${txn}`, headers: HEADERS, json });
const redact = (eventId: string, txn: string) =>
    ({ method: 'PUT', url: `${roomUrl()}/redact/${encodeURIComponent(eventId)}/${txn}`, headers: HEADERS, json: {} });
const edit = (eventId: string, plain: string, html: string) => {
    const newContent = content(plain, html);
    return { ...newContent, body: `* ${newContent.body}`, formatted_body: `* ${newContent.formatted_body}`, 'm.new_content': newContent, 'm.relates_to': { rel_type: 'm.replace', event_id: eventId } };
};
const editTxn = (text: string, part: number) => `rb-MSG1-edited-${fingerprint(`Alice\n${text}`)}-${part}`;
const long = `${'a'.repeat(20000)}\n\n${'b'.repeat(20000)}`;
const wide = `${'é'.repeat(12000)}\n\n${'é'.repeat(12000)}`; // under the character limit, but body + HTML of both exceed the event size

describe('matrix target: requests', () => {
    it.each([
        ['sent: plain body + HTML, name fallback, per-message profile', {}, [send('rb-MSG1-sent-0', content('hello world', 'hello <b>world</b>'))]],
        ['rule channel room_id wins', { channel: { room_id: '!other:example.org' } }, [send('rb-MSG1-sent-0', content('hello world', 'hello <b>world</b>'), '!other:example.org')]],
        [
            'identity: HTML-escaped name, the avatar the shell uploaded (mxc://)',
            { rendered: { alias: 'Bob <B>' }, hostedAvatarUrl: 'mxc://example.org/abc' },
            [send('rb-MSG1-sent-0', {
                ...content('hello world', 'hello <b>world</b>'),
                body: 'Bob <B>: hello world',
                formatted_body: '<strong>Bob &lt;B&gt;</strong>: hello <b>world</b>',
                'com.beeper.per_message_profile': { id: 'U1', displayname: 'Bob <B>', has_fallback: true, avatar_url: 'mxc://example.org/abc' },
            })],
        ],
        [
            'mentions: @room and @here defused, m.mentions empty',
            { rendered: { text: '@room @here @alice' } },
            [send('rb-MSG1-sent-0', content('@\u200Broom @\u200Bhere @alice', '@\u200Broom @\u200Bhere @alice'))],
        ],
        ['multi-line: <br> in HTML', { rendered: { text: 'a\n<b>' } }, [send('rb-MSG1-sent-0', content('a\n<b>', 'a<br>&lt;b&gt;'))]],
        [
            'split at the character limit',
            { rendered: { text: long } },
            [send('rb-MSG1-sent-0', content('a'.repeat(20000), 'a'.repeat(20000))), send('rb-MSG1-sent-1', content('b'.repeat(20000), 'b'.repeat(20000)))],
        ],
        [
            'split by the event byte limit',
            { rendered: { text: wide } },
            [send('rb-MSG1-sent-0', content('é'.repeat(12000), 'é'.repeat(12000))), send('rb-MSG1-sent-1', content('é'.repeat(12000), 'é'.repeat(12000)))],
        ],
        [
            'thread reply: m.thread to the mapped parent, reply fallback',
            { message: { threadId: 'PARENT' }, remoteThreadId: '$parent' },
            [send('rb-MSG1-sent-0', content('hello world', 'hello <b>world</b>', {
                'm.relates_to': { rel_type: 'm.thread', event_id: '$parent', is_falling_back: true, 'm.in_reply_to': { event_id: '$parent' } },
            }))],
        ],
        [
            'files without bytes become links',
            { files: [file('cat.png', 'image/png', false)] },
            [send('rb-MSG1-sent-0', content(
                'hello world\ncat.png (https://chat.example.com/file-upload/cat.png)',
                'hello <b>world</b><br><a href="https://chat.example.com/file-upload/cat.png">cat.png</a>',
            ))],
        ],
        ['nothing to send', { rendered: { text: ' ' } }, []],
        [
            'edited: m.replace with m.new_content and a "* " fallback',
            { message: { event: 'edited' as const }, remoteIds: ['$e1'] },
            [send(editTxn('hello *world*', 0), edit('$e1', 'hello world', 'hello <b>world</b>'))],
        ],
        [
            'edited shorter: surplus parts redacted',
            { message: { event: 'edited' as const }, remoteIds: ['$e1', '$e2'] },
            [send(editTxn('hello *world*', 0), edit('$e1', 'hello world', 'hello <b>world</b>')), redact('$e2', editTxn('hello *world*', 1))],
        ],
        ['deleted: every part redacted', { message: { event: 'deleted' as const }, remoteIds: ['$e1', '$e/2+'] }, [redact('$e1', 'rb-MSG1-deleted-0'), redact('$e/2+', 'rb-MSG1-deleted-1')]],
        ['deleted without remote ids: nothing', { message: { event: 'deleted' as const } }, []],
    ])('%s', (_name, options, expected) => {
        const input = makeInput(matrixTarget, raw, options);
        expect(matrixTarget.buildRequests(input).map(view)).toEqual(expected);
    });

    it('transaction ids are stable for a retry and differ between edits', () => {
        const first = matrixTarget.buildRequests(makeInput(matrixTarget, raw)).map((r) => r.url);
        expect(matrixTarget.buildRequests(makeInput(matrixTarget, raw)).map((r) => r.url)).toEqual(first);
        const editUrl = (text: string) => matrixTarget.buildRequests(makeInput(matrixTarget, raw, { message: { event: 'edited' }, remoteIds: ['$e1'], rendered: { text } }))[0].url;
        expect(editUrl('one')).toBe(editUrl('one'));
        expect(editUrl('one')).not.toBe(editUrl('two'));
    });

    it('profile fields stay within 255 bytes (MSC4144)', () => {
        const json = JSON.parse(matrixTarget.buildRequests(makeInput(matrixTarget, raw, { rendered: { alias: 'é'.repeat(300) } }))[0].body as string);
        const name = json['com.beeper.per_message_profile'].displayname;
        expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
        expect(json.body).toBe(`${name}: hello world`);
    });

    it.each([
        ['uploaded avatar wins over the instance one', 'mxc://example.org/up', 'mxc://example.org/up'],
        ['no upload (fetch or upload failed): the instance avatar', undefined, 'mxc://example.org/bot'],
    ])('avatar: %s', (_name, hostedAvatarUrl, want) => {
        const input = makeInput(matrixTarget, { ...raw, avatar_url: 'mxc://example.org/bot' }, { hostedAvatarUrl });
        expect(JSON.parse(matrixTarget.buildRequests(input)[0].body as string)['com.beeper.per_message_profile'].avatar_url).toBe(want);
    });

    it('an https avatar alone is never put in the profile (clients show only mxc://)', () => {
        const input = makeInput(matrixTarget, raw, { rendered: { avatarUrl: 'https://cdn.example.com/a.png' } });
        expect(JSON.parse(matrixTarget.buildRequests(input)[0].body as string)['com.beeper.per_message_profile'].avatar_url).toBeUndefined();
    });

    it('hostedAvatar: raw upload to the media repository, mxc:// read from content_uri', () => {
        const config = matrixTarget.parseConfig(raw);
        const bytes = new Uint8Array([1, 2, 3]);
        expect(matrixTarget.hostedAvatar!.upload(config, { bytes, mimeType: 'image/png' })).toEqual({
            method: 'POST', url: `${HS}/_matrix/media/v3/upload?filename=avatar`,
            headers: { Authorization: 'Bearer syt_secret', 'Content-Type': 'image/png' }, bytes,
        });
        expect(matrixTarget.hostedAvatar!.scope(config)).toBe(HS);
        expect(matrixTarget.hostedAvatar!.read(response(200, { content_uri: 'mxc://example.org/a' }))).toBe('mxc://example.org/a');
        expect(matrixTarget.hostedAvatar!.read(response(200, { content_uri: 'https://x/a' }))).toBeUndefined();
        expect(matrixTarget.hostedAvatar!.read(response(403, { errcode: 'M_FORBIDDEN' }))).toBeUndefined();
    });

    it('instance avatar_url (mxc) and msgtype notice', () => {
        const input = makeInput(matrixTarget, { ...raw, avatar_url: 'mxc://example.org/bot', msgtype: 'notice' });
        expect(JSON.parse(matrixTarget.buildRequests(input)[0].body as string)).toMatchObject({
            msgtype: 'm.notice', 'com.beeper.per_message_profile': { avatar_url: 'mxc://example.org/bot' },
        });
    });

    it.each([
        [{ ...raw, room_id: undefined }, {}, 'Matrix: no room; set room_id in the rule channel or the instance'],
        [raw, { room_id: 'general' }, 'Matrix: room_id must be a Matrix room id like !abc123:example.org or an alias'],
    ])('unusable room: %j %j', (config, channel, message) => {
        expect(() => matrixTarget.buildRequests(makeInput(matrixTarget, config, { channel }))).toThrow(message);
    });
});

describe('matrix target: uploads', () => {
    const upload = (name: string, type: string) => ({
        method: 'POST', url: `${HS}/_matrix/media/v3/upload?filename=${encodeURIComponent(name)}`,
        headers: { Authorization: 'Bearer syt_secret', 'Content-Type': type }, bytes: 'abc',
    });
    // The homeserver: media → an mxc:// URI, events → their ids.
    const homeserver = () => {
        let next = 0;
        return (request: { url: string }) => (request.url.indexOf('/_matrix/media/') >= 0
            ? response(200, { content_uri: `mxc://example.org/m${++next}` })
            : response(200, { event_id: `$ev${++next}` }));
    };
    const fileEvent = (msgtype: string, name: string, type: string, mxc: string, extra: Record<string, unknown> = {}) => ({
        msgtype, body: name, filename: name, url: mxc, info: { mimetype: type, size: 3 }, 'm.mentions': {},
        'com.beeper.per_message_profile': { ...profile, has_fallback: false }, ...extra,
    });

    it('text, then each file: media upload, then an m.image / m.file event with its mxc:// URI, in the thread', async () => {
        const thread = { rel_type: 'm.thread', event_id: '$root', is_falling_back: true, 'm.in_reply_to': { event_id: '$root' } };
        const input = makeInput(matrixTarget, raw, {
            message: { threadId: 'P' }, remoteThreadId: 'file $root',
            files: [file('cat.png', 'image/png', true), file('a b.txt', 'text/plain', true)],
        });
        const run = await runScripted(matrixTarget, input, homeserver());
        expect(run.sent.map(view)).toEqual([
            send('rb-MSG1-sent-0', content('hello world', 'hello <b>world</b>', { 'm.relates_to': thread })),
            upload('cat.png', 'image/png'),
            send('rb-MSG1-sent-1', fileEvent('m.image', 'cat.png', 'image/png', 'mxc://example.org/m2', { 'm.relates_to': thread })),
            upload('a b.txt', 'text/plain'),
            send('rb-MSG1-sent-2', fileEvent('m.file', 'a b.txt', 'text/plain', 'mxc://example.org/m4', { 'm.relates_to': thread })),
        ]);
        expect(run.remoteIds).toEqual(['$ev1', 'file $ev3', 'file $ev5']);
    });

    it('edits leave file events alone; deletes redact them too', () => {
        const ids = ['$e1', 'file $f1'];
        const edited = matrixTarget.buildRequests(makeInput(matrixTarget, raw, { message: { event: 'edited' }, remoteIds: ids, files: [file('cat.png', 'image/png', false)] }));
        expect(edited.map(view)).toEqual([send(editTxn('hello *world*', 0), edit('$e1', 'hello world', 'hello <b>world</b>'))]);
        const deleted = matrixTarget.buildRequests(makeInput(matrixTarget, raw, { message: { event: 'deleted' }, remoteIds: ids }));
        expect(deleted.map(view)).toEqual([redact('$e1', 'rb-MSG1-deleted-0'), redact('$f1', 'rb-MSG1-deleted-1')]);
    });

    it.each([
        ['an mxc:// URI is carried', response(200, { content_uri: 'mxc://example.org/x' }), { carry: { 'media.0': 'mxc://example.org/x' } }],
        [
            'no content_uri',
            response(200, {}),
            { error: 'TargetError', message: 'Matrix answered 200 to a media upload without an mxc:// content_uri', status: 200, retryable: false },
        ],
        [
            'too large',
            response(413, { errcode: 'M_TOO_LARGE', error: 'Cannot upload files larger than 50M' }),
            { error: 'TargetError', message: 'Matrix answered 413: M_TOO_LARGE: Cannot upload files larger than 50M', status: 413, retryable: false },
        ],
    ])('media upload answer: %s', (_name, result, expected) => {
        const request = { method: 'POST' as const, url: `${HS}/_matrix/media/v3/upload`, headers: {}, bytes: new Uint8Array([1]), tag: 'media.0' };
        expect(outcome(() => matrixTarget.readResponse(makeInput(matrixTarget, raw), request, result))).toEqual(expected);
    });
});

describe('matrix target: responses', () => {
    const sent = makeInput(matrixTarget, raw);
    const edited = makeInput(matrixTarget, raw, { message: { event: 'edited' }, remoteIds: ['$e1'] });
    const sendRequest = { method: 'PUT' as const, url: `${roomUrl()}/send/m.room.message/rb-MSG1-sent-0`, headers: {} };
    const redactRequest = { method: 'PUT' as const, url: `${roomUrl()}/redact/%24e1/rb-MSG1-deleted-0`, headers: {} };
    it.each([
        ['event id', sent, sendRequest, response(200, { event_id: '$new' }), { remoteId: '$new' }],
        ['edit: the map keeps the original ids', edited, sendRequest, response(200, { event_id: '$edit' }), {}],
        ['redaction', sent, redactRequest, response(200, { event_id: '$redaction' }), {}],
        ['redaction of an unknown event: already gone', sent, redactRequest, response(404, { errcode: 'M_NOT_FOUND', error: 'Event not found' }), {}],
        [
            '200 without event_id',
            sent, sendRequest, response(200, {}),
            { error: 'TargetError', message: 'Matrix answered 200 without an event_id', status: 200, retryable: false },
        ],
        [
            '429 M_LIMIT_EXCEEDED: retry after retry_after_ms',
            sent, sendRequest, response(429, { errcode: 'M_LIMIT_EXCEEDED', error: 'Too many requests', retry_after_ms: 2345 }, { 'retry-after': '3' }),
            { error: 'TargetError', message: 'Matrix answered 429: M_LIMIT_EXCEEDED: Too many requests', status: 429, retryable: true, retryAfterMs: 2345 },
        ],
        [
            '429 without retry_after_ms: Retry-After header',
            sent, sendRequest, response(429, { errcode: 'M_LIMIT_EXCEEDED', error: 'Too many requests' }, { 'retry-after': '3' }),
            { error: 'TargetError', message: 'Matrix answered 429: M_LIMIT_EXCEEDED: Too many requests', status: 429, retryable: true, retryAfterMs: 3000 },
        ],
        [
            '401 M_UNKNOWN_TOKEN with a configured token is final, with a hint',
            sent, sendRequest, response(401, { errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.' }),
            {
                error: 'TargetError', status: 401, retryable: false,
                message: 'Matrix answered 401: M_UNKNOWN_TOKEN: Invalid access token passed. (the access token was rejected: expired or logged out)',
            },
        ],
        [
            '403 M_FORBIDDEN (not in the room) is final',
            sent, sendRequest, response(403, { errcode: 'M_FORBIDDEN', error: 'User not in room' }),
            { error: 'TargetError', message: 'Matrix answered 403: M_FORBIDDEN: User not in room', status: 403, retryable: false },
        ],
        [
            '502 from a proxy is retried',
            sent, sendRequest, response(502, 'bad gateway'),
            { error: 'TargetError', message: 'Matrix answered 502: bad gateway', status: 502, retryable: true, retryAfterMs: undefined },
        ],
    ])('%s', (_name, input, request, result, expected) => {
        expect(outcome(() => matrixTarget.readResponse(input, request, result))).toEqual(expected);
    });
});

describe('matrix target: config', () => {
    it.each([
        [{}, 'homeserver: is required'],
        [{ homeserver: 'ftp://x' }, 'homeserver: must use http or https'],
        [{ homeserver: HS }, 'access_token: is required (an access token of the account that posts), or user and password to log in'],
        [{ homeserver: HS, user: 'bot' }, 'access_token: is required'],
        [{ ...raw, password: 'pw' }, 'access_token: give either access_token or user + password (login), not both'],
        [{ ...raw, room_id: 'general' }, 'room_id: must be a Matrix room id like !abc123:example.org or an alias like #room:example.org, got "general"'],
        [{ ...raw, mode: 'on' }, 'mode: must be client (off) or one of the webhook modes t2bot, matrix, slack, hookshot, got "on"'],
        [{ mode: 'hookshot' }, 'webhook_url: is required (the hookshot webhook URL)'],
        [{ mode: 't2bot', webhook_url: 'https://webhooks.t2bot.io/api/v1/matrix/hook/short' }, 'webhook_url: must be https://webhooks.t2bot.io/api/v1/matrix/hook/{64-character webhook id}'],
        [{ ...raw, msgtype: 'emote' }, 'msgtype: must be text or notice, got "emote"'],
        [{ ...raw, avatar_url: 'https://x/a.png' }, 'avatar_url: must be an mxc:// URL'],
        [{ ...raw, rate_limit: 5 }, 'rate_limit: must be an object like { "per_second": 0.2, "burst_count": 10 }'],
        [{ ...raw, rate_limit: { per_second: 0, burst_count: 10 } }, 'rate_limit.per_second: must be a number of messages a second above 0'],
        [{ ...raw, rate_limit: { per_second: 'fast', burst_count: 10 } }, 'rate_limit.per_second: must be a number'],
        [{ ...raw, rate_limit: { per_second: 0.2 } }, 'rate_limit.burst_count: is required with per_second'],
        [{ ...raw, rate_limit: { per_second: 0.2, burst_count: 2.5 } }, 'rate_limit.burst_count: must be a positive whole number'],
    ])('%j → %s', (config, message) => {
        expect(() => matrixTarget.parseConfig(config)).toThrow(message);
    });

    it("a declared rc_message becomes the account's published budget: burst_count at once, draining at per_second", () => {
        const limits = (config: Record<string, unknown>) => matrixTarget.rateLimits!.published!(matrixTarget.parseConfig(config), {});
        expect(limits({ ...raw, rate_limit: { per_second: 0.2, burst_count: 10 } })).toEqual([{ requests: 10, perMs: 50000, leaky: true }]);
        expect(limits({ ...raw, rate_limit: { per_second: '2', burst_count: '5' } })).toEqual([{ requests: 5, perMs: 2500, leaky: true }]);
        expect(limits(raw)).toEqual([]); // not declared: learned from the first 429
    });

    it('homeserver given with the API path is trimmed', () => {
        expect(matrixTarget.parseConfig({ ...raw, homeserver: `${HS}/_matrix/client/v3` }).homeserver).toBe(HS);
    });

    it('describe shows the homeserver and room, not the token', () => {
        expect(matrixTarget.describe(matrixTarget.parseConfig(raw))).toBe(`matrix ${HS} room ${ROOM}`);
    });

    it('one account\'s rooms share one rate budget (Synapse limits per account), keyed without the token', () => {
        const budget = (config: Record<string, unknown>) => matrixTarget.rateLimits!.sharedBy!(matrixTarget.parseConfig(config));
        expect(budget({ ...raw, room_id: '!other:example.org' })).toBe(budget(raw));
        expect(budget({ ...raw, access_token: 'syt_another' })).not.toBe(budget(raw));
        expect(budget({ ...raw, homeserver: 'https://other.example.org' })).not.toBe(budget(raw));
        expect(budget(raw)).not.toContain('syt_secret');
        expect(budget({ homeserver: HS, user: 'relay', password: 'pw', room_id: ROOM })).toBe(budget({ homeserver: HS, user: 'relay', password: 'pw', room_id: '!other:example.org' }));
    });
});

describe('matrix target: the requests its limit counts (rc_message)', () => {
    const counts = (request: { url: string }) => matrixTarget.rateLimits!.counts!(request as any);

    it('events sent and redactions count; media uploads, logins and joins do not; a webhook bridge\'s posts do', async () => {
        const input = makeInput(matrixTarget, raw, { files: [file('cat.png', 'image/png', true)] });
        const run = await runScripted(matrixTarget, input, (request: { url: string }) => (request.url.indexOf('/_matrix/media/') >= 0 ? response(200, { content_uri: 'mxc://example.org/m1' }) : response(200, { event_id: '$ev' })));
        expect(run.sent.map((request: { url: string }) => [request.url.replace(HS, '').split('?')[0].replace(/\/[^/]+$/, '/…'), counts(request)])).toEqual([
            [`/_matrix/client/v3/rooms/${encodeURIComponent(ROOM)}/send/m.room.message/…`, true],
            ['/_matrix/media/v3/…', false],
            [`/_matrix/client/v3/rooms/${encodeURIComponent(ROOM)}/send/m.room.message/…`, true],
        ]);
        const deleted = matrixTarget.buildRequests(makeInput(matrixTarget, raw, { message: { event: 'deleted' }, remoteIds: ['$e1'] }));
        expect(deleted.map(counts)).toEqual([true]);
        const config = matrixTarget.parseConfig({ homeserver: HS, user: 'relay', password: 'pw', room_id: ROOM });
        expect(counts(matrixTarget.keptSession!.login(config))).toBe(false);
        expect(counts({ url: `${HS}/_matrix/client/v3/join/${encodeURIComponent('#room:example.org')}` })).toBe(false);
        const webhook = matrixTarget.buildRequests(makeInput(matrixTarget, { mode: 't2bot', webhook_url: `https://webhooks.t2bot.io/api/v1/matrix/hook/${'a'.repeat(64)}` }, {}));
        expect(webhook.map(counts)).toEqual([true]);
    });
});

describe('matrix target: password login (kept session)', () => {
    const login = { homeserver: HS, user: 'relay', password: 'pa55word', room_id: ROOM };
    const session = { access_token: 'syt_from_login', user_id: '@relay:example.org', device_id: 'DEV1' };
    const kept = matrixTarget.keptSession!;

    it('logs in with m.login.password, a device name the first time and the same device after', () => {
        const config = matrixTarget.parseConfig(login);
        expect(view(kept.login(config))).toEqual({
            method: 'POST', url: `${HS}/_matrix/client/v3/login`, headers: { 'Content-Type': 'application/json' },
            json: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'relay' }, password: 'pa55word', initial_device_display_name: 'Relay Bridge' },
        });
        expect(view(kept.login(config, session)).json).toEqual({
            type: 'm.login.password', identifier: { type: 'm.id.user', user: 'relay' }, password: 'pa55word', device_id: 'DEV1',
        });
    });

    it('keeps the token, user id and device id; the scope names server and user, not the password', () => {
        const config = matrixTarget.parseConfig(login);
        expect(kept.read(config, response(200, { ...session, home_server: 'example.org' }))).toEqual(session);
        const scope = kept.scope(config) as string;
        expect(scope).toContain(HS);
        expect(scope).toContain('relay');
        expect(scope).not.toContain('pa55word');
        expect(kept.scope(matrixTarget.parseConfig({ ...login, password: 'other' }))).not.toBe(scope);
        expect(kept.scope(matrixTarget.parseConfig(raw))).toBeUndefined();
    });

    it.each([
        [response(403, { errcode: 'M_FORBIDDEN', error: 'Invalid username or password' }), { error: 'TargetError', status: 403, retryable: false, message: 'Matrix login as relay failed: Matrix answered 403: M_FORBIDDEN: Invalid username or password' }],
        [response(429, { errcode: 'M_LIMIT_EXCEEDED' }, { 'retry-after': '2' }), { error: 'TargetError', status: 429, retryable: true, retryAfterMs: 2000, message: 'Matrix login as relay failed: Matrix answered 429: M_LIMIT_EXCEEDED' }],
        [response(200, {}), { error: 'TargetError', status: 200, retryable: false, message: 'Matrix login as relay failed: Matrix answered 200: {}' }],
    ])('a failed login: %j', (answer, expected) => {
        expect(outcome(() => kept.read(matrixTarget.parseConfig(login), answer))).toMatchObject(expected);
    });

    it('sends with the session token; a rejected token is a SessionRejected (the shell logs in again)', () => {
        const input = makeInput(matrixTarget, login, { session });
        const [request] = matrixTarget.buildRequests(input);
        expect(request.headers.Authorization).toBe('Bearer syt_from_login');
        expect(outcome(() => matrixTarget.readResponse(input, request, response(401, { errcode: 'M_UNKNOWN_TOKEN', error: 'Access token has expired', soft_logout: true }))))
            .toEqual({ error: 'SessionRejected', status: 401, retryable: true, retryAfterMs: undefined, message: 'Matrix answered 401: M_UNKNOWN_TOKEN: Access token has expired' });
    });

    it('without a session there is no token to send with', () => {
        expect(() => matrixTarget.buildRequests(makeInput(matrixTarget, login))).toThrow('Matrix: no access token');
    });

    it('password-login configurations do not copy avatars outside a delivery', () => {
        expect(matrixTarget.hostedAvatar!.scope(matrixTarget.parseConfig(login))).toBeUndefined();
    });
});

describe('matrix target: room aliases', () => {
    const alias = { ...raw, room_id: '#general:example.org' };
    const join = (room: string) => ({ method: 'POST', url: `${HS}/_matrix/client/v3/join/${encodeURIComponent(room)}`, headers: HEADERS, json: {} });

    it('a new message joins the alias (a no-op when joined), then sends to the room id it answered', async () => {
        const { sent, remoteIds, carried } = await runScripted(matrixTarget, makeInput(matrixTarget, alias), (request, index) =>
            (index === 0 ? response(200, { room_id: '!resolved:example.org' }) : response(200, { event_id: '$e1' })));
        expect(sent.map(view)).toEqual([join('#general:example.org'), send('rb-MSG1-sent-0', content('hello world', 'hello <b>world</b>'), '!resolved:example.org')]);
        expect(remoteIds).toEqual(['$e1']);
        expect(carried).toEqual({ room: '!resolved:example.org' });
    });

    it('an alias without a server takes the login\'s server name, else the homeserver host', () => {
        const withSession = makeInput(matrixTarget, { homeserver: HS, user: 'relay', password: 'pw' }, { channel: { room_id: '#ops' }, session: { access_token: 't', user_id: '@relay:example.net' } });
        expect(matrixTarget.buildRequests(withSession)[0].url).toBe(`${HS}/_matrix/client/v3/join/${encodeURIComponent('#ops:example.net')}`);
        const withToken = makeInput(matrixTarget, { ...raw, room_id: '#ops' });
        expect(matrixTarget.buildRequests(withToken)[0].url).toBe(`${HS}/_matrix/client/v3/join/${encodeURIComponent('#ops:matrix.example.org')}`);
    });

    it('edits and deletes look the alias up in the room directory', async () => {
        const input = makeInput(matrixTarget, alias, { message: { event: 'deleted' }, remoteIds: ['$e1'] });
        const { sent } = await runScripted(matrixTarget, input, (_request, index) =>
            (index === 0 ? response(200, { room_id: '!resolved:example.org', servers: ['example.org'] }) : response(200, { event_id: '$r' })));
        expect(sent.map(view)).toEqual([
            { method: 'GET', url: `${HS}/_matrix/client/v3/directory/room/${encodeURIComponent('#general:example.org')}`, headers: { Authorization: 'Bearer syt_secret' } },
            { method: 'PUT', url: `${roomUrl('!resolved:example.org')}/redact/${encodeURIComponent('$e1')}/rb-MSG1-deleted-0`, headers: HEADERS, json: {} },
        ]);
    });

    it.each([
        [response(404, { errcode: 'M_NOT_FOUND', error: 'Room alias not found' }), { status: 404, retryable: false, message: 'Matrix answered 404 for #general:example.org: no such room alias (M_NOT_FOUND: Room alias not found)' }],
        [response(403, { errcode: 'M_FORBIDDEN', error: 'You are not invited to this room.' }), { status: 403, retryable: false, message: 'Matrix answered 403 for #general:example.org: the account may not join the room (invite it first) (M_FORBIDDEN: You are not invited to this room.)' }],
        [response(200, {}), { status: 200, retryable: false, message: 'Matrix answered 200 to the room alias without a room_id' }],
    ])('a failed alias lookup: %j', (answer, expected) => {
        const input = makeInput(matrixTarget, alias);
        const [lookup] = matrixTarget.buildRequests(input);
        expect(outcome(() => matrixTarget.readResponse(input, lookup, answer))).toMatchObject(expected);
    });
});

describe('matrix target: webhook bridges', () => {
    const T2BOT = `https://webhooks.t2bot.io/api/v1/matrix/hook/${'a'.repeat(64)}`;
    const JSON_HEADERS = { 'Content-Type': 'application/json' };
    it.each([
        ['t2bot: matrix-appservice-webhooks payload, name and avatar', { mode: 't2bot', webhook_url: T2BOT }, {},
            { method: 'POST', url: T2BOT, headers: JSON_HEADERS, json: { text: 'hello <b>world</b>', format: 'html', displayName: 'Alice', avatarUrl: 'https://cdn.example.com/alice.png' } }],
        ['matrix: the same payload to the bridge\'s hook path; botname when the message has no alias', { mode: 'matrix', webhook_url: 'https://hooks.example.org/api/v1/matrix/hook/tok', botname: 'relay' }, { rendered: { alias: '' } },
            { method: 'POST', url: 'https://hooks.example.org/api/v1/matrix/hook/tok', headers: JSON_HEADERS, json: { text: 'hello <b>world</b>', format: 'html', displayName: 'relay', avatarUrl: 'https://cdn.example.com/alice.png' } }],
        ['slack: Slack\'s payload (mrkdwn)', { mode: 'slack', webhook_url: 'https://hooks.example.org/api/v1/matrix/hook/tok' }, {},
            { method: 'POST', url: 'https://hooks.example.org/api/v1/matrix/hook/tok', headers: JSON_HEADERS, json: { text: 'hello *world*', mrkdwn: true, username: 'Alice', icon_url: 'https://cdn.example.com/alice.png' } }],
        ['hookshot: text, html and username; files as links', { mode: 'hookshot', webhook_url: 'https://hookshot.example/webhook/tok' }, { files: [file('cat.png', 'image/png', true)] },
            { method: 'POST', url: 'https://hookshot.example/webhook/tok', headers: JSON_HEADERS, json: {
                text: 'hello world\ncat.png (https://chat.example.com/file-upload/cat.png)',
                html: 'hello <b>world</b><br><a href="https://chat.example.com/file-upload/cat.png">cat.png</a>',
                username: 'Alice',
            } }],
    ])('%s', (_name, config, options, expected) => {
        expect(matrixTarget.buildRequests(makeInput(matrixTarget, config, options)).map(view)).toEqual([expected]);
    });

    it('webhooks post new messages only (no event ids to edit or delete)', () => {
        const config = { mode: 't2bot', webhook_url: T2BOT };
        expect(matrixTarget.buildRequests(makeInput(matrixTarget, config, { message: { event: 'edited' }, remoteIds: ['x'] }))).toEqual([]);
        expect(matrixTarget.buildRequests(makeInput(matrixTarget, config, { message: { event: 'deleted' }, remoteIds: ['x'] }))).toEqual([]);
    });

    it('answers: 2xx is done, anything else a TargetError', () => {
        const input = makeInput(matrixTarget, { mode: 't2bot', webhook_url: T2BOT });
        const [request] = matrixTarget.buildRequests(input);
        expect(matrixTarget.readResponse(input, request, response(200, { success: true }))).toEqual({});
        expect(outcome(() => matrixTarget.readResponse(input, request, response(404, 'no hook')))).toMatchObject({ status: 404, retryable: false, message: 'Matrix t2bot webhook answered 404: no hook' });
        expect(matrixTarget.endpoints(input.config)).toEqual([T2BOT]);
    });
});

describe('matrix target: rule channels (checked at configuration time)', () => {
    const T2BOT = { mode: 't2bot', webhook_url: `https://webhooks.t2bot.io/api/v1/matrix/hook/${'a'.repeat(64)}` };
    it.each([
        [raw, {}, undefined],
        [{ ...raw, room_id: undefined }, { room_id: '#ops:example.org' }, undefined],
        [{ ...raw, room_id: undefined }, {}, 'room_id: is missing: the instance names no room, so the rule channel must'],
        [raw, { room_id: 'ops' }, 'room_id: must be a Matrix room id like !abc123:example.org or an alias'],
        [T2BOT, {}, undefined],
        [T2BOT, { room_id: '!r:x' }, 'room_id: a t2bot webhook posts into the room it was made for; remove the room'],
    ])('%j with %j', (config, channel, message) => {
        const check = () => matrixTarget.checkChannel!(matrixTarget.parseConfig(config), channel);
        if (message) expect(check).toThrow(message); else expect(check).not.toThrow();
    });
});
