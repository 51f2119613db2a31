import { utf8Decode, utf8Encode } from '../../../src/core/utf8';
import { inboundRequest } from '../../../src/inbound/request';
import { parseInbound } from '../../../src/inbound/dialects';

// Node's WHATWG implementation is the oracle; the source cannot rely on it being a global.
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

describe('utf8Encode', () => {
    it.each([
        ['ASCII', 'token-123'],
        ['two-byte', 'Grüße'],
        ['three-byte', '日本語'],
        ['four-byte pair', 'ok \uD83D\uDE00'],
        ['lone high surrogate', 'a\uD83Db'],
        ['lone low surrogate at the end', 'a\uDE00'],
        ['U+FFFF and U+0800 edges', '\uFFFF\u0800\u07FF\u0080\u007F'],
    ])('%s', (_name, text) => {
        expect(Array.from(utf8Encode(text))).toEqual(Array.from(encoder.encode(text)));
    });
});

describe('utf8Decode', () => {
    it.each([
        ['valid mixed', [0x61, 0xc3, 0xbc, 0xe6, 0x97, 0xa5, 0xf0, 0x9f, 0x98, 0x80]],
        ['overlong', [0xc0, 0xaf, 0x41]],
        ['truncated three-byte', [0xe6, 0x97]],
        ['truncated then ASCII', [0xe6, 0x41]],
        ['encoded surrogate', [0xed, 0xa0, 0x80]],
        ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
        ['stray continuation', [0x80, 0x41]],
        ['0xff', [0xff]],
        ['truncated four-byte at the end', [0x41, 0xf0, 0x9f, 0x98]],
        ['overlong three-byte', [0xe0, 0x80, 0x80]],
    ])('%s', (_name, bytes) => {
        expect(utf8Decode(new Uint8Array(bytes))).toBe(decoder.decode(new Uint8Array(bytes)));
    });
});

describe('inboundRequest', () => {
    it.each([
        [
            'lower-cases method and header names, keeps query case, first of repeated values',
            { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Relay-Token': ['a', 'b'] }, query: { Format: 'slack', n: 1 }, body: { text: 'x' } },
            { method: 'post', namedSource: '', headers: { 'content-type': 'application/json', 'x-relay-token': 'a' }, query: { Format: 'slack' }, body: { text: 'x' } },
        ],
        ['junk parts', { method: 5, headers: 'nope', query: null, namedSource: 7 }, { method: 'post', namedSource: '', headers: {}, query: {}, body: undefined }],
    ])('%s', (_name, parts, expected) => {
        expect(inboundRequest(parts)).toEqual(expected);
    });

    it('a Uint8Array body is decoded as UTF-8 JSON', () => {
        const req = inboundRequest({ method: 'post', headers: {}, body: encoder.encode('{"text":"Grüße"}') });
        expect(parseInbound(req).text).toBe('Grüße');
    });
});
