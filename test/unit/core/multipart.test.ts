import { base64ToBytes, bytesToBase64, encodeMultipart } from '../../../src/core/multipart';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (values: number[]) => new Uint8Array(values);

describe('encodeMultipart', () => {
    it.each([
        [
            'text fields',
            [{ name: 'msg', value: 'héllo' }, { name: 'tmid', value: 'T1' }],
            '--B\r\nContent-Disposition: form-data; name="msg"\r\n\r\nhéllo\r\n'
            + '--B\r\nContent-Disposition: form-data; name="tmid"\r\n\r\nT1\r\n--B--\r\n',
        ],
        [
            'a file with its content type',
            [{ name: 'files[0]', file: { filename: 'a.txt', contentType: 'text/plain', bytes: new TextEncoder().encode('abc') } }],
            '--B\r\nContent-Disposition: form-data; name="files[0]"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nabc\r\n--B--\r\n',
        ],
        [
            'quotes and line breaks escaped in names and filenames',
            [{ name: 'a"b', file: { filename: 'x"y\r\nz.txt', contentType: '', bytes: new Uint8Array(0) } }],
            '--B\r\nContent-Disposition: form-data; name="a%22b"; filename="x%22y%0D%0Az.txt"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--B--\r\n',
        ],
        ['no parts', [], '--B--\r\n'],
    ])('%s', (_name, parts, expected) => {
        const encoded = encodeMultipart(parts, 'B');
        expect(encoded.contentType).toBe('multipart/form-data; boundary=B');
        expect(text(encoded.body)).toBe(expected);
    });

    it('copies binary bytes unchanged', () => {
        const binary = bytes([0, 255, 13, 10, 128, 0xc3]);
        const { body } = encodeMultipart([{ name: 'file', file: { filename: 'b.bin', contentType: 'application/octet-stream', bytes: binary } }], 'B');
        const head = new TextEncoder().encode('--B\r\nContent-Disposition: form-data; name="file"; filename="b.bin"\r\nContent-Type: application/octet-stream\r\n\r\n');
        expect(Array.from(body.slice(head.length, head.length + binary.length))).toEqual(Array.from(binary));
        expect(body.length).toBe(head.length + binary.length + '\r\n--B--\r\n'.length);
    });

    it.each([
        ['an invalid boundary', 'has space', [{ name: 'a', value: 'x' }]],
        ['a boundary found in the data', 'XYZ', [{ name: 'a', value: '--XYZ--' }]],
    ])('rejects %s', (_name, boundary, parts) => {
        expect(() => encodeMultipart(parts, boundary)).toThrow(/boundary/);
    });

    it('picks a random boundary that is not in the data', () => {
        const first = encodeMultipart([{ name: 'a', value: 'x' }]);
        const second = encodeMultipart([{ name: 'a', value: 'x' }]);
        expect(first.contentType).toMatch(/^multipart\/form-data; boundary=----RelayBridgeBoundary[0-9a-f]{24}$/);
        expect(first.contentType).not.toBe(second.contentType);
    });
});

describe('base64', () => {
    it.each([
        [[], ''],
        [[102], 'Zg=='],
        [[102, 111], 'Zm8='],
        [[102, 111, 111], 'Zm9v'],
        [[0, 255, 254, 253], 'AP/+/Q=='],
        [[251, 255], '+/8='],
    ])('%j ⇄ %s', (values, encoded) => {
        expect(bytesToBase64(bytes(values))).toBe(encoded);
        expect(Array.from(base64ToBytes(encoded))).toEqual(values);
    });

    it.each([
        ['url-safe alphabet', '-_8', [251, 255]],
        ['missing padding', 'Zg', [102]],
        ['line breaks', 'Zm9v\r\nZm9v', [102, 111, 111, 102, 111, 111]],
    ])('decodes %s', (_name, encoded, values) => {
        expect(Array.from(base64ToBytes(encoded))).toEqual(values);
    });

    it('round-trips every byte value', () => {
        const all = bytes(Array.from({ length: 256 }, (_, i) => i));
        expect(Array.from(base64ToBytes(bytesToBase64(all)))).toEqual(Array.from(all));
    });

    it.each([
        ['a stray character', 'Zm9v!'],
        ['a single leftover digit', 'Zm9vZ'],
        ['padding in the middle', 'Zg==Zm9v'],
        ['too much padding', 'Zm9v===='],
        ['non-zero trailing bits', 'Zh=='],
    ])('rejects %s', (_name, encoded) => {
        expect(() => base64ToBytes(encoded)).toThrow(/invalid base64/);
    });
});
