// Typed, limit-checked reads of untrusted JSON. Every read names its field path, so a bad value
// becomes `attachments[2].url: must be an http(s) URL` and never a TypeError.
//
// String policy: text-like fields (text, titles, names) are cleaned — NUL and other C0 controls
// except tab/newline/CR are removed and lone surrogate halves become U+FFFD — because other bridges
// produce them by cutting messages mid-character and losing the message would be worse.
// Identifier fields (ids, tokens, room names) are rejected instead, since a cleaned id would point
// somewhere else. `null` counts as absent everywhere: Go and Python senders emit it for "unset".

import { InboundError } from './errors';
import { isUnsafeKey } from './request';
import { parseHttpUrl } from './avatar';
import type { InboundLimits } from './types';

export interface ParseContext {
    limits: InboundLimits;
    warnings: string[];
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.prototype.toString.call(value) === '[object Object]';
}

/** Own property only: `'toString' in {}` is true, and hostile keys must not reach the prototype. */
export function ownValue(obj: Record<string, unknown>, key: string): unknown {
    return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

export function hasOwn(obj: Record<string, unknown>, key: string): boolean {
    return Object.prototype.hasOwnProperty.call(obj, key);
}

export function childPath(parent: string, key: string | number): string {
    if (typeof key === 'number') {
        return `${parent}[${key}]`;
    }
    return parent ? `${parent}.${key}` : key;
}

// C0 controls other than \t \n \r, DEL, and any surrogate (pairs are re-checked one by one).
const SUSPECT_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uD800-\uDFFF]/;

/** Removes NUL/control characters (keeps \t \n \r) and replaces lone surrogates with U+FFFD. */
export function cleanText(value: string): string {
    if (!SUSPECT_CHARS.test(value)) {
        return value;
    }
    let out = '';
    for (let i = 0; i < value.length; i++) {
        const code = value.charCodeAt(i);
        if (code >= 0xd800 && code <= 0xdbff) {
            const next = i + 1 < value.length ? value.charCodeAt(i + 1) : 0;
            if (next >= 0xdc00 && next <= 0xdfff) {
                out += value[i] + value[i + 1];
                i++;
            } else {
                out += '\uFFFD';
            }
        } else if (code >= 0xdc00 && code <= 0xdfff) {
            out += '\uFFFD';
        } else if ((code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) || code === 0x7f) {
            continue;
        } else {
            out += value[i];
        }
    }
    return out;
}

