// The request as the inbound endpoint sees it: plain data, built by the shell from the engine's
// IApiRequest, so the parser and the authenticator stay testable without the engine.

export interface InboundRequest {
    /** Lower-case HTTP method (`post`). */
    method: string;
    /** The source the request names with `?source=` (`''` when it leaves that to the token). */
    namedSource: string;
    /** Header names lower-cased. */
    headers: Record<string, string>;
    query: Record<string, string>;
    /** What the engine parsed: a JSON value, a urlencoded object, or a raw string. */
    body: unknown;
}

/**
 * Builds an InboundRequest from loosely typed parts (the engine's request object), lower-casing
 * header names and dropping anything that is not a string, so later code can trust the shape.
 */
export function inboundRequest(parts: { method?: unknown; namedSource?: unknown; headers?: unknown; query?: unknown; body?: unknown }): InboundRequest {
    return {
        method: typeof parts.method === 'string' ? parts.method.toLowerCase() : 'post',
        namedSource: typeof parts.namedSource === 'string' ? parts.namedSource : '',
        headers: stringRecord(parts.headers, true),
        query: stringRecord(parts.query, false),
        body: parts.body,
    };
}

function stringRecord(value: unknown, lowerCaseKeys: boolean): Record<string, string> {
    const out: Record<string, string> = {};
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return out;
    }
    for (const key of Object.keys(value)) {
        let entry = (value as Record<string, unknown>)[key];
        // Repeated headers/params arrive as arrays from some servers: the first one counts.
        if (Array.isArray(entry)) {
            entry = entry[0];
        }
        if (typeof entry === 'string' && !isUnsafeKey(key)) {
            out[lowerCaseKeys ? key.toLowerCase() : key] = entry;
        }
    }
    return out;
}

/** Keys that would touch the prototype when assigned on a plain object. */
export function isUnsafeKey(key: string): boolean {
    return key === '__proto__' || key === 'constructor' || key === 'prototype';
}
