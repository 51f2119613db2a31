import { parseInbound } from '../../../src/inbound/dialects';
import { authenticate, extractToken } from '../../../src/inbound/auth';
import { InboundError } from '../../../src/inbound/errors';
import type { InboundRequest } from '../../../src/inbound/request';
import { post, thrown } from './fixtures';

const nested = (depth: number): unknown => {
    let value: unknown = 'leaf';
    for (let i = 0; i < depth; i++) {
        value = { a: value };
    }
    return value;
};
const nestedJson = (depth: number) => '{"text":"x","a":' + '['.repeat(depth) + ']'.repeat(depth) + '}';
const form = { 'content-type': 'application/x-www-form-urlencoded' };

describe('parseInbound: validation errors name the field', () => {
    it.each([
        ['text not a string', post({ text: 42 }), 400, 'text: must be a string'],
        ['attachment URL with a newline inside', post({ text: 'x', attachments: [{ title_link: 'https://a.example/\nb' }] }), 400, 'attachments[0].title_link: must be an http(s) URL (contains spaces, control characters or backslashes)'],
        ['attachment URL not http(s)', post({ text: 'x', attachments: [{}, {}, { image_url: 'javascript:alert(1)' }] }), 400, 'attachments[2].image_url: must be an http(s) URL (not an absolute URL)'],
        ['attachments not an array', post({ text: 'x', attachments: { title: 't' } }), 400, 'attachments: must be an array'],
        ['attachment not an object', post({ attachments: ['hello'] }), 400, 'attachments[0]: must be a JSON object'],
        ['channel array with a number', post({ text: 'x', channel: ['#a', 5] }), 400, 'channel[1]: must be a string'],
        ['channel "#" alone', post({ text: 'x', channel: '#' }), 400, 'channel: "#" names no room or user'],
        ['tmid with a newline', post({ text: 'x', tmid: 'a\nb' }), 400, 'tmid: must not contain control characters or broken characters'],
        ['groupable not boolean', post({ text: 'x', groupable: 'yes' }), 400, 'groupable: must be true or false'],
        ['customFields not an object', post({ text: 'x', customFields: [1] }), 400, 'customFields: must be an object'],
        ['NextBridge attachment with a file URL', post({ text: 'x', channel: {}, attachments: [{ type: 'file', url: 'file:///etc/passwd' }] }), 400, 'attachments[0].url: must be an http(s) URL (scheme file is not allowed)'],
        ['NextBridge channel.room_id object', post({ text: 'x', channel: { room_id: {} } }), 400, 'channel.room_id: must be a string'],
        ['Discord embed colour out of range', post({ content: 'x', embeds: [{ color: 16777216 }] }), 400, 'embeds[0].color: must be an RGB integer (0 to 16777215)'],
        ['Slack block not an object', post({ text: 'x', blocks: [null] }), 400, 'blocks[0]: must be a JSON object'],
        ['Matterbridge bad base64', post({ text: 'x', gateway: 'g', Extra: { file: [{ Name: 'a.png', Data: 'not base64!' }] } }), 400, 'Extra.file[0].Data: invalid base64: unexpected character "!" at position 10'],
        ['Matterbridge Data not a string', post({ text: 'x', gateway: 'g', Extra: { file: [{ Name: 'a.png', Data: [1, 2] }] } }), 400, 'Extra.file[0].Data: must be a base64 string'],
        ['Apprise attachment without base64', post({ version: '1.0', message: 'm', attachments: [{ filename: 'a.txt' }] }), 400, 'attachments[0].base64: is required'],
        ['Apprise major version 2', post({ version: '2.0', message: 'm' }), 400, 'version: unsupported Apprise JSON version "2.0"'],
        ['empty message', post({ text: '   ', attachments: [] }), 400, 'text: message is empty: no text, attachments or files'],
        ['unrecognized shape', post({ hello: 'world' }), 400, 'body: unrecognized payload: expected a Rocket.Chat, Slack, Discord, NextBridge, Matterbridge or Apprise message'],
        ['JSON array body', post([{ text: 'x' }]), 400, 'body: must be a JSON object'],
        ['malformed urlencoded', post('payload=%E0%A4%A', { headers: form }), 400, 'body: malformed urlencoded form'],
        ['empty body', post(''), 400, 'body: empty request body'],
        ['GET', post({ text: 'x' }, { method: 'get' }), 405, 'method GET is not allowed; use POST'],
        ['XML', post('<msg/>', { headers: { 'content-type': 'application/xml' } }), 415, 'content type application/xml is not supported; send JSON'],
        ['raw multipart', post('--x\r\n', { headers: { 'content-type': 'multipart/form-data; boundary=x' } }), 415, 'multipart bodies are not supported; send JSON or a urlencoded payload field'],
        ['Matterbridge typing event', post({ text: '', event: 'user_typing', gateway: 'g' }), 422, 'event: event "user_typing" is not a message to post'],
    ])('%s', (_name, req, status, message) => {
        const error = thrown(() => parseInbound(req));
        expect(error).toBeInstanceOf(InboundError);
        expect(error).toMatchObject({ status, message });
    });

    // The parser's own wording differs between runtimes (Node, Deno), so only the prefix is fixed.
    it.each([
        ['invalid JSON string', post('{"text": '), /^body: invalid JSON \(.+\)$/],
        ['payload= with invalid JSON', post({ payload: '{oops' }, { headers: form }), /^body\.payload: invalid JSON \(.+\)$/],
    ])('%s', (_name, req, pattern) => {
        const error = thrown(() => parseInbound(req));
        expect(error).toBeInstanceOf(InboundError);
        expect((error as InboundError).status).toBe(400);
        expect((error as InboundError).message).toMatch(pattern);
    });
});

