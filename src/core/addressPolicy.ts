// Which addresses the server may be asked to contact on someone else's word (a sender's file URL,
// later a room owner's target): public http(s) hosts only, unless the admin listed a private one.
// The ranges are the ones Rocket.Chat's own SSRF check refuses (packages/server-fetch/src/
// checkForSsrf.ts). The app cannot resolve names itself, so a name is judged by its spelling here;
// the server resolves and checks it again where its HTTP bridge supports `ssrfValidation`.

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

const IPV4_BLOCKED: Array<[string, number]> = [
    ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24],
    ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
    ['224.0.0.0', 4], ['240.0.0.0', 4], ['100.100.100.200', 32],
];

const IPV6_BLOCKED: Array<[string, number]> = [
    ['::', 128], ['::1', 128], ['::ffff:0:0', 96], ['3fff::', 20], ['5f00::', 16], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64],
    ['2001::', 32], ['2001:20::', 28], ['2001:db8::', 32], ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
];

// Names that always point inside: the machine itself, cloud metadata services, local-only zones.
const INTERNAL_NAME = /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$|^metadata(\.google\.internal)?$/i;

/** An IPv4 address as a 32-bit number, or undefined when `text` is not dotted-decimal IPv4. */
function ipv4(text: string): number | undefined {
    const parts = text.split('.');
    if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
        return undefined;
    }
    return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** An IPv6 address as 8 16-bit groups (an embedded IPv4 tail included), or undefined. */
function ipv6(text: string): number[] | undefined {
    let address = text;
    if (address.indexOf('.') >= 0) {
        const lastColon = address.lastIndexOf(':');
        const n = lastColon < 0 ? undefined : ipv4(address.slice(lastColon + 1));
        if (n === undefined) {
            return undefined;
        }
        address = `${address.slice(0, lastColon + 1)}${Math.floor(n / 65536).toString(16)}:${(n % 65536).toString(16)}`;
    }
    const halves = address.split('::');
    if (halves.length > 2) {
        return undefined;
    }
    const parse = (part: string) => (part === '' ? [] : part.split(':'));
    const head = parse(halves[0]);
    const rest = halves.length === 2 ? parse(halves[1]) : [];
    if (!head.concat(rest).every((g) => /^[0-9a-f]{1,4}$/i.test(g))) {
        return undefined;
    }
    const missing = 8 - head.length - rest.length;
    if ((halves.length === 1 && missing !== 0) || missing < 0) {
        return undefined;
    }
    const zeros: number[] = [];
    for (let i = 0; i < missing; i++) {
        zeros.push(0);
    }
    return head.map((g) => parseInt(g, 16)).concat(zeros, rest.map((g) => parseInt(g, 16)));
}

function inRange4(address: number, [base, bits]: [string, number]): boolean {
    const size = Math.pow(2, 32 - bits);
    const start = ipv4(base)!;
    return address >= start && address < start + size;
}

function inRange6(address: number[], [base, bits]: [string, number]): boolean {
    const start = ipv6(base)!;
    for (let i = 0, left = bits; left > 0; i++, left -= 16) {
        const mask = left >= 16 ? 0xffff : (0xffff << (16 - left)) & 0xffff;
        if ((address[i] & mask) !== (start[i] & mask)) {
            return false;
        }
    }
    return true;
}

/** An admin's allow-list entry matches: a name (`*.corp.example` for subdomains), an IP or a CIDR. */
function listed(host: string, allowList: string[]): boolean {
    const v4 = ipv4(host);
    const v6 = v4 === undefined ? ipv6(host) : undefined;
    return allowList.some((raw) => {
        const entry = raw.trim().toLowerCase();
        if (!entry) {
            return false;
        }
        const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
        const base = cidr ? cidr[1] : entry;
        if (v4 !== undefined && ipv4(base) !== undefined) {
            return inRange4(v4, [base, cidr ? Number(cidr[2]) : 32]);
        }
        if (v6 !== undefined && ipv6(base.replace(/^\[|\]$/g, '')) !== undefined) {
            return inRange6(v6, [base.replace(/^\[|\]$/g, ''), cidr ? Number(cidr[2]) : 128]);
        }
        if (entry.indexOf('*.') === 0) {
            return host.length > entry.length - 1 && host.slice(-(entry.length - 1)) === entry.slice(1);
        }
        return host === entry;
    });
}

/**
 * Whether the server may fetch `url` for the app: http(s) to a public address, or to a private
 * one the admin listed. Names the WHATWG parser already normalised (`http://2130706433/` is
 * 127.0.0.1 by then) are judged as addresses.
 */
export function checkAddress(url: string, allowList: string[] = []): AddressVerdict {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        return { allowed: false, reason: 'not a valid URL' };
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
        return { allowed: false, reason: `${parsed.protocol.replace(/:$/, '')} URLs are not fetched` };
    }
    const host = parsed.hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
    if (listed(host, allowList)) {
        return { allowed: true };
    }
    const v4 = ipv4(host);
    if (v4 !== undefined) {
        return IPV4_BLOCKED.some((range) => inRange4(v4, range)) ? { allowed: false, reason: 'a private, loopback or reserved address' } : { allowed: true };
    }
    const v6 = ipv6(host);
    if (v6 !== undefined) {
        if (v6.slice(0, 6).every((g, i) => g === (i === 5 ? 0xffff : 0))) {
            return checkAddress(`http://${Math.floor(v6[6] / 256)}.${v6[6] % 256}.${Math.floor(v6[7] / 256)}.${v6[7] % 256}/`, allowList);
        }
        return IPV6_BLOCKED.some((range) => inRange6(v6, range)) ? { allowed: false, reason: 'a private, loopback or reserved address' } : { allowed: true };
    }
    if (INTERNAL_NAME.test(host) || host.indexOf('.') < 0) {
        return { allowed: false, reason: 'a local or internal host name' };
    }
    return { allowed: true };
}

/** The admin's allow-list setting: names, IPs or CIDRs separated by commas, spaces or lines. */
export function parseAllowList(text: string): string[] {
    return text.split(/[\s,]+/).filter((entry) => entry !== '');
}
