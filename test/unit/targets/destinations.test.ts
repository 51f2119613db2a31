// A URL naming several destinations (issue 16) is one instance that fans out: a rule without a
// channel of its own relays to each destination, each with its own plan key (ordering and
// message map); a rule that names a channel goes there only.
import { parseRelayConfig } from '../../../src/core/config';
import { activate, planDeliveries } from '../../../src/core/relay';
import { targetRegistry } from '../../../src/targets/index';
import { message } from '../core/fixtures/relay';

function plansFor(url: string, to: Record<string, unknown>): Array<Record<string, string>> {
    const config = parseRelayConfig(JSON.stringify({
        instances: { out: { url } },
        rules: [{ from: { rocketchat: { room: '#general' } }, to: { out: to } }],
    }), targetRegistry, { privateHostsAllowed: ['*'] });
    const plans = planDeliveries(activate(config), message());
    expect(new Set(plans.map((plan) => plan.key)).size).toBe(plans.length);
    return plans.map((plan) => plan.channel);
}

describe('several destinations per URL', () => {
    it.each<[string, Record<string, unknown>, Array<Record<string, string>>]>([
        ['rocket://bot:pw@chat.example.com/#a/#b/ROOM1', {}, [{ channel: '#a' }, { channel: '#b' }, { room_id: 'ROOM1' }]],
        ['rocket://bot:pw@chat.example.com/#a?to=%23b', {}, [{ channel: '#a' }, { channel: '#b' }]],
        // The rule's own channel wins: no fan-out.
        ['rocket://bot:pw@chat.example.com/#a/#b', { channel: '#x' }, [{ channel: '#x' }]],
        // One destination stays the instance default (plan channel as the rule wrote it).
        ['rocket://bot:pw@chat.example.com/#a', {}, [{}]],
    ])('%s to %j', (url, to, channels) => {
        expect(plansFor(url, to)).toEqual(channels);
    });
});
