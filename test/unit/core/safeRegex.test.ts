import { parseRelayConfig } from '../../../src/core/config';
import { registry } from './fixtures/relay';
import { unsafeRegexReason } from '../../../src/core/safeRegex';

describe('filter patterns that cannot stall the runtime', () => {
    it.each([
        ['(a+)+$', /nested repetition/],
        ['(a*)*b', /nested repetition/],
        ['(a|aa)+$', /nested repetition/],
        ['(\\w+\\s?)*$', /nested repetition/],
        ['^(([a-z])+.)+[A-Z]([a-z])+$', /nested repetition/],
        ['(x+x+)+y', /nested repetition/],
        ['((ab)*c)+', /nested repetition/],
        ['(a|b){2,}', /nested repetition/],
        ['(.*a){3}', /nested repetition/], // a fixed count still multiplies: the text length cubed
        ['.*a.*b.*c', /more than two/],
        ['.+x.+y.*z$', /more than two/],
        ['(\\w)\\1', /backreferences/],
        ['(?<x>a)\\k<x>', /backreferences/],
    ])('refuses %s', (pattern, reason) => {
        const why = unsafeRegexReason(pattern);
        if (reason) {
            expect(why).toMatch(reason);
        } else {
            expect(why).toBeUndefined();
        }
    });

    it.each(['deploy', '^\\[(ci|cd)\\]', '(ab)+', 'a+b*c?', '[(+*)]+', '\\(a+\\)+', 'urgent|asap', '(?:foo|bar)\\d+', '^#\\d{1,5}$', '(ab){3}', '[a-z]+@[a-z]+\\.com', '(a+)?b', '.*error.*', '\\.*\\.*\\.*', '[.*][.*][.*]'])('accepts %s', (pattern) => {
        expect(unsafeRegexReason(pattern)).toBeUndefined();
    });

    it('refuses such a filter when the configuration is saved, naming the place', () => {
        const config = { instances: { hook: { type: 'webhook', url: 'https://example.com/h' } }, rules: [{ from: { rocketchat: { room: '#general' } }, to: { hook: {} }, filter: { match: '(a+)+$' } }] };
        expect(() => parseRelayConfig(JSON.stringify(config), registry)).toThrow(/rules\[0\]\.filter\.match: nested repetition/);
    });
});
