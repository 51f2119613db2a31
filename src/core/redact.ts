// The one redaction path for every text that leaves the app: logs, `/relay` replies, the status
// endpoint, dead letters and counters' last errors. Target URLs carry their credentials in the
// path, query or user info (webhook tokens, signatures), secrets come from the Secrets setting,
// and a target's error body may echo any of them back.

/** Scheme and host only (credentials dropped); '' when `url` is not `scheme://…`. */
export function originOf(url: string): string {
    const match = /^([a-z][a-z0-9+.-]*:\/\/)(?:[^@/?#]*@)?([^/?#]*)/i.exec(url);
    return match ? match[1] + match[2] : '';
}

/**
 * A URL as it may be shown: scheme and host, everything after them hidden. A host that is not a
 * plain name or address (Telegram's `tgram://id:token/…` keeps a token there) is hidden too.
 */
export function maskUrl(url: string): string {
    const match = /^([a-z][a-z0-9+.-]*:\/\/)(?:([^@/?#]*)@)?([^/?#]*)/i.exec(url.trim());
    if (!match) {
        return '***';
    }
    const host = /^([a-z0-9.-]+|\[[0-9a-f:.]+\])(:\d{1,5})?$/i.test(match[3]) ? match[3] : '***';
    const more = url.trim().length > match[0].length && url.trim().slice(match[0].length) !== '/';
    return `${match[1]}${match[2] !== undefined ? '***@' : ''}${host}${more || host === '***' ? '/***' : ''}`;
}

// A URL inside free text: up to whitespace, a quote or a closing bracket (sentence punctuation
// after it is not part of it).
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`)\]]*/gi;

/** Every URL inside `text` masked (see maskUrl). */
export function maskUrlsIn(text: string): string {
    return text.replace(URL_IN_TEXT, (found) => {
        const url = found.replace(/[.,;:!?]+$/, '');
        return maskUrl(url) + found.slice(url.length);
    });
}

// Adapter keys whose values are credentials wherever they appear.
const CREDENTIAL_KEY = /token|secret|passw|pass$|key|auth|sig|cookie/i;
const MIN_SECRET_LENGTH = 4;
const MIN_PATH_SEGMENT_LENGTH = 8;

interface Hidden {
    value: string;
    shownAs: string;
    /** Secrets go first, so a URL path that contains one still shows which secret it was. */
    secret?: boolean;
}

/**
 * Hides known secret values in texts: Secrets setting values (shown as their `${NAME}`
 * reference), inbound tokens, credential keys of target configurations and the path, query and
 * user info of every target URL (a target that answers "no hook at /hooks/<token>" quotes them
 * without the URL around them). Then masks whatever URL is left in the text.
 */
export class Redactor {
    private readonly hidden: Hidden[];

    constructor(hidden: Hidden[] = []) {
        const seen: Record<string, boolean> = {};
        // Longest first: a secret that contains another is replaced whole.
        this.hidden = hidden
            .filter((h) => h.value.length >= MIN_SECRET_LENGTH && !seen[h.value] && (seen[h.value] = true))
            .sort((a, b) => (a.secret === b.secret ? b.value.length - a.value.length : a.secret ? -1 : 1));
    }

    /** Secrets by name, plus every value worth hiding inside `configs` (target configs, tokens). */
    public static of(secrets: Map<string, string>, ...configs: unknown[]): Redactor {
        const hidden: Hidden[] = [];
        secrets.forEach((value, name) => hidden.push({ value, shownAs: `\${${name}}`, secret: true }));
        for (const config of configs) {
            collect(config, '', hidden);
        }
        return new Redactor(hidden);
    }

    public scrub(text: string): string {
        // URLs first (whole, before their parts are hidden one by one), then the values.
        let out = maskUrlsIn(text);
        for (const { value, shownAs } of this.hidden) {
            if (out.indexOf(value) >= 0) {
                out = out.split(value).join(shownAs);
            }
            // An answer may echo a value percent-encoded.
            const encoded = encodeURIComponent(value);
            if (encoded !== value && out.indexOf(encoded) >= 0) {
                out = out.split(encoded).join(shownAs);
            }
        }
        return out;
    }
}

export const NO_SECRETS = new Redactor();

function collect(value: unknown, key: string, hidden: Hidden[]): void {
    if (typeof value === 'string') {
        if (CREDENTIAL_KEY.test(key)) {
            hidden.push({ value, shownAs: '***' });
        }
        urlParts(value).forEach((part) => hidden.push({ value: part, shownAs: '***' }));
    } else if (Array.isArray(value)) {
        value.forEach((item) => collect(item, key, hidden));
    } else if (value && typeof value === 'object') {
        for (const k of Object.keys(value)) {
            collect((value as Record<string, unknown>)[k], k, hidden);
        }
    }
}

/** The parts of a URL that may hold credentials: user info, path, query, fragment. */
function urlParts(text: string): string[] {
    const match = /^[a-z][a-z0-9+.-]*:\/\/(?:([^@/?#]*)@)?[^/?#]*([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/i.exec(text.trim());
    if (!match) {
        return [];
    }
    const [, userInfo, path, query, fragment] = match;
    const parts: string[] = [];
    if (userInfo) {
        parts.push(userInfo, ...userInfo.split(':'));
    }
    // Segment by segment: `/hooks/***` still tells the admin which endpoint answered.
    parts.push(...path.split('/').filter((s) => s.length >= MIN_PATH_SEGMENT_LENGTH || /\d/.test(s)));
    if (query) {
        parts.push(query, ...query.split('&').map((pair) => pair.slice(pair.indexOf('=') + 1)));
    }
    if (fragment) {
        parts.push(fragment);
    }
    return parts.map((p) => safeDecode(p)).concat(parts);
}

function safeDecode(text: string): string {
    try {
        return decodeURIComponent(text);
    } catch {
        return text;
    }
}
