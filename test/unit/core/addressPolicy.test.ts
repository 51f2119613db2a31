import { checkAddress, parseAllowList } from '../../../src/core/addressPolicy';

describe('checkAddress (what the server may fetch on a sender’s word)', () => {
    it.each([
        'https://cdn.example.com/cat.png',
        'http://93.184.216.34/x',
        'https://[2606:4700::1111]/x',
        'https://files.example.org:8443/a?b=c',
    ])('allows the public address %s', (url) => expect(checkAddress(url)).toEqual({ allowed: true }));

    it.each([
        ['http://127.0.0.1:8080/admin', /private, loopback/],
        ['http://2130706433/', /private, loopback/], // 127.0.0.1 in decimal
        ['http://0x7f.1/', /private, loopback/],
        ['http://10.1.2.3/', /private/],
        ['http://172.31.255.255/', /private/],
        ['http://192.168.0.10/', /private/],
        ['http://169.254.169.254/latest/meta-data/', /private/], // cloud metadata
        ['http://100.100.100.200/', /private/],
        ['http://0.0.0.0/', /private/],
        ['http://[::1]/', /private/],
        ['http://[fd00::5]/', /private/],
        ['http://[fe80::1]/', /private/],
        ['http://[::ffff:127.0.0.1]/', /private/],
        ['http://localhost:3000/', /local or internal host/],
        ['http://api.localhost/', /local or internal host/],
        ['http://metadata.google.internal/computeMetadata/v1/', /local or internal host/],
        ['http://printer.local/', /local or internal host/],
        ['http://intranet/', /local or internal host/],
        ['file:///etc/passwd', /file URLs are not fetched/],
        ['ftp://example.com/a', /ftp URLs/],
        ['not a url', /not a valid URL/],
    ])('refuses %s', (url, reason) => {
        const verdict = checkAddress(url);
        expect(verdict.allowed).toBe(false);
        expect(!verdict.allowed && verdict.reason).toMatch(reason);
    });

    it('lets the admin allow named private hosts, addresses and ranges', () => {
        const allow = parseAllowList('files.corp.internal, 10.0.0.0/8\n*.lab.local [fd00::]/8 127.0.0.1');
        expect(allow).toEqual(['files.corp.internal', '10.0.0.0/8', '*.lab.local', '[fd00::]/8', '127.0.0.1']);
        for (const url of ['http://files.corp.internal/a', 'http://10.9.8.7/', 'http://nas.lab.local/x', 'http://[fd12::1]/', 'http://127.0.0.1/']) {
            expect([url, checkAddress(url, allow).allowed]).toEqual([url, true]);
        }
        for (const url of ['http://other.corp.internal/', 'http://192.168.1.1/', 'http://lab.local/', 'http://127.0.0.2/']) {
            expect([url, checkAddress(url, allow).allowed]).toEqual([url, false]);
        }
    });
});
