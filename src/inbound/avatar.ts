// URL safety for what the inbound endpoint receives. Avatars are loaded by every reader's browser,
// attachment URLs may be fetched by the server: both must be plain http(s) URLs, and literal
// loopback/private hosts are refused so a sender cannot point us (or readers) at the intranet.
//
// The parser is deliberately stricter than WHATWG URL: it refuses backslashes, whitespace,
// credentials, percent-encoded hosts and `http:host` forms, and reads numeric hosts the way WHATWG
// does (`http://2130706433/`, `http://0x7f.1/` are 127.0.0.1), so what we check is what a fetcher
// would connect to. Host names are not resolved: a public name that resolves to a private address
// (DNS rebinding) must be caught by the fetching side.

export type HostKind = 'name' | 'ipv4' | 'ipv6';

export interface HttpUrl {
    scheme: 'http' | 'https';
    /** Lower-case host without brackets or trailing dot. */
    host: string;
    hostKind: HostKind;
    /** Four octets for IPv4 hosts. */
    ipv4?: number[];
    /** Eight 16-bit groups for IPv6 hosts. */
    ipv6?: number[];
    port?: number;
}

export type UrlCheck = { ok: true } | { ok: false; reason: string };

const MAX_URL_LENGTH = 2048;

export function parseHttpUrl(url: string): { ok: true; url: HttpUrl } | { ok: false; reason: string } {
    if (url.length > MAX_URL_LENGTH) {
        return { ok: false, reason: 'too long' };
    }
    if (/[\u0000-\u0020\u007F\\]/.test(url)) {
        return { ok: false, reason: 'contains spaces, control characters or backslashes' };
    }
    const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^\/?#]*)(.*)$/.exec(url);
    if (!match) {
        return { ok: false, reason: 'not an absolute URL' };
    }
    const scheme = match[1].toLowerCase();
    if (scheme !== 'http' && scheme !== 'https') {
        return { ok: false, reason: `scheme ${scheme} is not allowed` };
    }
    const authority = match[2];
    if (authority.indexOf('@') >= 0) {
        return { ok: false, reason: 'credentials in URLs are not allowed' };
    }
    let hostPart = authority;
    let portPart = '';
    if (authority[0] === '[') {
        const close = authority.indexOf(']');
        if (close < 0) {
            return { ok: false, reason: 'invalid IPv6 host' };
        }
        hostPart = authority.slice(0, close + 1);
        const rest = authority.slice(close + 1);
        if (rest !== '' && rest[0] !== ':') {
            return { ok: false, reason: 'invalid host' };
        }
        portPart = rest.slice(1);
    } else {
        const colon = authority.lastIndexOf(':');
        if (colon >= 0) {
            hostPart = authority.slice(0, colon);
            portPart = authority.slice(colon + 1);
        }
    }
    let port: number | undefined;
    if (portPart !== '') {
        if (!/^[0-9]{1,5}$/.test(portPart) || Number(portPart) > 65535) {
            return { ok: false, reason: 'invalid port' };
        }
        port = Number(portPart);
    }
    const host = parseHost(hostPart);
    if ('reason' in host) {
        return { ok: false, reason: host.reason };
    }
    return { ok: true, url: { scheme, host: host.host, hostKind: host.kind, ipv4: host.ipv4, ipv6: host.ipv6, port } };
}

type ParsedHost = { host: string; kind: HostKind; ipv4?: number[]; ipv6?: number[] } | { reason: string };

