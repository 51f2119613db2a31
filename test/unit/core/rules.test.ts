import { parseRelayConfig, RelayConfig } from '../../../src/core/config';
import type { RelayMessage } from '../../../src/core/message';
import { FILTER_TEXT_LIMIT } from '../../../src/core/safeRegex';
import { channelMatches, groupByTarget, localChannelMatchesRoom, RoomRef, Route, routeAccepts, RuleIndex, targetKey } from '../../../src/core/rules';
import { message, registry, TOKEN } from './fixtures/relay';

const CI_TOKEN = 'tok-ci-0123456789ab';
const HUB_TOKEN = 'tok-hub-0123456789a';

function parse(config: object): RelayConfig {
    return parseRelayConfig(JSON.stringify(config), registry);
}

const config = parse({
    instances: {
        dc: { type: 'discord', webhook_url: 'https://discord.com/api/webhooks/1/abc', token: TOKEN },
        tg: { type: 'telegram', bot_token: '123:abc' },
        ci: { type: 'inbound', token: CI_TOKEN, rooms: ['#builds', 'OPS1'] },
        hub: { type: 'inbound', token: HUB_TOKEN, rooms: ['*'] },
    },
    rules: [
        { id: 'by-id', from: { rocketchat: { room_id: 'R1' } }, to: { dc: { channel_id: '1' } } },
        { id: 'by-name', from: { rocketchat: { room: '#General' } }, to: { tg: { chat_id: '2' } } },
        { id: 'wild', from: { rocketchat: { room: '*' } }, to: { dc: { channel_id: 'all' } } },
        { id: 'private', from: { rocketchat: { room: 'secret' } }, to: { dc: { channel_id: 'p' } } },
        { id: 'dm', from: { rocketchat: { room_id: 'DM1' } }, to: { dc: { channel_id: 'd' } } },
        { id: 'connect', type: 'connect', channels: { rocketchat: { room_id: 'R1' }, tg: { chat_id: '9' } } },
        { id: 'inbound-dc', from: { dc: { channel_id: '123' } }, to: { rocketchat: { room_id: 'GENERAL' } } },
        { id: 'inbound-dc-any', from: { dc: {} }, to: { rocketchat: { room: 'lobby' } } },
        { id: 'ci', from: { ci: {} }, to: { rocketchat: { room: 'builds' } } },
        { id: 'hub', from: { hub: {} }, to: { rocketchat: { room: 'hub' } } },
        { id: 'wild-local', from: { rocketchat: { room: '*' } }, to: { rocketchat: { room: 'archive' } } },
    ],
});
const index = new RuleIndex(config);

const ids = (routes: Route[]) => routes.map((route) => `${route.ruleId}→${route.to.instance}`);
const room = (id: string, name: string, kind: RoomRef['kind'] = 'channel'): RoomRef => ({ id, name, kind });

describe('RuleIndex.outboundRoutes', () => {
    it.each<[string, RoomRef, string[]]>([
        ['by room id, plus wildcards and the connect rule, in rule order', room('R1', 'r-one'), ['by-id→dc', 'wild→dc', 'connect→tg', 'wild-local→rocketchat']],
        ['by room name', room('X1', 'general'), ['by-name→tg', 'wild→dc', 'wild-local→rocketchat']],
        ['by room name, case-insensitive', room('X1', 'GENERAL'), ['by-name→tg', 'wild→dc', 'wild-local→rocketchat']],
        ['an unnamed public channel gets the wildcards only', room('X2', 'random'), ['wild→dc', 'wild-local→rocketchat']],
        ['an inbound-only target room is no outbound source', room('GENERAL', 'lobby'), ['wild→dc', 'wild-local→rocketchat']],
        ['a wildcard never relays a room into itself', room('A1', 'archive'), ['wild→dc']],
        ['a private group named explicitly', room('P1', 'secret', 'private'), ['private→dc']],
        ['a private group not named: wildcards do not apply', room('P2', 'other', 'private'), []],
        ['a private group whose name a rule names', room('P3', 'general', 'private'), ['by-name→tg']],
        ['a direct room named by id', room('DM1', 'alice bob', 'direct'), ['dm→dc']],
        ['a direct room not named', room('DM2', 'alice carol', 'direct'), []],
        ['a livechat room not named', room('L1', 'visitor', 'livechat'), []],
    ])('%s', (_label, target, expected) => {
        expect(ids(index.outboundRoutes(target))).toEqual(expected);
    });

    it('returns a fresh list each time (callers may filter it)', () => {
        const first = index.outboundRoutes(room('R1', 'r-one'));
        first.pop();
        expect(index.outboundRoutes(room('R1', 'r-one')).length).toBe(4);
    });
});

