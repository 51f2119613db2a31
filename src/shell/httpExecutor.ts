import { IHttp, IHttpRequest, IHttpResponse } from '@rocket.chat/apps-engine/definition/accessors';
import { Buffer as NodeBuffer } from 'buffer';

import { HttpResult, MAX_RESPONSE_BYTES, OutboundRequest } from '../core/http';
import { encodeMultipart } from '../core/multipart';
import { originOf } from '../core/redact';
import { utf8Decode } from '../core/utf8';
import { TargetError } from '../core/adapter';

export const DEFAULT_TIMEOUT_MS = 10000;

/**
 * Runs one core request through the engine's IHttp. Network failures become a retryable
 * TargetError with status 0.
 *
 * Binary bodies go as a Node Buffer: Rocket.Chat's serverFetch JSON-stringifies any object body
 * that is not one, and the engine's transport delivers a plain Uint8Array to the server as a
 * Buffer only by chance (small messages); a Buffer it always delivers as a Buffer (its msgpack
 * extension 1). Answers are asked for as bytes (`encoding: null`) and parsed here: the server
 * would otherwise parse JSON into `data` and send it into the runtime, whose decoder stops for good
 * on a `__proto__` key, and would send a huge body twice.
 */
export async function executeRequest(http: IHttp, request: OutboundRequest, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<HttpResult> {
    const options = { headers: { ...request.headers }, timeout: timeoutMs, encoding: null } as unknown as IHttpRequest;
    if (request.multipart) {
        const encoded = encodeMultipart(request.multipart);
        options.headers!['Content-Type'] = encoded.contentType;
        options.content = asNodeBuffer(encoded.body) as unknown as string;
    } else if (request.bytes) {
        options.content = asNodeBuffer(request.bytes) as unknown as string;
    } else if (request.body !== undefined) {
        options.content = request.body;
    }
    let response: IHttpResponse;
    try {
        response = await call(http, request, options);
    } catch (e) {
        throw new TargetError(`${request.method} ${(originOf(request.url) || '(invalid url)')} failed: ${e instanceof Error ? e.message : String(e)}`, 0, true);
    }
    if (!response) {
        throw new TargetError(`${request.method} ${(originOf(request.url) || '(invalid url)')} failed: no response`, 0, true);
    }
    const headers: Record<string, string> = {};
    const rawHeaders = response.headers || {};
    for (const name of Object.keys(rawHeaders)) {
        headers[name.toLowerCase()] = String(rawHeaders[name]);
    }
    return { status: response.statusCode, headers, ...readBody(response.content) };
}

/** A view of the bytes as a Node Buffer (no copy), the one binary body the server sends as it is. */
export function asNodeBuffer(bytes: Uint8Array): Uint8Array {
    return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The answer's text, decoded from at most MAX_RESPONSE_BYTES; a longer body is marked truncated. */
function readBody(content: unknown): Pick<HttpResult, 'body' | 'truncated'> {
    if (typeof content === 'string') {
        return { body: content }; // a server that ignored `encoding: null`
    }
    const bytes = responseBytes(content) || new Uint8Array(0);
    if (bytes.length > MAX_RESPONSE_BYTES) {
        return { body: utf8Decode(bytes.subarray(0, MAX_RESPONSE_BYTES)), truncated: true };
    }
    return { body: utf8Decode(bytes) };
}

/** A response body asked for with `encoding: null`, in whichever form the engine's transport delivered it. */
export function responseBytes(content: unknown): Uint8Array | undefined {
    if (content instanceof Uint8Array) {
        return content;
    }
    if (content && typeof content === 'object') {
        const data = (content as { type?: string; data?: unknown }).data;
        if ((content as { type?: string }).type === 'Buffer' && Array.isArray(data)) {
            return new Uint8Array(data as number[]);
        }
        // A typed array that lost its class on the way: {"0":1,"1":2,…}.
        const values = Object.keys(content).map((k) => (content as Record<string, unknown>)[k]);
        if (values.every((v) => typeof v === 'number')) {
            return new Uint8Array(values as number[]);
        }
    }
    return undefined;
}

function call(http: IHttp, request: OutboundRequest, options: IHttpRequest): Promise<IHttpResponse> {
    switch (request.method) {
        case 'GET':
            return http.get(request.url, options);
        case 'PUT':
            return http.put(request.url, options);
        case 'PATCH':
            return http.patch(request.url, options);
        case 'DELETE':
            return http.del(request.url, options);
        default:
            return http.post(request.url, options);
    }
}