function parseHost(raw: string): ParsedHost {
    if (raw === '') {
        return { reason: 'missing host' };
    }
    if (raw[0] === '[') {
        const groups = parseIpv6(raw.slice(1, -1));
        return groups ? { host: raw.slice(1, -1).toLowerCase(), kind: 'ipv6', ipv6: groups } : { reason: 'invalid IPv6 host' };
    }
    if (raw.indexOf('%') >= 0) {
        // Browsers percent-decode hosts (`%31%32%37.0.0.1`); refusing is simpler than decoding twice.
        return { reason: 'percent-encoded host' };
    }
    let host = raw.toLowerCase();
    if (/[^\u0000-\u007F]/.test(host)) {
        return { reason: 'non-ASCII host (use punycode)' };
    }
    if (host[host.length - 1] === '.') {
        host = host.slice(0, -1);
    }
    if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(host)) {
        return { reason: 'invalid host' };
    }
    const labels = host.split('.');
    const last = labels[labels.length - 1];
    // WHATWG: a host whose last label is a number is an IPv4 address (or invalid), in any radix.
    if (/^(0x[0-9a-f]*|[0-9]+)$/.test(last)) {
        const octets = parseIpv4(labels);
        return octets ? { host: octets.join('.'), kind: 'ipv4', ipv4: octets } : { reason: 'invalid IPv4 host' };
    }
    return { host, kind: 'name' };
}

function parseIpv4Number(part: string): number | undefined {
    if (part === '') {
        return undefined;
    }
    if (/^0x/.test(part)) {
        return part.length === 2 ? 0 : /^0x[0-9a-f]+$/.test(part) ? parseInt(part.slice(2), 16) : undefined;
    }
    if (part.length > 1 && part[0] === '0') {
        return /^[0-7]+$/.test(part) ? parseInt(part, 8) : undefined;
    }
    return /^[0-9]+$/.test(part) ? parseInt(part, 10) : undefined;
}

function parseIpv4(labels: string[]): number[] | undefined {
    if (labels.length > 4) {
        return undefined;
    }
    const numbers: number[] = [];
    for (const label of labels) {
        const value = parseIpv4Number(label);
        if (value === undefined || !isFinite(value)) {
            return undefined;
        }
        numbers.push(value);
    }
    for (let i = 0; i < numbers.length - 1; i++) {
        if (numbers[i] > 255) {
            return undefined;
        }
    }
    const last = numbers[numbers.length - 1];
    if (last >= Math.pow(256, 5 - numbers.length)) {
        return undefined;
    }
    let address = last;
    for (let i = 0; i < numbers.length - 1; i++) {
        address += numbers[i] * Math.pow(256, 3 - i);
    }
    return [Math.floor(address / 16777216) % 256, Math.floor(address / 65536) % 256, Math.floor(address / 256) % 256, address % 256];
}

/** Parses an IPv6 literal (without brackets) into eight groups; undefined when invalid. */
export function parseIpv6(text: string): number[] | undefined {
    if (!/^[0-9a-fA-F:.]+$/.test(text)) {
        return undefined; // also refuses zone ids (`%25eth0`)
    }
    const halves = text.split('::');
    if (halves.length > 2) {
        return undefined;
    }
    const head = halves[0] === '' ? [] : halves[0].split(':');
    const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1].split(':')) : [];
    const groups: number[] = [];
    const readGroups = (parts: string[], out: number[], allowIpv4Tail: boolean): boolean => {
        for (let i = 0; i < parts.length; i++) {
            const part = parts[i];
            if (allowIpv4Tail && i === parts.length - 1 && part.indexOf('.') >= 0) {
                const octets = part.split('.');
                if (octets.length !== 4 || !octets.every((o) => /^(0|[1-9][0-9]{0,2})$/.test(o) && Number(o) <= 255)) {
                    return false;
                }
                out.push(Number(octets[0]) * 256 + Number(octets[1]), Number(octets[2]) * 256 + Number(octets[3]));
            } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
                out.push(parseInt(part, 16));
            } else {
                return false;
            }
        }
        return true;
    };
    const tailGroups: number[] = [];
    if (!readGroups(head, groups, halves.length === 1) || !readGroups(tail, tailGroups, true)) {
        return undefined;
    }
    if (halves.length === 1) {
        return groups.length === 8 ? groups : undefined;
    }
    const missing = 8 - groups.length - tailGroups.length;
    if (missing < 1) {
        return undefined;
    }
    for (let i = 0; i < missing; i++) {
        groups.push(0);
    }
    return groups.concat(tailGroups);
}