describe('RuleIndex.inboundRoutes', () => {
    it.each<[string, string, Record<string, string> | undefined, string[]]>([
        ['all routes of an instance without a channel', 'dc', undefined, ['inbound-dc→rocketchat', 'inbound-dc-any→rocketchat']],
        ['matching channel', 'dc', { channel_id: '123' }, ['inbound-dc→rocketchat', 'inbound-dc-any→rocketchat']],
        ['other channel: only the rule without an address', 'dc', { channel_id: '999' }, ['inbound-dc-any→rocketchat']],
        ['keys the rule does not have are ignored (NextBridge)', 'dc', { server_id: '5', channel_id: '123' }, ['inbound-dc→rocketchat', 'inbound-dc-any→rocketchat']],
        ['the connect rule seen from the other side', 'tg', { chat_id: '9' }, ['connect→rocketchat']],
        ['the connect rule, another chat', 'tg', { chat_id: '8' }, []],
        ['inbound-only instance', 'ci', undefined, ['ci→rocketchat']],
        ['this server is never an inbound source', 'rocketchat', undefined, []],
        ['unknown instance', 'nobody', undefined, []],
    ])('%s', (_label, instance, channel, expected) => {
        expect(ids(index.inboundRoutes(instance, channel))).toEqual(expected);
    });
});

describe('RuleIndex.inboundRoomAllowed', () => {
    it.each<[string, string, RoomRef, boolean]>([
        ['derived from rules: room id', 'dc', room('GENERAL', 'general'), true],
        ['derived from rules: room name', 'dc', room('X', 'lobby'), true],
        ['derived from rules: name is case-insensitive', 'dc', room('X', 'Lobby'), true],
        ['derived from rules: other room', 'dc', room('X', 'random'), false],
        ['explicit #name', 'ci', room('B1', 'builds'), true],
        ['explicit bare entry matches an id', 'ci', room('OPS1', 'ops'), true],
        ['explicit bare entry matches a name', 'ci', room('X', 'ops1'), true],
        ['explicit list replaces the derived rooms', 'ci', room('GENERAL', 'general'), false],
        ['"*" allows public channels', 'hub', room('X', 'anything'), true],
        ['"*" does not allow private groups', 'hub', room('P', 'secret', 'private'), false],
        ['"*" does not allow direct rooms', 'hub', room('D', 'a b', 'direct'), false],
        ['an instance without a token may post nowhere', 'tg', room('R1', 'r-one'), false],
        ['unknown instance', 'nobody', room('GENERAL', 'general'), false],
    ])('%s', (_label, instance, target, expected) => {
        expect(index.inboundRoomAllowed(instance, target)).toBe(expected);
    });
});

describe('RuleIndex.instanceForToken', () => {
    it.each<[string, string | undefined]>([
        [TOKEN, 'dc'],
        [CI_TOKEN, 'ci'],
        [HUB_TOKEN, 'hub'],
        [TOKEN.slice(0, -1), undefined],
        [`${TOKEN}x`, undefined],
        ['', undefined],
    ])('%j → %j', (token, expected) => {
        expect(index.instanceForToken(token)).toBe(expected);
    });
});

