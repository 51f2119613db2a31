// File names and types for inbound files: names are reduced to a safe base name, types are
// guessed from the extension when the sender gave none (Matterbridge never does).

import { cleanLine } from './values';

const TYPES_BY_EXTENSION: Record<string, string> = {
    png: 'image/png',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    gif: 'image/gif',
    webp: 'image/webp',
    bmp: 'image/bmp',
    svg: 'image/svg+xml',
    heic: 'image/heic',
    mp4: 'video/mp4',
    webm: 'video/webm',
    mov: 'video/quicktime',
    mp3: 'audio/mpeg',
    ogg: 'audio/ogg',
    oga: 'audio/ogg',
    opus: 'audio/opus',
    m4a: 'audio/mp4',
    wav: 'audio/wav',
    pdf: 'application/pdf',
    txt: 'text/plain',
    log: 'text/plain',
    csv: 'text/csv',
    json: 'application/json',
    zip: 'application/zip',
    gz: 'application/gzip',
};

export const DEFAULT_MIME_TYPE = 'application/octet-stream';

/** MIME type for a file name's extension, or undefined when unknown. */
export function mimeTypeFromName(name: string): string | undefined {
    const dot = name.lastIndexOf('.');
    if (dot < 0) {
        return undefined;
    }
    const extension = name.slice(dot + 1).toLowerCase();
    return Object.prototype.hasOwnProperty.call(TYPES_BY_EXTENSION, extension) ? TYPES_BY_EXTENSION[extension] : undefined;
}

/** A `type/subtype` string, lower-cased, or undefined when the value is not one. */
export function normalizeMimeType(value: string): string | undefined {
    const type = value.split(';')[0].trim().toLowerCase();
    return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(type) ? type : undefined;
}

/** Base name without directories or control characters; `fallback` when nothing is left. */
export function safeFileName(name: string | undefined, fallback: string): string {
    if (name === undefined) {
        return fallback;
    }
    const base = cleanLine(name).split(/[\/\\]/).pop() || '';
    const trimmed = base.replace(/^\.+/, '').trim();
    return trimmed === '' ? fallback : trimmed;
}
