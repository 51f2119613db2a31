// Apprise-style target URLs (`discord://id/token`, `rockets://user:pass@host/#room`, `jsons://…`)
// turned into raw instance objects and destinations. The scheme picks the adapter (an https URL:
// the adapter that recognises it); the adapter's fromUrl does the rest.

import { ConfigError } from '../core/errors';
import { maskUrl } from '../core/redact';
import type { ParsedTargetUrl, TargetAdapter, UrlInstance } from '../core/adapter';

function acceptsNativeUrl(adapter: TargetAdapter, url: URL): boolean {
    return typeof adapter.acceptsNativeUrl === 'function' && adapter.acceptsNativeUrl(url);
}

/** One destination becomes the instance's default; several stay a list the rules fan out to. */
function parsedUrl(type: string, parsed: UrlInstance): ParsedTargetUrl {
    const destinations = parsed.destinations || [];
    if (destinations.length <= 1) {
        return { type, raw: Object.assign({}, parsed.config, destinations[0] || {}) };
    }
    return { type, raw: parsed.config, destinations };
}

function nativeUrlTypes(adapters: readonly TargetAdapter[]): string {
    return adapters.filter((adapter) => typeof adapter.acceptsNativeUrl === 'function').map((adapter) => adapter.type).join(', ');
}

/**
 * Parses a target URL. `#` is not a fragment in these URLs (Apprise writes `#channel` targets),
 * so it is escaped before the WHATWG parser sees it. Throws ConfigError (path `url`) when the URL
 * is malformed or no adapter takes its scheme.
 */
export function parseTargetUrl(text: string, adapters: readonly TargetAdapter[]): ParsedTargetUrl {
    const trimmed = text.trim();
    const schemeMatch = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(trimmed);
    if (!schemeMatch) {
        throw new ConfigError('url', `this is not a target URL (expected scheme://…, e.g. discord://id/token)`);
    }
    const scheme = schemeMatch[1].toLowerCase();
    let rest = schemeMatch[2].replace(/#/g, '%23');
    // A bare `id:token` where a host belongs (Apprise's tgram://123456:ABC-def/chat): a port is
    // numeric, so a non-numeric one is a token and its colon is escaped for the URL parser.
    const authority = /^([^/?]*)/.exec(rest)![1];
    if (scheme !== 'http' && scheme !== 'https' && authority.indexOf('@') < 0 && /^[^:]+:(?!\d*$)[^:]+$/.test(authority)) {
        rest = authority.replace(':', '%3A') + rest.slice(authority.length);
    }
    if (!rest) {
        throw new ConfigError('url', `nothing after ${scheme}://`);
    }
    let url: URL;
    try {
        url = new URL(`${scheme}://${rest}`);
    } catch {
        throw new ConfigError('url', `"${maskUrl(trimmed)}" is not a valid URL (percent-encode / ? @ : in passwords and tokens)`);
    }
    let adapter: TargetAdapter | undefined;
    if (scheme === 'http' || scheme === 'https') {
        adapter = adapters.filter((candidate) => acceptsNativeUrl(candidate, url))[0];
        if (!adapter) {
            throw new ConfigError('url', `${scheme}:// URL "${maskUrl(trimmed)}" is not a known service URL `
                + `(${nativeUrlTypes(adapters)}); write it with the target's scheme instead (${supportedSchemes(adapters).map((name) => `${name}://`).join(', ')})`);
        }
    } else {
        adapter = adapters.filter((candidate) => candidate.schemes.indexOf(scheme) >= 0)[0];
        if (!adapter) {
            const known = supportedSchemes(adapters).map((name) => `${name}://`).join(', ');
            throw new ConfigError('url', `unknown scheme "${scheme}://"; supported: ${known}, or the https URL of: ${nativeUrlTypes(adapters)}`);
        }
    }
    try {
        return parsedUrl(adapter.type, adapter.fromUrl(url));
    } catch (error) {
        if (error instanceof ConfigError) {
            // Adapters name the URL part; the user wrote a URL, so say which one.
            throw new ConfigError('url', `${adapter.type} URL: ${error.path ? `${error.path}: ` : ''}${error.problem}`);
        }
        throw error;
    }
}

export function supportedSchemes(adapters: readonly TargetAdapter[]): string[] {
    const schemes: string[] = [];
    adapters.forEach((adapter) => adapter.schemes.forEach((scheme) => schemes.push(scheme)));
    return schemes;
}