describe('routeAccepts', () => {
    const filtered = parse({
        instances: { dc: { type: 'discord', webhook_url: 'https://x/1' } },
        rules: [
            { id: 'plain', from: { rocketchat: { room: 'a' } }, to: { dc: { channel_id: '1' } } },
            { id: 'users', from: { rocketchat: { room: 'b' } }, to: { dc: { channel_id: '1' } }, filter: { ignore_users: ['@Bob'] } },
            { id: 'bots', from: { rocketchat: { room: 'c' } }, to: { dc: { channel_id: '1' } }, filter: { ignore_bots: true } },
            { id: 'match', from: { rocketchat: { room: 'd' } }, to: { dc: { channel_id: '1' } }, filter: { match: '/deploy/i' } },
            { id: 'ignore', from: { rocketchat: { room: 'e' } }, to: { dc: { channel_id: '1' } }, filter: { ignore: '^\\[private\\]' } },
            { id: 'trigger', from: { rocketchat: { room: 'f' } }, to: { dc: { channel_id: '1' } }, filter: { trigger_words: ['!relay', '@all'] } },
            { id: 'system', from: { rocketchat: { room: 'g' } }, to: { dc: { channel_id: '1' } }, filter: { system_messages: true } },
        ],
    });
    const route = (id: string) => filtered.routes.filter((r) => r.ruleId === id)[0];
    const bob = { id: 'u2', username: 'bob', displayName: 'Bob', avatarUrl: '', isBot: false };
    const bot = { id: 'u3', username: 'ci', displayName: 'CI', avatarUrl: '', isBot: true };

    it.each<[string, string, Partial<RelayMessage>, boolean]>([
        ['a plain message', 'plain', {}, true],
        ['a system message is not relayed by default', 'plain', { isSystem: true, systemType: 'uj' }, false],
        ['a system message is relayed when the rule asks for them', 'system', { isSystem: true, systemType: 'uj' }, true],
        ['an encrypted message is never relayed', 'plain', { encrypted: true }, false],
        ['an encrypted message is never relayed, even with system_messages', 'system', { encrypted: true }, false],
        ['loop prevention: never back to the origin', 'plain', { origin: 'dc' }, false],
        ['a message from another origin may continue', 'plain', { origin: 'tg' }, true],
        ['ignored user (case-insensitive, @ stripped)', 'users', { sender: Object.assign({}, bob, { username: 'BOB' }) }, false],
        ['other user', 'users', {}, true],
        ['ignored user, also for edits', 'users', { sender: bob, event: 'edited' }, false],
        ['bot with ignore_bots', 'bots', { sender: bot }, false],
        ['bot without ignore_bots', 'plain', { sender: bot }, true],
        ['human with ignore_bots', 'bots', {}, true],
        ['match: matching text', 'match', { text: 'Deploy done' }, true],
        ['match: other text', 'match', { text: 'hello' }, false],
        ['match sees the first FILTER_TEXT_LIMIT characters', 'match', { text: `${'x'.repeat(FILTER_TEXT_LIMIT - 6)}deploy` }, true],
        ['match does not see past them', 'match', { text: `${'x'.repeat(FILTER_TEXT_LIMIT - 5)}deploy` }, false],
        ['match does not judge edits (they follow the original)', 'match', { text: 'hello', event: 'edited' }, true],
        ['match does not judge deletes', 'match', { text: '', event: 'deleted' }, true],
        ['ignore: matching text', 'ignore', { text: '[private] note' }, false],
        ['ignore: other text', 'ignore', { text: 'public [private]' }, true],
        ['trigger word at the start', 'trigger', { text: '!relay hello' }, true],
        ['second trigger word after spaces', 'trigger', { text: '  @all meeting' }, true],
        ['trigger word not at the start', 'trigger', { text: 'hello !relay' }, false],
        ['no trigger word', 'trigger', { text: 'hello' }, false],
    ])('%s', (_label, ruleId, overrides, expected) => {
        expect(routeAccepts(route(ruleId), message(overrides))).toBe(expected);
    });

    it('inbound routes: a message is not sent back to its origin, even into this server', () => {
        const inbound = index.inboundRoutes('dc')[0];
        expect(routeAccepts(inbound, message({ origin: 'dc' }))).toBe(true);
        expect(routeAccepts(inbound, message({ origin: 'rocketchat' }))).toBe(false);
    });
});

