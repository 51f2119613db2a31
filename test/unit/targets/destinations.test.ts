// A URL naming several destinations (issue 16) is one instance that fans out: a rule without a
// channel of its own relays to each destination, each with its own plan key (ordering and
// message map); a rule that names a channel goes there only.
import { parseRelayConfig, validateRelayConfig } from '../../../src/core/config';
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
        ['tgram://123456789:AAH/-100/@chan:7', {}, [{ chat_id: '-100' }, { chat_id: '@chan', message_thread_id: '7' }]],
        ['tgram://123456789:AAH/-100/-200', { message_thread_id: '5' }, [{ chat_id: '-100', message_thread_id: '5' }, { chat_id: '-200', message_thread_id: '5' }]],
        ['ntfys://ntfy.example.com/a/b?priority=high', {}, [{ topic: 'a' }, { topic: 'b' }]],
        [`zulip://relay@team/${'k'.repeat(32)}/dev/bob@example.com`, { topic: 'x' }, [{ stream: 'dev', topic: 'x' }, { to: 'bob@example.com', topic: 'x' }]],
    ])('%s to %j', (url, to, channels) => {
        expect(plansFor(url, to)).toEqual(channels);
    });
});

describe('a rule channel the adapter cannot send to', () => {
    it('is refused at the rule, naming the key', () => {
        const result = validateRelayConfig(JSON.stringify({
            instances: { tg: { url: 'tgram://123456789:AAH' } },
            rules: [{ from: { rocketchat: { room: '#general' } }, to: { tg: {} } }],
        }), targetRegistry);
        expect(result.ok ? 'accepted' : `${result.error.path}: ${result.error.problem}`).toMatch(/^rules\[0\]\.to\.tg\.chat_id: is missing/);
    });
});