describe('parseInbound: limits', () => {
    const small = { maxTextLength: 10, maxAttachments: 2, maxFileBytes: 4, maxFieldLength: 16, maxDepth: 5, maxNodes: 50 };
    it.each([
        ['text over maxTextLength', post({ text: 'x'.repeat(11) }), 413, 'text: 11 characters exceeds the limit of 10'],
        ['Apprise title + message over the limit together', post({ version: '1.0', title: 'abcde', message: 'fghij' }), 413, 'text: 13 characters exceeds the limit of 10'],
        ['alias over maxFieldLength', post({ text: 'x', alias: 'a'.repeat(17) }), 400, 'alias: longer than 16 characters'],
        ['too many RC attachments', post({ attachments: [{}, {}, {}] }), 413, 'attachments: more than 2 attachments'],
        ['too many Apprise files', post({ version: '1.0', message: 'm', attachments: [{}, {}, {}] }), 413, 'attachments: more than 2 attachments'],
        ['inline file over maxFileBytes', post({ version: '1.0', message: 'm', attachments: [{ filename: 'a', base64: 'QUJDREU=' }] }), 413, 'attachments[0].base64: file of 5 bytes exceeds the limit of 4'],
        ['object nesting', post({ text: 'x', customFields: nested(5) }), 400, 'body: nested deeper than 5 levels'],
        ['string nesting is refused before JSON.parse', post(nestedJson(6)), 400, 'body: nested deeper than 5 levels'],
        ['nesting inside payload=', post({ payload: nestedJson(6) }, { headers: form }), 400, 'body.payload: nested deeper than 5 levels'],
        ['too many values', post({ text: 'x', other: new Array(60).fill(1) }), 413, 'body: more than 50 JSON values'],
        ['destination list', post({ text: 'x', channel: new Array(26).fill('#a') }), 413, 'channel: more than 25 destinations'],
    ])('%s', (_name, req, status, message) => {
        const error = thrown(() => parseInbound(req, small));
        expect(error).toBeInstanceOf(InboundError);
        expect(error).toMatchObject({ status, message });
    });

    it('stops at the depth limit on a million-level string without blowing the stack', () => {
        expect(thrown(() => parseInbound(post(nestedJson(1000000))))).toMatchObject({ status: 400, message: 'body: nested deeper than 20 levels' });
    });

    it('stops on a cyclic object from an in-process caller', () => {
        const cyclic: Record<string, unknown> = { text: 'x' };
        cyclic.self = cyclic;
        expect(thrown(() => parseInbound(post(cyclic)))).toMatchObject({ status: 400, message: 'body: nested deeper than 20 levels' });
    });
});