// Invisible and direction-changing characters: zero-width space/joiners, LRM/RLM/ALM, the bidi
// embeddings, overrides and isolates, word joiner and invisible operators, BOM. In a name they
// only serve to disguise it (`invoice\u202Efdp.exe` shows as `invoiceexe.pdf`).
const INVISIBLE_CHARS = /[\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/g;

/** One-line variant for names (aliases, file names, titles): line breaks and tabs become spaces, invisible and bidi control characters go, then trimmed. */
export function cleanLine(value: string): string {
    return cleanText(value).replace(INVISIBLE_CHARS, '').replace(/[\t\r\n]+/g, ' ').trim();
}

/** Reads fields of one JSON object under a path; all methods throw InboundError on a bad value. */
export class FieldReader {
    constructor(
        public readonly obj: Record<string, unknown>,
        public readonly path: string,
        public readonly ctx: ParseContext,
    ) {}

    static of(value: unknown, path: string, ctx: ParseContext): FieldReader {
        if (!isPlainObject(value)) {
            throw new InboundError(400, 'must be a JSON object', path || 'body');
        }
        return new FieldReader(value, path, ctx);
    }

    pathOf(key: string): string {
        return childPath(this.path, key);
    }

    /** The raw value, with null treated as absent. */
    raw(key: string): unknown {
        const value = ownValue(this.obj, key);
        return value === null ? undefined : value;
    }

    has(key: string): boolean {
        return this.raw(key) !== undefined;
    }

    private string(key: string): string | undefined {
        const value = this.raw(key);
        if (value === undefined) {
            return undefined;
        }
        if (typeof value !== 'string') {
            throw new InboundError(400, 'must be a string', this.pathOf(key));
        }
        return value;
    }

    /** Message-body text: multi-line, cleaned, limited by maxTextLength (413 when over). */
    text(key: string): string | undefined {
        const value = this.string(key);
        if (value === undefined) {
            return undefined;
        }
        checkTextLength(value, this.pathOf(key), this.ctx);
        return cleanText(value);
    }

    /** A short display value (alias, file name, title): one line, cleaned; '' → undefined. */
    line(key: string): string | undefined {
        const value = this.string(key);
        if (value === undefined) {
            return undefined;
        }
        checkFieldLength(value, this.pathOf(key), this.ctx);
        const cleaned = cleanLine(value);
        return cleaned === '' ? undefined : cleaned;
    }

    /** An identifier: string or integer; control characters are an error; '' → undefined. */
    id(key: string): string | undefined {
        const value = this.raw(key);
        if (value === undefined) {
            return undefined;
        }
        return readId(value, this.pathOf(key), this.ctx);
    }

    bool(key: string): boolean | undefined {
        const value = this.raw(key);
        if (value === undefined) {
            return undefined;
        }
        if (typeof value !== 'boolean') {
            throw new InboundError(400, 'must be true or false', this.pathOf(key));
        }
        return value;
    }

    /** A non-negative integer, e.g. a size. */
    count(key: string): number | undefined {
        const value = this.raw(key);
        if (value === undefined) {
            return undefined;
        }
        if (typeof value !== 'number' || !isFinite(value) || Math.floor(value) !== value) {
            throw new InboundError(400, 'must be an integer', this.pathOf(key));
        }
        return value;
    }

    object(key: string): FieldReader | undefined {
        const value = this.raw(key);
        if (value === undefined) {
            return undefined;
        }
        if (!isPlainObject(value)) {
            throw new InboundError(400, 'must be an object', this.pathOf(key));
        }
        return new FieldReader(value, this.pathOf(key), this.ctx);
    }

    array(key: string): unknown[] | undefined {
        const value = this.raw(key);
        if (value === undefined) {
            return undefined;
        }
        if (!Array.isArray(value)) {
            throw new InboundError(400, 'must be an array', this.pathOf(key));
        }
        return value;
    }

    /**
     * A URL-ish string as sent (trimmed, not cleaned: a control character inside a URL must fail
     * validation rather than be silently removed); '' → undefined.
     */
    rawUrl(key: string): string | undefined {
        const value = this.string(key);
        if (value === undefined) {
            return undefined;
        }
        checkFieldLength(value, this.pathOf(key), this.ctx);
        const trimmed = value.trim();
        return trimmed === '' ? undefined : trimmed;
    }

    /** An http(s) URL a client or the shell may load; anything else is a 400. */
    url(key: string): string | undefined {
        const value = this.rawUrl(key);
        if (value === undefined) {
            return undefined;
        }
        const parsed = parseHttpUrl(value);
        if (!parsed.ok) {
            throw new InboundError(400, `must be an http(s) URL (${parsed.reason})`, this.pathOf(key));
        }
        return value;
    }

    /** A free-form JSON object (customFields): deep-copied, strings cleaned, unsafe keys dropped. */
    freeObject(key: string): Record<string, unknown> | undefined {
        const value = this.raw(key);
        if (value === undefined) {
            return undefined;
        }
        if (!isPlainObject(value)) {
            throw new InboundError(400, 'must be an object', this.pathOf(key));
        }
        return copyJson(value, this.pathOf(key), this.ctx, 0) as Record<string, unknown>;
    }
}

export function readId(value: unknown, path: string, ctx: ParseContext): string | undefined {
    let text: string;
    if (typeof value === 'string') {
        text = value;
    } else if (typeof value === 'number' && isFinite(value) && Math.floor(value) === value) {
        // Some senders (QQ group ids, Telegram chat ids) send numbers where ids are expected.
        text = String(value);
    } else {
        throw new InboundError(400, 'must be a string', path);
    }
    checkFieldLength(text, path, ctx);
    if (/[\u0000-\u001F\u007F]/.test(text) || cleanText(text) !== text) {
        throw new InboundError(400, 'must not contain control characters or broken characters', path);
    }
    return text === '' ? undefined : text;
}

export function checkTextLength(value: string, path: string, ctx: ParseContext): void {
    if (value.length > ctx.limits.maxTextLength) {
        throw new InboundError(413, `${value.length} characters exceeds the limit of ${ctx.limits.maxTextLength}`, path);
    }
}

export function checkFieldLength(value: string, path: string, ctx: ParseContext): void {
    if (value.length > ctx.limits.maxFieldLength) {
        throw new InboundError(400, `longer than ${ctx.limits.maxFieldLength} characters`, path);
    }
}

function copyJson(value: unknown, path: string, ctx: ParseContext, depth: number): unknown {
    if (depth > ctx.limits.maxDepth) {
        throw new InboundError(400, `nested deeper than ${ctx.limits.maxDepth} levels`, path);
    }
    if (typeof value === 'string') {
        checkTextLength(value, path, ctx);
        return cleanText(value);
    }
    if (typeof value === 'number') {
        return isFinite(value) ? value : null;
    }
    if (typeof value === 'boolean' || value === null) {
        return value;
    }
    if (Array.isArray(value)) {
        const items: unknown[] = [];
        for (let i = 0; i < value.length; i++) {
            items.push(copyJson(value[i], childPath(path, i), ctx, depth + 1));
        }
        return items;
    }
    if (isPlainObject(value)) {
        const out: Record<string, unknown> = {};
        for (const key of Object.keys(value)) {
            if (isUnsafeKey(key)) {
                ctx.warnings.push(`${childPath(path, key)}: key dropped`);
                continue;
            }
            out[cleanText(key)] = copyJson(value[key], childPath(path, key), ctx, depth + 1);
        }
        return out;
    }
    // undefined, functions, symbols, typed arrays: not JSON.
    throw new InboundError(400, 'must be a JSON value', path);
}
