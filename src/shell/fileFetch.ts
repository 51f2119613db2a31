import { IHttp, IHttpRequest } from '@rocket.chat/apps-engine/definition/accessors';

import { checkAddress } from '../core/addressPolicy';
import { responseBytes } from './httpExecutor';

// Copies a file a sender linked to, so it lives in Rocket.Chat instead of as a link that expires.
// The URL is the sender's word: only public addresses (or private ones the admin listed) are
// fetched, the server is asked to check the resolved address too (`ssrfValidation`, honoured by
// Rocket.Chat versions whose HTTP bridge has it), the size is capped with a Range request and
// checked again on arrival, and the time with the request timeout.

export const FILE_FETCH_TIMEOUT_MS = 20000;

export interface FetchedFile {
    name: string;
    mimeType?: string;
    bytes: Uint8Array;
}

/** A failed copy: `link` says whether the URL may still be shown as a link (an address we refuse may not). */
export type FetchOutcome = { ok: true; file: FetchedFile } | { ok: false; reason: string; link: boolean };

export async function fetchFile(http: IHttp, source: { url: string; name?: string; mimeType?: string }, maxBytes: number, allowList: string[]): Promise<FetchOutcome> {
    const verdict = checkAddress(source.url, allowList);
    if (!verdict.allowed) {
        return { ok: false, reason: `not fetched: ${verdict.reason}`, link: false };
    }
    const options = { encoding: null, timeout: FILE_FETCH_TIMEOUT_MS, headers: { Range: `bytes=0-${maxBytes}` }, ssrfValidation: true } as unknown as IHttpRequest;
    let response;
    try {
        response = await http.get(source.url, options);
    } catch {
        return { ok: false, reason: 'could not be downloaded (refused, unreachable or too slow)', link: true };
    }
    if (!response || (response.statusCode !== 200 && response.statusCode !== 206)) {
        return { ok: false, reason: `could not be downloaded (HTTP ${response ? response.statusCode : 'no answer'})`, link: true };
    }
    const bytes = responseBytes(response.content);
    if (!bytes) {
        return { ok: false, reason: 'could not be downloaded (no body)', link: true };
    }
    const headers = lowerCaseKeys(response.headers);
    const total = /\/(\d+)\s*$/.exec(headers['content-range'] || '');
    if (bytes.length > maxBytes || (total && Number(total[1]) > maxBytes)) {
        return { ok: false, reason: `larger than the ${maxBytes}-byte limit`, link: true };
    }
    if (bytes.length === 0) {
        return { ok: false, reason: 'the file is empty', link: true };
    }
    const type = (headers['content-type'] || '').split(';')[0].trim().toLowerCase();
    return { ok: true, file: { name: source.name || nameFromUrl(source.url), mimeType: type || source.mimeType, bytes } };
}

function lowerCaseKeys(headers: unknown): Record<string, string> {
    const out: Record<string, string> = {};
    if (headers && typeof headers === 'object') {
        for (const key of Object.keys(headers)) {
            out[key.toLowerCase()] = String((headers as Record<string, unknown>)[key]);
        }
    }
    return out;
}

function nameFromUrl(url: string): string {
    const path = url.split(/[?#]/)[0];
    const last = path.slice(path.lastIndexOf('/') + 1);
    try {
        return decodeURIComponent(last) || 'file';
    } catch {
        return last || 'file';
    }
}
