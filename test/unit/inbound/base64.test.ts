import { base64DecodedLength, decodeBase64, encodeBase64 } from '../../../src/inbound/base64';
import { InboundError } from '../../../src/inbound/errors';
import { thrown } from './fixtures';

describe('decodeBase64', () => {
    it.each([
        ['empty', '', ''],
        ['one byte, padded', 'QQ==', 'A'],
        ['one byte, unpadded', 'QQ', 'A'],
        ['two bytes', 'QUI=', 'AB'],
        ['three bytes', 'QUJD', 'ABC'],
        ['wrapped at 76 like MIME', 'QUJD\r\nREVG', 'ABCDEF'],
        ['all alphabet characters', '+/+/', '\u00fb\u00ff\u00bf'],
    ])('%s', (_name, input, expected) => {
        const bytes = decodeBase64(input, 'f', 1000);
        expect(Array.from(bytes)).toEqual(Array.from(Buffer.from(expected, 'latin1')));
    });

    it.each([
        ['URL-safe alphabet', '-_-_', 400, 'f: invalid base64: unexpected character "-" at position 0'],
        ['non-ASCII', 'QUJ\u00e9', 400, 'f: invalid base64: unexpected character "\u00e9" at position 3'],
        ['padding in the middle', 'QQ==QUJD', 400, 'f: invalid base64: "=" before the end (position 4)'],
        ['length 4n+1', 'QUJDR', 400, 'f: invalid base64: truncated (length is not a valid base64 length)'],
        ['three padding chars', 'Q===', 400, 'f: invalid base64: truncated (length is not a valid base64 length)'],
        ['wrong padding count', 'QUI==', 400, 'f: invalid base64: wrong padding'],
        ['non-zero trailing bits', 'QR==', 400, 'f: invalid base64: non-zero padding bits'],
        ['data URL prefix', 'data:text/plain;base64,QQ==', 400, 'f: invalid base64: unexpected character ":" at position 4'],
        ['over the size limit', 'QUJDREVG', 413, 'f: file of 6 bytes exceeds the limit of 5'],
    ])('%s', (_name, input, status, message) => {
        const error = thrown(() => decodeBase64(input, 'f', 5));
        expect(error).toBeInstanceOf(InboundError);
        expect(error).toMatchObject({ status, message });
    });

    it.each([
        ['exact', 'A'.repeat(4000), 3000],
        ['with whitespace', 'AAAA\n'.repeat(1000), 3000],
        ['padded', 'QUI=', 2],
    ])('decoded length is known before decoding: %s', (_name, input, expected) => {
        expect(base64DecodedLength(input)).toBe(expected);
    });

    it('refuses an oversized file from its encoded length', () => {
        expect(thrown(() => decodeBase64('A'.repeat(8000000), 'Data', 1000))).toMatchObject({ status: 413, message: 'Data: file of 6000000 bytes exceeds the limit of 1000' });
    });

    it.each([[0], [1], [2], [3], [100], [257]])('round-trips %i random bytes against Buffer', (length) => {
        const bytes = new Uint8Array(length);
        for (let i = 0; i < length; i++) {
            bytes[i] = (i * 151 + 7) % 256;
        }
        const encoded = encodeBase64(bytes);
        expect(encoded).toBe(Buffer.from(bytes).toString('base64'));
        expect(Array.from(decodeBase64(encoded, 'f', 1000))).toEqual(Array.from(bytes));
    });
});
