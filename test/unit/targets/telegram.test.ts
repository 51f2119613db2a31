import { decodeRemoteId, telegramTarget } from '../../../src/targets/telegram';
import { bytesOf, file, makeInput, outcome, response, view } from './harness';

const TOKEN = '123456789:AAH-tok_EN';
const API = `https://api.telegram.org/bot${TOKEN}`;
const raw = { bot_token: TOKEN, chat_id: '-1001234567890' };
// Link previews are off unless asked for (Apprise's default).
const NO_PREVIEW = { link_preview_options: { is_disabled: true } };
const CHAT = -1001234567890;
const JSON_HEADERS = { 'Content-Type': 'application/json' };
const call = (method: string, json: Record<string, unknown>) => ({ method: 'POST', url: `${API}/${method}`, headers: JSON_HEADERS, json });
const sendMessage = (text: string, extra: Record<string, unknown> = {}) => call('sendMessage', { chat_id: CHAT, text, parse_mode: 'HTML', ...NO_PREVIEW, ...extra });
const upload = (method: string, field: string, name: string, type: string, caption?: string, extra: Array<{ name: string; value: string }> = []) => ({
    method: 'POST', url: `${API}/${method}`, headers: {},
    multipart: [
        { name: 'chat_id', value: String(CHAT) },
        ...extra,
        ...(caption ? [{ name: 'caption', value: caption }, { name: 'parse_mode', value: 'HTML' }] : []),
        { name: field, filename: name, contentType: type, bytes: 'abc' },
    ],
});
const long = `${'a'.repeat(3000)}\n\n${'b'.repeat(3000)}`;

