// Small helpers the target adapters share: reading config values with ConfigError paths, reading
// Apprise-style query strings, and turning a failed response into a TargetError.

import { ConfigError } from '../core/errors';
import type { HttpResult, OutboundRequest } from '../core/http';
import { truncateText } from '../core/text';
import { DeliveryInput, OutboundFile, TargetError } from '../core/adapter';

// ---------------------------------------------------------------------------------------------
// Config values

export function optionalString(raw: Record<string, unknown>, key: string): string | undefined {
    const value = raw[key];
    if (value === undefined || value === null || value === '') {
        return undefined;
    }
    if (typeof value !== 'string') {
        throw new ConfigError(key, `must be a string, got ${typeof value}`);
    }
    return value.trim() || undefined;
}

export function requireString(raw: Record<string, unknown>, key: string, why: string): string {
    const value = optionalString(raw, key);
    if (value === undefined) {
        throw new ConfigError(key, `is required (${why})`);
    }
    return value;
}

/** Booleans as JSON or as Apprise writes them in URLs (`yes`/`no`, `true`/`false`, `1`/`0`). */
export function optionalBoolean(raw: Record<string, unknown>, key: string): boolean | undefined {
    const value = raw[key];
    if (value === undefined || value === null) {
        return undefined;
    }
    if (typeof value === 'boolean') {
        return value;
    }
    if (typeof value === 'string') {
        const word = value.trim().toLowerCase();
        if (['yes', 'true', '1', 'on'].indexOf(word) >= 0) {
            return true;
        }
        if (['no', 'false', '0', 'off'].indexOf(word) >= 0) {
            return false;
        }
    }
    throw new ConfigError(key, `must be true or false, got ${JSON.stringify(value)}`);
}

export function optionalPositiveInteger(raw: Record<string, unknown>, key: string): number | undefined {
    const value = raw[key];
    if (value === undefined || value === null) {
        return undefined;
    }
    const parsed = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof parsed !== 'number' || !isFinite(parsed) || parsed <= 0 || Math.floor(parsed) !== parsed) {
        throw new ConfigError(key, `must be a positive whole number, got ${JSON.stringify(value)}`);
    }
    return parsed;
}

