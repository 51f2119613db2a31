// UTF-8 without relying on TextEncoder/TextDecoder globals, which not every app sandbox the
// engine has used provides. Lone surrogates encode as U+FFFD, like TextEncoder does.

export function utf8Encode(text: string): Uint8Array {
    const bytes: number[] = [];
    for (let i = 0; i < text.length; i++) {
        let code = text.charCodeAt(i);
        if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
            const next = text.charCodeAt(i + 1);
            if (next >= 0xdc00 && next <= 0xdfff) {
                code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
                i++;
            }
        }
        if (code >= 0xd800 && code <= 0xdfff) {
            code = 0xfffd;
        }
        if (code < 0x80) {
            bytes.push(code);
        } else if (code < 0x800) {
            bytes.push(0xc0 | (code >> 6), 0x80 | (code & 0x3f));
        } else if (code < 0x10000) {
            bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
        } else {
            bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 0x3f), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
        }
    }
    return new Uint8Array(bytes);
}

/**
 * Decodes UTF-8 following the WHATWG decoder exactly (so results match TextDecoder): each
 * maximal invalid subsequence becomes one U+FFFD and the offending byte is read again.
 */
export function utf8Decode(bytes: Uint8Array): string {
    let out = '';
    let code = 0;
    let needed = 0;
    let seen = 0;
    let lower = 0x80;
    let upper = 0xbf;
    for (let i = 0; i < bytes.length; i++) {
        const byte = bytes[i];
        if (needed === 0) {
            if (byte < 0x80) {
                out += String.fromCharCode(byte);
            } else if (byte >= 0xc2 && byte <= 0xdf) {
                needed = 1;
                code = byte & 0x1f;
            } else if (byte >= 0xe0 && byte <= 0xef) {
                lower = byte === 0xe0 ? 0xa0 : 0x80;
                upper = byte === 0xed ? 0x9f : 0xbf;
                needed = 2;
                code = byte & 0x0f;
            } else if (byte >= 0xf0 && byte <= 0xf4) {
                lower = byte === 0xf0 ? 0x90 : 0x80;
                upper = byte === 0xf4 ? 0x8f : 0xbf;
                needed = 3;
                code = byte & 0x07;
            } else {
                out += '\uFFFD';
            }
            continue;
        }
        if (byte < lower || byte > upper) {
            code = needed = seen = 0;
            lower = 0x80;
            upper = 0xbf;
            out += '\uFFFD';
            i--; // read this byte again as the start of a new sequence
            continue;
        }
        lower = 0x80;
        upper = 0xbf;
        code = (code << 6) | (byte & 0x3f);
        seen++;
        if (seen === needed) {
            if (code >= 0x10000) {
                code -= 0x10000;
                out += String.fromCharCode(0xd800 + (code >> 10), 0xdc00 + (code & 0x3ff));
            } else {
                out += String.fromCharCode(code);
            }
            code = needed = seen = 0;
        }
    }
    return needed > 0 ? out + '\uFFFD' : out;
}