describe('telegram target: requests', () => {
    it.each([
        ['sent: name in bold, markdown as HTML', {}, [sendMessage('<b>Alice</b>: hello <b>world</b>')]],
        ['HTML escaped, name too', { rendered: { alias: 'A&B', text: '1 < 2' } }, [sendMessage('<b>A&amp;B</b>: 1 &lt; 2')]],
        ['mentions neutralised', { rendered: { text: '@all hi' } }, [sendMessage('<b>Alice</b>: @\u200Ball hi')]],
        ['rule channel chat_id and topic win', { channel: { chat_id: '@mychannel', message_thread_id: '77' } }, [
            sendMessage('<b>Alice</b>: hello <b>world</b>', { chat_id: '@mychannel', message_thread_id: 77 }),
        ]],
        [
            'split at 4096 with the name on every part',
            { rendered: { text: long } },
            [sendMessage(`<b>Alice</b>: ${'a'.repeat(3000)}`), sendMessage(`<b>Alice</b>: ${'b'.repeat(3000)}`)],
        ],
        [
            'thread reply: reply_parameters with the mapped parent',
            { message: { threadId: 'PARENT' }, remoteThreadId: `${CHAT}/42` },
            [sendMessage('<b>Alice</b>: hello <b>world</b>', { reply_parameters: { message_id: 42, allow_sending_without_reply: true } })],
        ],
        [
            'files without bytes become links',
            { files: [file('cat.png', 'image/png', false)] },
            [sendMessage('<b>Alice</b>: hello <b>world</b>\n<a href="https://chat.example.com/file-upload/cat.png">cat.png</a>')],
        ],
        [
            'image with bytes: sendPhoto carrying the text as caption',
            { files: [file('cat.png', 'image/png', true)] },
            [upload('sendPhoto', 'photo', 'cat.png', 'image/png', '<b>Alice</b>: hello <b>world</b>')],
        ],
        [
            'other file: sendDocument; a second file gets the name only',
            { files: [file('a.txt', 'text/plain', true), file('b.gif', 'image/gif', true)] },
            [
                upload('sendDocument', 'document', 'a.txt', 'text/plain', '<b>Alice</b>: hello <b>world</b>'),
                upload('sendDocument', 'document', 'b.gif', 'image/gif', '<b>Alice</b>'),
            ],
        ],
        [
            'text over the caption limit goes first; the upload in a thread keeps reply_parameters',
            { rendered: { text: 'x'.repeat(1100) }, files: [file('cat.png', 'image/png', true)], remoteThreadId: `${CHAT}/42`, message: { threadId: 'P' } },
            [
                sendMessage(`<b>Alice</b>: ${'x'.repeat(1100)}`, { reply_parameters: { message_id: 42, allow_sending_without_reply: true } }),
                upload('sendPhoto', 'photo', 'cat.png', 'image/png', '<b>Alice</b>', [{ name: 'reply_parameters', value: '{"message_id":42,"allow_sending_without_reply":true}' }]),
            ],
        ],
        ['nothing to send', { rendered: { text: '' } }, []],
        [
            'edited: editMessageText per text part, surplus parts deleted, files untouched',
            { message: { event: 'edited' as const }, remoteIds: [`${CHAT}/10`, `${CHAT}/11`, `${CHAT}/12/media`] },
            [
                call('editMessageText', { chat_id: CHAT, message_id: 10, text: '<b>Alice</b>: hello <b>world</b>', parse_mode: 'HTML', ...NO_PREVIEW }),
                call('deleteMessage', { chat_id: CHAT, message_id: 11 }),
            ],
        ],
        [
            'edited: the text rode on an upload: editMessageCaption',
            { message: { event: 'edited' as const }, remoteIds: [`${CHAT}/10/caption`] },
            [call('editMessageCaption', { chat_id: CHAT, message_id: 10, caption: '<b>Alice</b>: hello <b>world</b>', parse_mode: 'HTML' })],
        ],
        [
            'deleted: every part, files too',
            { message: { event: 'deleted' as const }, remoteIds: [`${CHAT}/10`, `${CHAT}/12/media`] },
            [call('deleteMessage', { chat_id: CHAT, message_id: 10 }), call('deleteMessage', { chat_id: CHAT, message_id: 12 })],
        ],
    ])('%s', (_name, options, expected) => {
        const input = makeInput(telegramTarget, raw, options);
        expect(telegramTarget.buildRequests(input).map(view)).toEqual(expected);
    });

    it('instance options: topic, silent, link previews, api_url', () => {
        const input = makeInput(telegramTarget, { ...raw, message_thread_id: '5', silent: true, link_preview: true, api_url: 'http://127.0.0.1:8081/' });
        expect(telegramTarget.buildRequests(input).map(view)).toEqual([{
            method: 'POST', url: `http://127.0.0.1:8081/bot${TOKEN}/sendMessage`, headers: JSON_HEADERS,
            json: {
                chat_id: CHAT, message_thread_id: 5, disable_notification: true, text: '<b>Alice</b>: hello <b>world</b>',
                parse_mode: 'HTML',
            },
        }]);
    });

    it('a very long name is cut so it never crowds out the text', () => {
        const input = makeInput(telegramTarget, raw, { rendered: { alias: 'n'.repeat(5000) } });
        expect(JSON.parse(telegramTarget.buildRequests(input)[0].body as string).text).toBe(`<b>${'n'.repeat(127)}\u2026</b>: hello <b>world</b>`);
    });

    it('large files: photos over 10 MB as documents, over 50 MB as links', () => {
        const big = (name: string, size: number) => ({ ...file(name, 'image/jpeg', true), size, bytes: new Uint8Array(size) });
        const input = makeInput(telegramTarget, raw, { rendered: { text: '' }, files: [big('a.jpg', 11 * 1024 * 1024), big('b.jpg', 51 * 1024 * 1024)] });
        const requests = telegramTarget.buildRequests(input);
        expect(requests.map((request) => request.url.split('/').pop())).toEqual(['sendDocument']);
        expect((requests[0].multipart || []).map((part) => part.name)).toEqual(['chat_id', 'caption', 'parse_mode', 'document']);
        // The link to the file too big to upload is the text, so it rides as the caption.
        expect((requests[0].multipart || [])[1].value).toBe('<b>Alice</b>: <a href="https://chat.example.com/file-upload/b.jpg">b.jpg</a>');
    });
});