describe('parseInbound: string cleaning', () => {
    it.each([
        ['NUL and C0 controls are removed from text', { text: 'a\u0000b\u0007c\td\ne' }, 'text', 'abc\td\ne'],
        ['a lone high surrogate becomes U+FFFD', { text: 'cut \uD83D' }, 'text', 'cut \uFFFD'],
        ['a lone low surrogate becomes U+FFFD', { text: '\uDE00x' }, 'text', '\uFFFDx'],
        ['valid pairs are kept', { text: 'ok \uD83D\uDE00' }, 'text', 'ok \uD83D\uDE00'],
        ['alias is one line', { text: 'x', alias: ' Bob\n(bridge)\u0000 ' }, 'alias', 'Bob (bridge)'],
        ['customFields strings are cleaned', { text: 'x', customFields: { k: 'v\u0000' } }, 'customFields', { k: 'v' }],
        ['file names lose directories', { version: '1.0', message: 'm', attachments: [{ filename: '../../etc/passwd', base64: 'QQ==' }] }, 'attachments', [{ kind: 'bytes', name: 'passwd', mimeType: 'application/octet-stream', bytes: new Uint8Array([65]) }]],
    ])('%s', (_name, body, key, expected) => {
        expect((parseInbound(post(body)) as unknown as Record<string, unknown>)[key]).toEqual(expected);
    });

    it('drops prototype keys from customFields with a warning', () => {
        const result = parseInbound(post(JSON.parse('{"text":"x","customFields":{"__proto__":{"polluted":true},"ok":1}}')));
        expect(result.customFields).toEqual({ ok: 1 });
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(result.warnings).toEqual(['customFields.__proto__: key dropped']);
    });

    it.each([
        ['http avatar', { text: 'x', avatar: 'http://example.org/a.png', emoji: ':robot:' }, { emoji: ':robot:' }, ['avatar: avatar ignored (must be a public https URL)']],
        ['private avatar', { text: 'x', icon_url: 'https://10.0.0.1/a.png' }, {}, ['icon_url: avatar ignored (must be a public https URL)']],
        ['control character inside the avatar URL is not cleaned into a valid one', { text: 'x', avatar: 'https://exa\u0000mple.org/a.png' }, {}, ['avatar: avatar ignored (must be a public https URL)']],
        ['empty icon_url falls back to avatar, like Rocket.Chat', { text: 'x', icon_url: '', avatar: 'https://a.example/x.png' }, { avatarUrl: 'https://a.example/x.png' }, []],
        ['emoji without colons', { text: 'x', emoji: 'robot' }, { emoji: ':robot:' }, []],
        ['emoji with spaces', { text: 'x', emoji: 'not an emoji' }, {}, ['emoji: emoji ignored (expected :name:)']],
    ])('cosmetic fields are dropped, not fatal: %s', (_name, body, expected, warnings) => {
        const result = parseInbound(post(body));
        expect({ avatarUrl: result.avatarUrl, emoji: result.emoji }).toEqual({ avatarUrl: undefined, emoji: undefined, ...expected });
        expect(result.warnings).toEqual(warnings);
    });
});

