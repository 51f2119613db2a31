import { IHttp, IHttpRequest, IHttpResponse } from '@rocket.chat/apps-engine/definition/accessors';

import { HttpResult, OutboundRequest } from '../core/http';
import { encodeMultipart } from '../core/multipart';
import { TargetError } from '../targets/types';

export const DEFAULT_TIMEOUT_MS = 10000;

/**
 * Runs one core request through the engine's IHttp. Multipart bodies travel as bytes: the Deno
 * runtime's msgpack transport keeps a Uint8Array intact and Rocket.Chat hands it to fetch as is.
 * Network failures become a retryable TargetError with status 0.
 */
export async function executeRequest(http: IHttp, request: OutboundRequest, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<HttpResult> {
    const options: IHttpRequest = { headers: { ...request.headers }, timeout: timeoutMs };
    if (request.multipart) {
        const encoded = encodeMultipart(request.multipart);
        options.headers!['Content-Type'] = encoded.contentType;
        options.content = encoded.body as unknown as string;
    } else if (request.body !== undefined) {
        options.content = request.body;
    }
    let response: IHttpResponse;
    try {
        response = await call(http, request, options);
    } catch (e) {
        throw new TargetError(`${request.method} ${hostOf(request.url)} failed: ${e instanceof Error ? e.message : String(e)}`, 0, true);
    }
    if (!response) {
        throw new TargetError(`${request.method} ${hostOf(request.url)} failed: no response`, 0, true);
    }
    const headers: Record<string, string> = {};
    const rawHeaders = response.headers || {};
    for (const name of Object.keys(rawHeaders)) {
        headers[name.toLowerCase()] = String(rawHeaders[name]);
    }
    return { status: response.statusCode, headers, body: typeof response.content === 'string' ? response.content : '' };
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

/** Only the origin goes into logs: target URLs often embed tokens in their paths. */
export function hostOf(url: string): string {
    const match = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)/i.exec(url);
    return match ? match[1].replace(/\/\/[^@/]*@/, '//') : '(invalid url)';
}