/** An absolute http(s) URL, returned without trailing slashes. */
export function requireHttpUrl(raw: Record<string, unknown>, key: string, why: string): string {
    const value = requireString(raw, key, why);
    let parsed: URL;
    try {
        parsed = new URL(value);
    } catch {
        throw new ConfigError(key, `must be an absolute http(s) URL, got "${value}"`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
        throw new ConfigError(key, `must use http or https, got "${parsed.protocol}"`);
    }
    return value.replace(/\/+$/, '');
}

// Scheme and host only: safe to show in status output when the path or query may hold secrets.
export { originOf } from '../core/redact';

// ---------------------------------------------------------------------------------------------
// Apprise-style URLs

export function decodeUrlPart(text: string, path = 'url'): string {
    try {
        return decodeURIComponent(text);
    } catch {
        throw new ConfigError(path, `malformed percent-encoding in "${text}"`);
    }
}

/**
 * Query parameters in order, percent-decoded. Unlike URLSearchParams, `+` stays `+`: Apprise uses a
 * leading `+` for header parameters (`?+X-Token=abc`), and tokens often contain it.
 */
export function queryParams(url: URL): Array<[string, string]> {
    const query = url.search.replace(/^\?/, '');
    if (!query) {
        return [];
    }
    return query.split('&').filter((pair) => pair.length > 0).map((pair): [string, string] => {
        const equals = pair.indexOf('=');
        const key = equals < 0 ? pair : pair.slice(0, equals);
        const value = equals < 0 ? '' : pair.slice(equals + 1);
        return [decodeUrlPart(key), decodeUrlPart(value)];
    });
}

/**
 * The one channel an Apprise URL names (or undefined): our URLs address one destination each, and
 * more channels are more rules, so a list is refused at `key`.
 */
export function singleUrlChannel(channels: string[], key: string): string | undefined {
    if (channels.length > 1) {
        throw new ConfigError(key, `one channel per URL, got ${channels.join(', ')}; relay to more channels with more rules`);
    }
    return channels[0];
}

/** The last value of a query parameter (case-insensitive name), or undefined. */
export function queryValue(url: URL, ...names: string[]): string | undefined {
    let found: string | undefined;
    for (const [key, value] of queryParams(url)) {
        if (names.indexOf(key.toLowerCase()) >= 0) {
            found = value;
        }
    }
    return found;
}

/** Decoded, non-empty path segments. */
export function pathSegments(url: URL): string[] {
    return url.pathname.split('/').filter((part) => part.length > 0).map((part) => decodeUrlPart(part));
}

// ---------------------------------------------------------------------------------------------
// Responses

export function isSuccessStatus(status: number): boolean {
    return status >= 200 && status < 300;
}

/** Network-ish statuses worth retrying: timeout, rate limit, server errors (0 = no response). */
export function isRetryableStatus(status: number): boolean {
    return status === 0 || status === 408 || status === 429 || status >= 500;
}

/**
 * How long to wait before retrying: the body's `retry_after` seconds when the target sends one
 * (Discord, may be fractional), else the Retry-After header (seconds or HTTP date).
 */
export function retryAfterMs(response: HttpResult, bodySeconds?: unknown, now = Date.now()): number | undefined {
    if (typeof bodySeconds === 'number' && isFinite(bodySeconds) && bodySeconds >= 0) {
        return Math.ceil(bodySeconds * 1000);
    }
    const header = (response.headers['retry-after'] || '').trim();
    if (/^\d+(\.\d+)?$/.test(header)) {
        return Math.ceil(Number(header) * 1000);
    }
    const date = header ? Date.parse(header) : NaN;
    return isNaN(date) ? undefined : Math.max(0, date - now);
}

/** A TargetError for a failed response, with the target's own error text when it gave one. */
export function responseError(
    targetName: string,
    response: HttpResult,
    detail?: string,
    bodyRetryAfterSeconds?: unknown,
): TargetError {
    const retryable = isRetryableStatus(response.status);
    const text = detail || bodyExcerpt(response.body);
    return new TargetError(
        `${targetName} answered ${response.status}${text ? `: ${text}` : ''}`,
        response.status,
        retryable,
        retryable ? retryAfterMs(response, bodyRetryAfterSeconds) : undefined,
    );
}

export function bodyExcerpt(body: string): string {
    return truncateText(body.replace(/\s+/g, ' ').trim(), 300);
}

// ---------------------------------------------------------------------------------------------
// Split messages

/**
 * Fits re-split text onto the parts a message already has at the target: extra chunks are
 * merged into the last part (truncated to `maxLength`), because an edit cannot add messages.
 * Fewer chunks than parts is returned as is; the caller deletes the surplus parts.
 */
export function fitChunksToParts(chunks: string[], partCount: number, maxLength: number): string[] {
    if (partCount === 0) {
        return [];
    }
    if (chunks.length <= partCount) {
        return chunks;
    }
    const kept = chunks.slice(0, partCount - 1);
    kept.push(truncateText(chunks.slice(partCount - 1).join('\n'), maxLength));
    return kept;
}

export { mediaKind } from '../core/files';

/** A markdown link to a file under its name. */
export function markdownLink(name: string, url: string): string {
    return `[${name.replace(/[[\]]/g, '')}](${url})`;
}

/** A file not uploaded, as a markdown line: its link to this server, or its label when it has one. */
export function fileMarkdown(file: OutboundFile): string {
    return file.label || markdownLink(file.name, file.url);
}

/** The requests for the event at hand, from one builder per event (the shape every adapter shares). */
export function requestsForEvent<C>(
    input: DeliveryInput<C>,
    builders: { sent: (input: DeliveryInput<C>) => OutboundRequest[]; edited: (input: DeliveryInput<C>) => OutboundRequest[]; deleted: (input: DeliveryInput<C>) => OutboundRequest[] },
): OutboundRequest[] {
    return builders[input.message.event](input);
}