// Deterministic generator (mulberry32) so a failure can be replayed.
function random(seed: number): () => number {
    let state = seed;
    return () => {
        state = (state + 0x6d2b79f5) | 0;
        let t = Math.imul(state ^ (state >>> 15), 1 | state);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const KEYS = ['text', 'msg', 'content', 'message', 'title', 'version', 'channel', 'roomId', 'attachments', 'embeds', 'blocks', 'Extra', 'file', 'Data', 'base64', 'filename', 'gateway', 'event', 'avatar', 'icon_url', 'emoji', 'username', 'alias', 'tmid', 'thread_ts', 'customFields', 'payload', 'payload_json', 'token', 'type', 'elements', 'fields', 'url', 'image_url', 'room_id', 'color', '__proto__', 'constructor', 'Name', 'size'];
const STRINGS = ['', 'x', '#', '@', '#general', '@bob', 'GENERAL', 'QUJD', 'QR==', '!!', 'https://example.org/a.png', 'http://127.0.0.1/', 'javascript:x', '\u0000', '\uD800', 'a'.repeat(30000), '{"text":"x"}', '[[[[', 'payload=%7B', 'rich_text', 'section', 'rich_text_list', 'link', 'user_action', 'msg_delete', '1.0', '2.0', 'info', ':x:'];

function hostileValue(next: () => number, depth: number): unknown {
    const pick = Math.floor(next() * (depth > 6 ? 6 : 10));
    switch (pick) {
        case 0: return STRINGS[Math.floor(next() * STRINGS.length)];
        case 1: return Math.floor(next() * 3) === 0 ? -1 : next() * 1e20;
        case 2: return next() < 0.5;
        case 3: return null;
        case 4: return STRINGS[Math.floor(next() * STRINGS.length)] + String.fromCharCode(Math.floor(next() * 0xffff));
        case 5: return [NaN, Infinity, -0, 16777215][Math.floor(next() * 4)];
        case 6:
        case 7: {
            const out: Record<string, unknown> = {};
            const count = Math.floor(next() * 5);
            for (let i = 0; i < count; i++) {
                out[KEYS[Math.floor(next() * KEYS.length)]] = hostileValue(next, depth + 1);
            }
            return out;
        }
        case 8: return new Array(Math.floor(next() * 4)).fill(0).map(() => hostileValue(next, depth + 1));
        default: return nested(15 + Math.floor(next() * 15));
    }
}

function hostileRequest(next: () => number): InboundRequest {
    const top: Record<string, unknown> = {};
    const count = 1 + Math.floor(next() * 6);
    for (let i = 0; i < count; i++) {
        top[KEYS[Math.floor(next() * KEYS.length)]] = hostileValue(next, 1);
    }
    // Half the bodies carry a usable text so the generator also reaches the deeper parsing paths.
    if (next() < 0.5) {
        top[['text', 'content', 'message'][Math.floor(next() * 3)]] = 'hello ' + STRINGS[Math.floor(next() * 12)];
    }
    const shape = Math.floor(next() * 8);
    const body = shape === 0 ? JSON.stringify(top) : shape === 1 ? { payload: JSON.stringify(top) } : shape === 2 ? hostileValue(next, 0) : top;
    const formats = [undefined, 'auto', 'slack', 'discord', 'nextbridge', 'matterbridge', 'apprise', 'rocketchat', 'bogus'];
    const format = formats[Math.floor(next() * formats.length)];
    return {
        method: next() < 0.9 ? 'post' : 'get',
        namedSource: '',
        headers: next() < 0.5 ? { 'content-type': 'application/json' } : { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + STRINGS[Math.floor(next() * STRINGS.length)] },
        query: format ? { format, channel: STRINGS[Math.floor(next() * STRINGS.length)] } : {},
        body,
    };
}

describe('hostile input', () => {
    it('3000 generated requests: parseInbound returns a message or throws a 4xx InboundError, never anything else', () => {
        const next = random(20250105);
        const statuses: Record<string, number> = {};
        for (let i = 0; i < 3000; i++) {
            const req = hostileRequest(next);
            let outcome: string;
            try {
                const message = parseInbound(req);
                expect(typeof message.text).toBe('string');
                expect(Array.isArray(message.attachments)).toBe(true);
                outcome = 'ok';
            } catch (error) {
                if (!(error instanceof InboundError) || error.status >= 500) {
                    throw new Error(`request ${i} (${JSON.stringify(req).slice(0, 300)}) threw ${String(error)}`);
                }
                outcome = String(error.status);
            }
            statuses[outcome] = (statuses[outcome] || 0) + 1;
            const auth = authenticate(req, [{ name: 's', token: 't' }], i % 2 ? 's' : undefined);
            expect(auth instanceof InboundError || auth.source.name === 's').toBe(true);
            expect(['string', 'undefined']).toContain(typeof extractToken(req));
        }
        expect(Object.keys(statuses).sort()).toEqual(['400', '405', '413', '422', 'ok']);
        // The generator must exercise both outcomes, or it is not testing anything.
        expect(statuses.ok).toBeGreaterThan(50);
        expect(statuses['400']).toBeGreaterThan(50);
    });
});
