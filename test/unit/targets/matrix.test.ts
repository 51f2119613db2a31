import { matrixTarget } from '../../../src/targets/matrix';
import { fingerprint } from '../../../src/targets/sizing';
import { file, makeInput, outcome, response, view } from './harness';

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
            'identity: HTML-escaped name, no avatar unless mxc://',
            { rendered: { alias: 'Bob <B>', avatarUrl: 'mxc://example.org/abc' } },
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
            'files become links',
            { files: [file('cat.png', 'image/png', true)] },
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

    it('instance avatar_url (mxc) and msgtype notice', () => {
        const input = makeInput(matrixTarget, { ...raw, avatar_url: 'mxc://example.org/bot', msgtype: 'notice' });
        expect(JSON.parse(matrixTarget.buildRequests(input)[0].body as string)).toMatchObject({
            msgtype: 'm.notice', 'com.beeper.per_message_profile': { avatar_url: 'mxc://example.org/bot' },
        });
    });

    it.each([
        [{ ...raw, room_id: undefined }, {}, 'Matrix: no room; set room_id in the rule channel or the instance'],
        [raw, { room_id: '#general:example.org' }, 'Matrix: room_id "#general:example.org" is a room alias'],
    ])('unusable room: %j %j', (config, channel, message) => {
        expect(() => matrixTarget.buildRequests(makeInput(matrixTarget, config, { channel }))).toThrow(message);
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
            '401 M_UNKNOWN_TOKEN is final, with a hint',
            sent, sendRequest, response(401, { errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.' }),
            {
                error: 'TargetError', status: 401, retryable: false,
                message: 'Matrix answered 401: M_UNKNOWN_TOKEN: Invalid access token passed. (the access token was rejected; password login is not supported, create an access token)',
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
        [{ homeserver: HS }, 'access_token: is required'],
        [{ ...raw, room_id: '#general:example.org' }, 'room_id: "#general:example.org" is a room alias; aliases need a directory lookup, so give the room id'],
        [{ ...raw, room_id: 'general' }, 'room_id: must be a Matrix room id like !abc123:example.org, got "general"'],
        [{ ...raw, msgtype: 'emote' }, 'msgtype: must be text or notice, got "emote"'],
        [{ ...raw, avatar_url: 'https://x/a.png' }, 'avatar_url: must be an mxc:// URL'],
    ])('%j → %s', (config, message) => {
        expect(() => matrixTarget.parseConfig(config)).toThrow(message);
    });

    it('homeserver given with the API path is trimmed', () => {
        expect(matrixTarget.parseConfig({ ...raw, homeserver: `${HS}/_matrix/client/v3` }).homeserver).toBe(HS);
    });

    it('describe shows the homeserver and room, not the token', () => {
        expect(matrixTarget.describe(matrixTarget.parseConfig(raw))).toBe(`matrix ${HS} room ${ROOM}`);
    });
});