describe('telegram target: responses', () => {
    const sent = makeInput(telegramTarget, raw);
    const edited = makeInput(telegramTarget, raw, { message: { event: 'edited' }, remoteIds: [`${CHAT}/10`] });
    const textRequest = { method: 'POST' as const, url: `${API}/sendMessage`, headers: {} };
    const captionUpload = {
        method: 'POST' as const, url: `${API}/sendPhoto`, headers: {},
        multipart: [{ name: 'caption', value: '<b>Alice</b>: hi' }, { name: 'photo', file: { filename: 'a.png', contentType: 'image/png', bytes: bytesOf('abc') } }],
    };
    const mediaUpload = { ...captionUpload, multipart: [{ name: 'caption', value: '<b>Alice</b>' }] };
    const message = (id: number) => response(200, { ok: true, result: { message_id: id, chat: { id: CHAT, type: 'supergroup' }, date: 1 } });
    const failure = (status: number, description: string, parameters?: Record<string, unknown>) =>
        response(status, { ok: false, error_code: status, description, ...(parameters ? { parameters } : {}) });
    it.each([
        ['message id with its chat', sent, textRequest, message(7), { remoteId: `${CHAT}/7` }],
        ['upload carrying the text', sent, captionUpload, message(8), { remoteId: `${CHAT}/8/caption` }],
        ['upload with the name only', sent, mediaUpload, message(9), { remoteId: `${CHAT}/9/media` }],
        ['edit: the map keeps its ids', edited, textRequest, message(10), {}],
        ['deleteMessage answers true', edited, { ...textRequest, url: `${API}/deleteMessage` }, response(200, { ok: true, result: true }), {}],
        ['delete of a gone message', edited, { ...textRequest, url: `${API}/deleteMessage` }, failure(400, 'Bad Request: message to delete not found'), {}],
        ['edit that changes nothing', edited, { ...textRequest, url: `${API}/editMessageText` }, failure(400, 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same'), {}],
        [
            '429 retry_after seconds from parameters',
            sent, textRequest, failure(429, 'Too Many Requests: retry after 5', { retry_after: 5 }),
            { error: 'TargetError', message: 'Telegram sendMessage answered 429: Too Many Requests: retry after 5', status: 429, retryable: true, retryAfterMs: 5000 },
        ],
        [
            '400 group upgraded: says where it went',
            sent, textRequest, failure(400, 'Bad Request: group chat was upgraded to a supergroup chat', { migrate_to_chat_id: -1009 }),
            {
                error: 'TargetError', status: 400, retryable: false,
                message: 'Telegram sendMessage answered 400: Bad Request: group chat was upgraded to a supergroup chat (the group is now a supergroup: set chat_id to -1009)',
            },
        ],
        [
            '403 bot kicked is final',
            sent, textRequest, failure(403, 'Forbidden: bot was kicked from the supergroup chat'),
            { error: 'TargetError', message: 'Telegram sendMessage answered 403: Forbidden: bot was kicked from the supergroup chat', status: 403, retryable: false },
        ],
    ])('%s', (_name, input, request, result, expected) => {
        expect(outcome(() => telegramTarget.readResponse(input, request, result))).toEqual(expected);
    });

    it.each([
        ['-100123/7', { chatId: '-100123', messageId: 7, kind: 'text' }],
        ['-100123/8/caption', { chatId: '-100123', messageId: 8, kind: 'caption' }],
        ['@chan/9/media', { chatId: '@chan', messageId: 9, kind: 'media' }],
    ])('decodeRemoteId(%s)', (remoteId, expected) => {
        expect(decodeRemoteId(remoteId)).toEqual(expected);
    });
});

describe('telegram target: config', () => {
    it.each([
        [{}, 'bot_token: is required (from BotFather)'],
        [{ bot_token: 'nope' }, 'bot_token: must look like 123456789:AAH…'],
        [{ ...raw, chat_id: 'general' }, 'chat_id: must be a numeric chat id or @channelusername, got "general"'],
        [{ ...raw, message_thread_id: 'x' }, 'message_thread_id: must be a numeric forum topic id, got "x"'],
        [{ ...raw, api_url: 'http://api.telegram.org' }, 'api_url: must be an https URL (http only for localhost)'],
        [{ ...raw, silent: 'maybe' }, 'silent: must be true or false'],
    ])('%j → %s', (config, message) => {
        expect(() => telegramTarget.parseConfig(config)).toThrow(message);
    });

    it('accepts the bot prefix as BotFather URLs show it', () => {
        expect(telegramTarget.parseConfig({ ...raw, bot_token: `bot${TOKEN}` }).botToken).toBe(TOKEN);
    });

    it('describe shows the bot id, not its secret', () => {
        expect(telegramTarget.describe(telegramTarget.parseConfig({ ...raw, message_thread_id: '5' }))).toBe('telegram bot 123456789 chat -1001234567890 topic 5');
    });
});

describe('telegram target: several chats (issue 16)', () => {
    it('an instance without a chat sends to the chat each destination names', () => {
        const input = makeInput(telegramTarget, { bot_token: TOKEN }, { channel: { chat_id: '@id2', message_thread_id: '7' } });
        expect(telegramTarget.buildRequests(input).map(view)).toEqual([sendMessage('<b>Alice</b>: hello <b>world</b>', { chat_id: '@id2', message_thread_id: 7 })]);
    });

    it.each<[Record<string, unknown>, Record<string, string>, string | undefined]>([
        [{ bot_token: TOKEN }, {}, 'chat_id: is missing: the instance names no chat'],
        [{ bot_token: TOKEN }, { chat_id: 'nope!' }, 'chat_id: must be a numeric chat id or @channelusername'],
        [{ bot_token: TOKEN }, { chat_id: '-100' }, undefined],
        [raw, {}, undefined],
    ])('checkChannel %j %j', (config, channel, problem) => {
        const check = () => telegramTarget.checkChannel!(telegramTarget.parseConfig(config), channel);
        if (problem) {
            expect(check).toThrow(problem);
        } else {
            expect(check).not.toThrow();
        }
    });
});
