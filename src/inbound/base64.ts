// Strict standard base64 (RFC 4648 §4) for inline files (Matterbridge `Data`, Apprise `base64`).
// Accepted: the standard alphabet, optional `=` padding, and ASCII whitespace anywhere (some
// encoders wrap lines). Refused: the URL-safe alphabet, `=` anywhere but the end, a length that
// cannot be base64, and non-zero bits in the last character's unused tail (a sign of truncation
// or of two values glued together). The size is computed before anything is allocated.

import { InboundError } from './errors';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const VALUES: number[] = (() => {
    const table: number[] = [];
    for (let i = 0; i < 128; i++) {
        table.push(-1);
    }
    for (let i = 0; i < ALPHABET.length; i++) {
        table[ALPHABET.charCodeAt(i)] = i;
    }
    return table;
})();

function isSpace(code: number): boolean {
    return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/** Number of bytes `input` decodes to, or an error message when it is not valid base64. */
export function base64DecodedLength(input: string): number | string {
    let dataChars = 0;
    let padding = 0;
    for (let i = 0; i < input.length; i++) {
        const code = input.charCodeAt(i);
        if (isSpace(code)) {
            continue;
        }
        if (code === 0x3d) {
            padding++;
            continue;
        }
        if (padding > 0) {
            return `"=" before the end (position ${i})`;
        }
        if (code >= 128 || VALUES[code] < 0) {
            return `unexpected character ${JSON.stringify(input[i])} at position ${i}`;
        }
        dataChars++;
    }
    const remainder = dataChars % 4;
    if (remainder === 1) {
        return 'truncated (length is not a valid base64 length)';
    }
    if (padding > 0 && (padding > 2 || (dataChars + padding) % 4 !== 0)) {
        return 'wrong padding';
    }
    return Math.floor(dataChars / 4) * 3 + (remainder === 0 ? 0 : remainder - 1);
}

/** Decodes `input`; throws InboundError 400 naming `field` when invalid, 413 when over `maxBytes`. */
export function decodeBase64(input: string, field: string, maxBytes: number): Uint8Array {
    const length = base64DecodedLength(input);
    if (typeof length === 'string') {
        throw new InboundError(400, `invalid base64: ${length}`, field);
    }
    if (length > maxBytes) {
        throw new InboundError(413, `file of ${length} bytes exceeds the limit of ${maxBytes}`, field);
    }
    const out = new Uint8Array(length);
    let buffer = 0;
    let bits = 0;
    let written = 0;
    for (let i = 0; i < input.length; i++) {
        const code = input.charCodeAt(i);
        if (isSpace(code) || code === 0x3d) {
            continue;
        }
        buffer = (buffer << 6) | VALUES[code];
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[written++] = (buffer >> bits) & 0xff;
            buffer &= (1 << bits) - 1;
        }
    }
    if (buffer !== 0) {
        throw new InboundError(400, 'invalid base64: non-zero padding bits', field);
    }
    return out;
}

/** Standard padded base64 of `bytes` (used for round trips in tests and by callers that re-emit). */
export function encodeBase64(bytes: Uint8Array): string {
    let out = '';
    for (let i = 0; i < bytes.length; i += 3) {
        const b0 = bytes[i];
        const b1 = i + 1 < bytes.length ? bytes[i + 1] : 0;
        const b2 = i + 2 < bytes.length ? bytes[i + 2] : 0;
        out += ALPHABET[b0 >> 2] + ALPHABET[((b0 & 3) << 4) | (b1 >> 4)];
        out += i + 1 < bytes.length ? ALPHABET[((b1 & 15) << 2) | (b2 >> 6)] : '=';
        out += i + 2 < bytes.length ? ALPHABET[b2 & 63] : '=';
    }
    return out;
}