type Ipv4Class = 'public' | 'unspecified' | 'loopback' | 'private' | 'link-local' | 'shared' | 'multicast' | 'reserved';

function classifyIpv4(o: number[]): Ipv4Class {
    if (o[0] === 0) {
        return 'unspecified';
    }
    if (o[0] === 127) {
        return 'loopback';
    }
    if (o[0] === 10 || (o[0] === 172 && o[1] >= 16 && o[1] <= 31) || (o[0] === 192 && o[1] === 168)) {
        return 'private';
    }
    if (o[0] === 169 && o[1] === 254) {
        return 'link-local';
    }
    if (o[0] === 100 && o[1] >= 64 && o[1] <= 127) {
        return 'shared'; // carrier-grade NAT, also where some clouds put metadata services
    }
    if (o[0] >= 224 && o[0] <= 239) {
        return 'multicast';
    }
    if (o[0] >= 240) {
        return 'reserved';
    }
    return 'public';
}

function classifyIpv6(g: number[]): Ipv4Class {
    const firstSixZero = g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0;
    if (firstSixZero && g[5] === 0 && g[6] === 0 && g[7] === 0) {
        return 'unspecified';
    }
    if (firstSixZero && g[5] === 0 && g[6] === 0 && g[7] === 1) {
        return 'loopback';
    }
    // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 target.
    const embedsIpv4 = (firstSixZero && (g[5] === 0xffff || g[5] === 0)) || (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0);
    if (embedsIpv4) {
        return classifyIpv4([g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff]);
    }
    if ((g[0] & 0xfe00) === 0xfc00 || (g[0] & 0xffc0) === 0xfec0) {
        return 'private'; // unique local fc00::/7, deprecated site-local fec0::/10
    }
    if ((g[0] & 0xffc0) === 0xfe80) {
        return 'link-local';
    }
    if ((g[0] & 0xff00) === 0xff00) {
        return 'multicast';
    }
    return 'public';
}

/**
 * Whether the server may fetch `url`: http(s) only, and no loopback/private/link-local literal
 * host unless `allowPrivate`. Unspecified (0.0.0.0, ::), multicast and reserved addresses are
 * refused even then: nothing legitimate lives there.
 */
export function isAllowedFetchUrl(url: string, options: { allowPrivate: boolean }): UrlCheck {
    if (typeof url !== 'string') {
        return { ok: false, reason: 'not a string' };
    }
    const parsed = parseHttpUrl(url);
    if (!parsed.ok) {
        return parsed;
    }
    const { host, hostKind, ipv4, ipv6 } = parsed.url;
    let kind: Ipv4Class = 'public';
    if (hostKind === 'name') {
        if (host === 'localhost' || /\.localhost$/.test(host)) {
            kind = 'loopback';
        }
    } else if (ipv4) {
        kind = classifyIpv4(ipv4);
    } else if (ipv6) {
        kind = classifyIpv6(ipv6);
    }
    if (kind === 'public') {
        return { ok: true };
    }
    if (kind === 'unspecified' || kind === 'multicast' || kind === 'reserved') {
        return { ok: false, reason: `${kind} address ${host}` };
    }
    return options.allowPrivate ? { ok: true } : { ok: false, reason: `${kind} address ${host}` };
}

/** The URL when it is a public https URL fit for an avatar, otherwise undefined. */
export function safeAvatarUrl(url: unknown): string | undefined {
    if (typeof url !== 'string') {
        return undefined;
    }
    const parsed = parseHttpUrl(url);
    if (!parsed.ok || parsed.url.scheme !== 'https') {
        return undefined;
    }
    return isAllowedFetchUrl(url, { allowPrivate: false }).ok ? url : undefined;
}
