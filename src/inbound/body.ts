// Turns whatever the engine handed us as a body into one JSON object, with the nesting and size
// guards applied before any dialect code reads it. Handles raw strings (JSON or urlencoded) and
// the form-wrapped variants senders use: Rocket.Chat/Slack `payload=<json>`, Discord `payload_json`.

import { InboundError } from './errors';
import { utf8Decode } from '../core/utf8';
import { isUnsafeKey, InboundRequest } from './request';
import { childPath, hasOwn, isPlainObject, ownValue } from './values';
import type { InboundLimits } from './types';

export interface DecodedBody {
    body: Record<string, unknown>;
    /** The form field the JSON came wrapped in, when it did. */
    wrappedIn?: 'payload' | 'payload_json';
}

export function mediaType(req: InboundRequest): string {
    const header = ownValue(req.headers, 'content-type');
    return typeof header === 'string' ? header.split(';')[0].trim().toLowerCase() : '';
}

export function decodeBody(req: InboundRequest, limits: InboundLimits): DecodedBody {
    const type = mediaType(req);
    let body = req.body;
    if (body instanceof Uint8Array) {
        body = utf8Decode(body);
    }
    if (body === undefined || body === null || body === '') {
        throw new InboundError(400, 'empty request body', 'body');
    }
    if (typeof body === 'string') {
        body = parseStringBody(body, type, limits);
    } else if (isPlainObject(body) && Object.keys(body).length === 0) {
        // Rocket.Chat parses only JSON and urlencoded bodies for apps; any other type arrives as {}.
        if (type !== 'application/json' && type !== 'application/x-www-form-urlencoded') {
            throw new InboundError(415, `content type ${type || '(none)'} is not supported; send application/json or application/x-www-form-urlencoded`);
        }
        throw new InboundError(400, 'empty request body', 'body');
    }
    guardShape(body, 'body', limits);
    if (!isPlainObject(body)) {
        throw new InboundError(400, 'must be a JSON object', 'body');
    }
    const fromForm = type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data';
    const keyCount = Object.keys(body).length;
    for (const key of ['payload', 'payload_json'] as Array<'payload' | 'payload_json'>) {
        const wrapped = ownValue(body, key);
        // Like Rocket.Chat: unwrap when it is the only field, or when the request is a form.
        if (typeof wrapped === 'string' && (keyCount === 1 || fromForm)) {
            const inner = parseJson(wrapped, childPath('body', key), limits);
            guardShape(inner, childPath('body', key), limits);
            if (!isPlainObject(inner)) {
                throw new InboundError(400, 'must be a JSON object', childPath('body', key));
            }
            return { body: inner, wrappedIn: key };
        }
    }
    return { body };
}

function parseStringBody(text: string, type: string, limits: InboundLimits): unknown {
    if (type === 'multipart/form-data') {
        throw new InboundError(415, 'multipart bodies are not supported; send JSON or a urlencoded payload field');
    }
    if (type === 'application/x-www-form-urlencoded') {
        return parseUrlEncoded(text);
    }
    if (type !== '' && type !== 'text/plain' && type !== 'application/json' && !/\+json$/.test(type)) {
        throw new InboundError(415, `content type ${type} is not supported; send JSON`);
    }
    const trimmed = text.replace(/^[\s\uFEFF]+/, '');
    if (type === '' && trimmed[0] !== '{' && trimmed[0] !== '[' && /^[^=&\s]+=/.test(trimmed)) {
        return parseUrlEncoded(text); // untyped form post
    }
    return parseJson(text, 'body', limits);
}

/** JSON.parse behind a cheap nesting pre-scan, so hostile nesting never reaches the parser. */
export function parseJson(text: string, field: string, limits: InboundLimits): unknown {
    const depth = jsonNestingExceeds(text, limits.maxDepth);
    if (depth) {
        throw new InboundError(400, `nested deeper than ${limits.maxDepth} levels`, field);
    }
    try {
        return JSON.parse(text);
    } catch (error) {
        throw new InboundError(400, `invalid JSON (${error instanceof Error ? error.message : 'parse error'})`, field);
    }
}

/** True when `text` opens more than `maxDepth` brackets at once (strings are skipped). */
function jsonNestingExceeds(text: string, maxDepth: number): boolean {
    let depth = 0;
    let inString = false;
    for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (inString) {
            if (code === 0x5c) {
                i++;
            } else if (code === 0x22) {
                inString = false;
            }
        } else if (code === 0x22) {
            inString = true;
        } else if (code === 0x7b || code === 0x5b) {
            depth++;
            if (depth > maxDepth) {
                return true;
            }
        } else if (code === 0x7d || code === 0x5d) {
            depth--;
        }
    }
    return false;
}

export function parseUrlEncoded(text: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const pair of text.split('&')) {
        if (pair === '') {
            continue;
        }
        const equals = pair.indexOf('=');
        const rawKey = equals < 0 ? pair : pair.slice(0, equals);
        const rawValue = equals < 0 ? '' : pair.slice(equals + 1);
        let key: string;
        let value: string;
        try {
            key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
            value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
        } catch {
            throw new InboundError(400, 'malformed urlencoded form', 'body');
        }
        if (!isUnsafeKey(key) && !hasOwn(out, key)) {
            out[key] = value;
        }
    }
    return out;
}

/**
 * Walks the value without recursion and refuses nesting deeper than `maxDepth` (400) or more than
 * `maxNodes` values (413). Also stops on cycles, which can only come from in-process callers.
 */
export function guardShape(value: unknown, field: string, limits: InboundLimits): void {
    const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
    let nodes = 0;
    while (stack.length > 0) {
        const item = stack.pop() as { value: unknown; depth: number };
        if (typeof item.value !== 'object' || item.value === null) {
            continue;
        }
        if (item.depth >= limits.maxDepth) {
            throw new InboundError(400, `nested deeper than ${limits.maxDepth} levels`, field);
        }
        const children: unknown[] = Array.isArray(item.value) ? item.value : Object.keys(item.value).map((key) => (item.value as Record<string, unknown>)[key]);
        nodes += children.length;
        if (nodes > limits.maxNodes) {
            throw new InboundError(413, `more than ${limits.maxNodes} JSON values`, field);
        }
        for (const child of children) {
            if (typeof child === 'object' && child !== null) {
                stack.push({ value: child, depth: item.depth + 1 });
            }
        }
    }
}
