import { authenticate, constantTimeEqual, extractToken } from '../../../src/inbound/auth';
import { InboundError } from '../../../src/inbound/errors';
import { post } from './fixtures';

const sources = [
    { name: 'grafana', token: 'tok-grafana-0123456789' },
    { name: 'nextbridge', token: 'tok-nb-ü-9876543210' },
    { name: 'disabled', token: '' },
];

const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`, 'utf8').toString('base64');

describe('extractToken', () => {
    it.each([
        ['Authorization: Bearer', post({ text: 'x' }, { headers: { authorization: 'Bearer abc' } }), 'abc'],
        ['bearer is case-insensitive', post({ text: 'x' }, { headers: { authorization: 'bearer  abc ' } }), 'abc'],
        ['X-Relay-Token', post({ text: 'x' }, { headers: { 'x-relay-token': 'abc' } }), 'abc'],
        ['Basic password (Apprise json://user:token@host)', post({}, { headers: { authorization: basic('apprise', 'p:ss') } }), 'p:ss'],
        ['?token=', post({ text: 'x' }, { query: { token: 'abc' } }), 'abc'],
        ['body token', post({ text: 'x', token: 'abc' }), 'abc'],
        ['body token inside payload=', post({ payload: '{"text":"x","token":"abc"}' }, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 'abc'],
        ['body token in a raw JSON string', post('{"token":"abc"}'), 'abc'],
        ['Bearer wins over the rest', post({ token: 'b' }, { headers: { authorization: 'Bearer a', 'x-relay-token': 'c' }, query: { token: 'd' } }), 'a'],
        ['X-Relay-Token wins over query and body', post({ token: 'b' }, { headers: { 'x-relay-token': 'c' }, query: { token: 'd' } }), 'c'],
        ['query wins over body', post({ token: 'b' }, { query: { token: 'd' } }), 'd'],
        ['none', post({ text: 'x' }), undefined],
        ['non-string body token', post({ token: 42 }), undefined],
        ['unparseable body', post('{nope'), undefined],
        ['token with a newline is ignored', post({ token: 'a\nb' }), undefined],
        ['Basic without a password', post({}, { headers: { authorization: basic('only-user', '') } }), undefined],
    ])('%s', (_name, req, expected) => {
        expect(extractToken(req)).toBe(expected);
    });
});

describe('constantTimeEqual', () => {
    it.each([
        ['equal', 'secret', 'secret', true],
        ['different last byte', 'secres', 'secret', false],
        ['prefix', 'secre', 'secret', false],
        ['longer', 'secrets', 'secret', false],
        ['empty vs secret', '', 'secret', false],
        ['both empty', '', '', true],
        ['UTF-8 bytes, not code units', 'ü', '\u0075\u0308', false],
        ['non-ASCII equal', 'tok-ü', 'tok-ü', true],
        ['same code unit count, different bytes', 'é', 'e', false],
    ])('%s', (_name, a, b, expected) => {
        expect(constantTimeEqual(a, b)).toBe(expected);
    });
});

describe('authenticate', () => {
    it.each([
        ['bearer, found among all sources', post({ text: 'x' }, { headers: { authorization: 'Bearer tok-nb-ü-9876543210' } }), undefined, 'nextbridge'],
        ['X-Relay-Token with path source', post({ text: 'x' }, { headers: { 'x-relay-token': 'tok-grafana-0123456789' } }), 'grafana', 'grafana'],
        ['?token= with path source', post({ text: 'x' }, { query: { token: 'tok-grafana-0123456789' } }), 'grafana', 'grafana'],
        ['body token', post({ text: 'x', token: 'tok-grafana-0123456789' }), undefined, 'grafana'],
        ['Basic password', post({ text: 'x' }, { headers: { authorization: basic('apprise', 'tok-nb-ü-9876543210') } }), '', 'nextbridge'],
    ])('%s', (_name, req, pathSource, expected) => {
        const result = authenticate(req, sources, pathSource);
        expect(result).not.toBeInstanceOf(InboundError);
        expect((result as { source: { name: string } }).source.name).toBe(expected);
    });

    it.each([
        ['wrong token', post({ text: 'x' }, { headers: { authorization: 'Bearer nope' } }), undefined, 401, 'invalid token'],
        ['missing token', post({ text: 'x' }), undefined, 401, 'missing token'],
        ['right token, other path source', post({ text: 'x' }, { query: { token: 'tok-grafana-0123456789' } }), 'nextbridge', 401, 'invalid token'],
        ['unknown path source', post({ text: 'x' }, { query: { token: 'tok-grafana-0123456789' } }), 'jenkins', 404, 'unknown source "jenkins"'],
        ['unknown path source without token is still 404', post({ text: 'x' }), 'jenkins', 404, 'unknown source "jenkins"'],
        ['known path source, missing token', post({ text: 'x' }), 'grafana', 401, 'missing token'],
        ['empty configured token never matches (path)', post({ text: 'x', token: '' }, { headers: { authorization: 'Bearer x' } }), 'disabled', 401, 'invalid token'],
        ['token prefix', post({ text: 'x' }, { query: { token: 'tok-grafana-012345678' } }), undefined, 401, 'invalid token'],
    ])('%s', (_name, req, pathSource, status, message) => {
        const result = authenticate(req, sources, pathSource);
        expect(result).toBeInstanceOf(InboundError);
        expect(result).toMatchObject({ status, message });
    });

    it('returns the caller\'s source object (extra fields kept)', () => {
        const rich = [{ name: 'a', token: 't1', defaultRoom: 'GENERAL' }];
        expect(authenticate(post({}, { query: { token: 't1' } }), rich)).toEqual({ source: rich[0] });
    });
});
