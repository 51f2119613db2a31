import { isAllowedFetchUrl, parseIpv6, safeAvatarUrl } from '../../../src/inbound/avatar';

describe('isAllowedFetchUrl', () => {
    it.each([
        ['public https', 'https://cdn.discordapp.com/avatars/1/a.png', false, true],
        ['public http with port and query', 'http://files.example.org:8080/a.png?x=1#f', false, true],
        ['public IPv4', 'https://93.184.216.34/a.png', false, true],
        ['public IPv6', 'https://[2606:2800:220:1:248:1893:25c8:1946]/', false, true],
        ['ftp scheme', 'ftp://example.org/a.png', false, false],
        ['javascript scheme', 'javascript:alert(1)', false, false],
        ['data URL', 'data:image/png;base64,iVBORw0KGgo=', false, false],
        ['file URL', 'file:///etc/passwd', false, false],
        ['scheme-relative', '//example.org/a.png', false, false],
        ['http:host without slashes', 'http:example.org/a.png', false, false],
        ['credentials', 'https://user:pass@example.org/', false, false],
        ['backslash trick', 'https://example.org\\@127.0.0.1/', false, false],
        ['whitespace', 'https://exa mple.org/', false, false],
        ['localhost', 'http://localhost:3000/', false, false],
        ['LOCALHOST with trailing dot', 'http://LOCALHOST./', false, false],
        ['sub.localhost', 'http://api.localhost/', false, false],
        ['127.0.0.1', 'http://127.0.0.1/', false, false],
        ['127.1 shorthand', 'http://127.1/', false, false],
        ['decimal 2130706433', 'http://2130706433/', false, false],
        ['hex 0x7f.1', 'http://0x7f.1/', false, false],
        ['octal 0177.0.0.1', 'http://0177.0.0.1/', false, false],
        ['percent-encoded host', 'http://%31%32%37.0.0.1/', false, false],
        ['invalid IPv4 (octet 256)', 'http://1.2.3.256/', false, false],
        ['10/8', 'http://10.1.2.3/', false, false],
        ['172.16/12 low', 'http://172.16.0.1/', false, false],
        ['172.31 high', 'http://172.31.255.255/', false, false],
        ['172.32 is public', 'http://172.32.0.1/', false, true],
        ['192.168/16', 'http://192.168.1.1/', false, false],
        ['169.254 metadata', 'http://169.254.169.254/latest/meta-data/', false, false],
        ['100.64/10 CGNAT', 'http://100.100.100.200/', false, false],
        ['0.0.0.0', 'http://0.0.0.0:8080/', false, false],
        ['0.0.0.0 even when private allowed', 'http://0.0.0.0/', true, false],
        ['::1', 'http://[::1]/', false, false],
        ['::', 'http://[::]/', true, false],
        ['IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/', false, false],
        ['IPv4-mapped hex form', 'http://[::ffff:7f00:1]/', false, false],
        ['NAT64 to private', 'http://[64:ff9b::10.0.0.1]/', false, false],
        ['fc00::/7', 'http://[fd12:3456::1]/', false, false],
        ['fe80::/10', 'http://[fe80::1]/', false, false],
        ['zone id refused', 'http://[fe80::1%25eth0]/', true, false],
        ['multicast', 'http://224.0.0.1/', true, false],
        ['private allowed', 'http://192.168.1.10:8065/file', true, true],
        ['loopback allowed', 'http://localhost:3000/', true, true],
        ['bad port', 'http://example.org:99999/', false, false],
        ['non-ASCII host', 'https://bücher.example/', false, false],
        ['name that merely starts with digits', 'https://1password.com/', false, true],
    ])('%s', (_name, url, allowPrivate, ok) => {
        expect(isAllowedFetchUrl(url, { allowPrivate }).ok).toBe(ok);
    });

    it('says why', () => {
        expect(isAllowedFetchUrl('http://2130706433/', { allowPrivate: false })).toEqual({ ok: false, reason: 'loopback address 127.0.0.1' });
    });
});

describe('safeAvatarUrl', () => {
    it.each([
        ['https', 'https://cdn.discordapp.com/avatars/1/a.png', 'https://cdn.discordapp.com/avatars/1/a.png'],
        ['http is not enough', 'http://cdn.example.org/a.png', undefined],
        ['private https', 'https://192.168.0.2/a.png', undefined],
        ['not a string', 42, undefined],
        ['empty', '', undefined],
    ])('%s', (_name, url, expected) => {
        expect(safeAvatarUrl(url)).toBe(expected);
    });
});

describe('parseIpv6', () => {
    it.each([
        ['::1', [0, 0, 0, 0, 0, 0, 0, 1]],
        ['2001:db8::8a2e:370:7334', [0x2001, 0xdb8, 0, 0, 0, 0x8a2e, 0x370, 0x7334]],
        ['::ffff:192.0.2.1', [0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201]],
        ['1:2:3:4:5:6:7:8', [1, 2, 3, 4, 5, 6, 7, 8]],
        ['1::2::3', undefined],
        ['1:2:3:4:5:6:7:8:9', undefined],
        [':1', undefined],
        ['::ffff:1.2.3', undefined],
        ['12345::', undefined],
    ])('%s', (text, expected) => {
        expect(parseIpv6(text)).toEqual(expected);
    });
});
