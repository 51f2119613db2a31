// Splits a multipart/form-data body the way a service's parser would (binary-safe), for sinks.
import type { RecordedRequest } from './sink';

export interface ReceivedPart {
    name: string;
    filename?: string;
    headers: string;
    body: Buffer;
}

export function multipartParts(request: RecordedRequest): ReceivedPart[] {
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(request.headers['content-type'])!;
    const marker = Buffer.from(`--${boundary[1] || boundary[2]}`);
    const parts: ReceivedPart[] = [];
    let start = request.body.indexOf(marker) + marker.length;
    for (;;) {
        const next = request.body.indexOf(marker, start);
        if (next < 0) break;
        const chunk = request.body.subarray(start + 2, next - 2); // skip CRLF after the marker and before the next
        const split = chunk.indexOf('\r\n\r\n');
        const headers = chunk.subarray(0, split).toString('utf8');
        const filename = /filename="([^"]*)"/.exec(headers);
        parts.push({ name: (/name="([^"]*)"/.exec(headers) || [])[1] || '', filename: filename ? filename[1] : undefined, headers, body: chunk.subarray(split + 4) });
        start = next + marker.length;
    }
    return parts;
}