describe('groupByTarget', () => {
    const overlapping = parse({
        instances: { dc: { type: 'discord', webhook_url: 'https://x/1' }, tg: { type: 'telegram', bot_token: 'x' } },
        rules: [
            { id: 'first', from: { rocketchat: { room_id: 'R1' } }, to: { dc: { channel_id: '1' } }, msg: { msg_format: 'first {msg}' } },
            { id: 'other-target', from: { rocketchat: { room_id: 'R1' } }, to: { tg: { chat_id: '1' } } },
            { id: 'second', from: { rocketchat: { room: 'general' } }, to: { dc: { channel_id: 1 } }, msg: { msg_format: 'second {msg}' } },
            { id: 'other-channel', from: { rocketchat: { room: '*' } }, to: { dc: { channel_id: '2' } } },
        ],
    });
    const groups = groupByTarget(new RuleIndex(overlapping).outboundRoutes(room('R1', 'general')));

    it('one group per target instance + channel, in first-seen order', () => {
        expect(groups.map((group) => [group.to.instance, group.to.channel, group.routes.map((route) => route.ruleId)])).toEqual([
            ['dc', { channel_id: '1' }, ['first', 'second']],
            ['tg', { chat_id: '1' }, ['other-target']],
            ['dc', { channel_id: '2' }, ['other-channel']],
        ]);
    });

    it('the first rule in configuration order provides the templates', () => {
        expect(groups[0].route.msg.msg_format.source).toBe('first {msg}');
    });

    it('target keys ignore channel key order', () => {
        const a = { instance: 'dc', type: 'discord', channel: { a: '1', b: '2' } };
        const b = { instance: 'dc', type: 'discord', channel: { b: '2', a: '1' } };
        expect(targetKey(a)).toBe(targetKey(b));
        expect(targetKey(a)).not.toBe(targetKey({ instance: 'tg', type: 'telegram', channel: { a: '1', b: '2' } }));
    });
});

describe('channel helpers', () => {
    it.each<[Record<string, string>, Record<string, string>, boolean]>([
        [{}, { channel_id: '1' }, true],
        [{ channel_id: '1' }, { channel_id: '1' }, true],
        [{ channel_id: '1' }, { channel_id: '2' }, false],
        [{ channel_id: '1', webhook_url: 'https://x' }, { channel_id: '1' }, true],
        [{ server_id: '5', channel_id: '1' }, { server_id: '6', channel_id: '1' }, false],
        [{ channel_id: '1' }, {}, true],
    ])('channelMatches(%j, %j) = %s', (rule, sender, expected) => {
        expect(channelMatches(rule, sender)).toBe(expected);
    });

    it.each<[Record<string, string>, RoomRef, boolean]>([
        [{ room_id: 'R1' }, room('R1', 'x'), true],
        [{ room_id: 'R1' }, room('r1', 'R1'), false],
        [{ room: 'general' }, room('X', 'General'), true],
        [{ room: '*' }, room('X', 'y'), true],
        [{ room: '*' }, room('X', 'y', 'private'), false],
    ])('localChannelMatchesRoom(%j, %j) = %s', (channel, target, expected) => {
        expect(localChannelMatchesRoom({ instance: 'rocketchat', type: 'rocketchat', channel }, target)).toBe(expected);
    });

    it('localChannelMatchesRoom is false for external instances', () => {
        expect(localChannelMatchesRoom({ instance: 'dc', type: 'discord', channel: { room_id: 'R1' } }, room('R1', 'x'))).toBe(false);
    });
});
