// Byte budgets. Some targets limit a message in UTF-8 bytes rather than characters (ntfy's 4 KB
// body, the 64 KiB Matrix event, Gotify's TEXT column); splitText counts UTF-16 units, so chunks
// that still do not fit are split again until they do.

import { splitText, truncateText } from '../core/text';

/** Length of `text` in UTF-8 bytes (a lone surrogate counts as U+FFFD, 3 bytes, like TextEncoder). */
export function utf8Length(text: string): number {
    let bytes = 0;
    for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (code < 0x80) {
            bytes += 1;
        } else if (code < 0x800) {
            bytes += 2;
        } else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length
            && text.charCodeAt(i + 1) >= 0xdc00 && text.charCodeAt(i + 1) <= 0xdfff) {
            bytes += 4;
            i++;
        } else {
            bytes += 3;
        }
    }
    return bytes;
}

/**
 * splitText at `maxLength`, then every chunk that `fits` rejects is split again at half its
 * length (same boundaries: paragraph, line, word). A single character that never fits is kept.
 */
export function splitToFit(text: string, maxLength: number, fits: (chunk: string) => boolean): string[] {
    const chunks: string[] = [];
    for (const chunk of splitText(text, maxLength)) {
        if (fits(chunk) || chunk.length <= 1) {
            chunks.push(chunk);
        } else {
            splitToFit(chunk, Math.max(1, Math.floor(chunk.length / 2)), fits).forEach((part) => chunks.push(part));
        }
    }
    return chunks;
}

/** truncateText, shortened further (by tenths) until `fits` accepts it. */
export function truncateToFit(text: string, maxLength: number, fits: (chunk: string) => boolean): string {
    let length = maxLength;
    let cut = truncateText(text, length);
    while (!fits(cut) && length > 1) {
        length = Math.max(1, Math.floor(length * 0.9));
        cut = truncateText(text, length);
    }
    return cut;
}

/** 32-bit FNV-1a of the UTF-16 units, base 36: a short stable fingerprint, not a security hash. */
export function fingerprint(text: string): string {
    let hash = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) {
        hash ^= text.charCodeAt(i);
        hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return hash.toString(36);
}
