// HTTP as the core sees it: plain data. The shell turns these into IHttp calls, so adapters stay
// testable without the engine and every request they make is visible in a table test.

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface MultipartFile {
    filename: string;
    contentType: string;
    bytes: Uint8Array;
}

/** One part of a multipart/form-data body: a text field or a file. */
export interface MultipartPart {
    name: string;
    value?: string;
    file?: MultipartFile;
}

export interface OutboundRequest {
    method: HttpMethod;
    url: string;
    headers: Record<string, string>;
    /** Serialised body (JSON, form or plain text); exclusive with `multipart` and `bytes`. */
    body?: string;
    /** multipart/form-data parts; the shell encodes them with `encodeMultipart`. */
    multipart?: MultipartPart[];
    /** A raw binary body (a media upload), sent as it is with the request's Content-Type. */
    bytes?: Uint8Array;
    /** The adapter's own name for the request (e.g. which upload it is), never sent: readResponse reads it back. */
    tag?: string;
}

/**
 * The most of an answer the app reads (1 MiB). No target's API answer comes near it; past it the
 * body is cut, so a huge answer costs one delivery's worth of work, nothing more.
 */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface HttpResult {
    status: number;
    /** Header names lower-cased. */
    headers: Record<string, string>;
    /** The body as UTF-8 text (its first MAX_RESPONSE_BYTES when `truncated`). */
    body: string;
    /** The body was longer than MAX_RESPONSE_BYTES: `body` holds only its start. */
    truncated?: boolean;
}

/**
 * Parses a JSON response body, or returns undefined when it is not JSON (or was cut short).
 * JSON.parse makes a `__proto__` key an own property, never the object's prototype.
 */
export function parseJsonBody(result: HttpResult): any {
    if (!result.body || result.truncated) {
        return undefined;
    }
    try {
        return JSON.parse(result.body);
    } catch {
        return undefined;
    }
}
