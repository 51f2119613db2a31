// multipart/form-data (RFC 7578) and base64, without Buffer: the app runs in Deno and Node, so
// everything here is Uint8Array + TextEncoder.

import type { MultipartPart } from './http';

const CRLF = '\r\n';
const BOUNDARY_PATTERN = /^[0-9A-Za-z'()+_,\-./:=?]{1,70}$/;

export interface EncodedMultipart {
    /** `multipart/form-data; boundary=…`, to send as the Content-Type header. */
    contentType: string;
    body: Uint8Array;
}

/**
 * Encodes parts as multipart/form-data. Text values are UTF-8; file bytes are copied as they are.
 * Without `boundary` a random one is chosen (and re-chosen in the unlikely case it occurs in the data).
 */
export function encodeMultipart(parts: MultipartPart[], boundary?: string): EncodedMultipart {
    if (boundary !== undefined && !BOUNDARY_PATTERN.test(boundary)) {
        throw new Error(`multipart boundary must be 1-70 characters of [0-9A-Za-z'()+_,-./:=?], got "${boundary}"`);
    }
    const encoder = new TextEncoder();
    const payloads = parts.map((part) => (part.file ? part.file.bytes : encoder.encode(part.value || '')));
    let chosen = boundary !== undefined ? boundary : randomBoundary();
    while (payloads.some((payload) => contains(payload, encoder.encode(chosen)))) {
        if (boundary !== undefined) {
            throw new Error(`multipart boundary "${boundary}" occurs in the data`);
        }
        chosen = randomBoundary();
    }
    const pieces: Uint8Array[] = [];
    parts.forEach((part, index) => {
        let head = `--${chosen}${CRLF}Content-Disposition: form-data; name="${escapeQuoted(part.name)}"`;
        if (part.file) {
            head += `; filename="${escapeQuoted(part.file.filename)}"${CRLF}`;
            head += `Content-Type: ${part.file.contentType || 'application/octet-stream'}`;
        }
        pieces.push(encoder.encode(head + CRLF + CRLF), payloads[index], encoder.encode(CRLF));
    });
    pieces.push(encoder.encode(`--${chosen}--${CRLF}`));
    return { contentType: `multipart/form-data; boundary=${chosen}`, body: concatBytes(pieces) };
}

/** Quoted-string escaping browsers use for names and filenames (WHATWG / RFC 7578 §4.2). */
function escapeQuoted(value: string): string {
    return value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function randomBoundary(): string {
    let random = '';
    for (let i = 0; i < 24; i++) {
        random += Math.floor(Math.random() * 16).toString(16);
    }
    return `----RelayBridgeBoundary${random}`;
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
    const last = haystack.length - needle.length;
    outer: for (let start = 0; start <= last; start++) {
        for (let offset = 0; offset < needle.length; offset++) {
            if (haystack[start + offset] !== needle[offset]) {
                continue outer;
            }
        }
        return true;
    }
    return false;
}

export function concatBytes(pieces: Uint8Array[]): Uint8Array {
    const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
    const joined = new Uint8Array(total);
    let offset = 0;
    for (const piece of pieces) {
        joined.set(piece, offset);
        offset += piece.length;
    }
    return joined;
}

// ---------------------------------------------------------------------------------------------
// base64

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 with padding. */
export function bytesToBase64(bytes: Uint8Array): string {
    let out = '';
    let i = 0;
    for (; i + 2 < bytes.length; i += 3) {
        const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
        out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63];
    }
    const left = bytes.length - i;
    if (left === 1) {
        const n = bytes[i] << 16;
        out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + '==';
    } else if (left === 2) {
        const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
        out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + '=';
    }
    return out;
}

/**
 * Decodes base64 (standard or URL-safe alphabet, padding optional, whitespace ignored).
 * Throws an Error for anything else, so a corrupt upload is rejected instead of posted as garbage.
 */
export function base64ToBytes(text: string): Uint8Array {
    const compact = text.replace(/[ \t\r\n]/g, '');
    const match = /^([A-Za-z0-9+/\-_]*)(={0,2})$/.exec(compact);
    if (!match) {
        throw new Error('invalid base64: unexpected character');
    }
    const digits = match[1];
    const padding = match[2].length;
    if (digits.length % 4 === 1 || (padding > 0 && (digits.length + padding) % 4 !== 0)) {
        throw new Error('invalid base64: wrong length');
    }
    const bytes = new Uint8Array(Math.floor((digits.length * 3) / 4));
    let buffer = 0;
    let bits = 0;
    let written = 0;
    for (let i = 0; i < digits.length; i++) {
        buffer = ((buffer << 6) | digitValue(digits.charCodeAt(i))) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            bytes[written++] = (buffer >> bits) & 0xff;
        }
    }
    // Leftover bits must be zero, otherwise the text was not produced by a base64 encoder.
    if ((buffer & ((1 << bits) - 1)) !== 0) {
        throw new Error('invalid base64: non-zero trailing bits');
    }
    return bytes;
}

function digitValue(code: number): number {
    if (code >= 65 && code <= 90) return code - 65; // A-Z
    if (code >= 97 && code <= 122) return code - 71; // a-z
    if (code >= 48 && code <= 57) return code + 4; // 0-9
    if (code === 43 || code === 45) return 62; // + or -
    return 63; // / or _
}
