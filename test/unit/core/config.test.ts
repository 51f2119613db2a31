import { ConfigError } from '../../../src/core/errors';
import { canonicalJson, parseRelayConfig, RelayConfig, Route, validateRelayConfig } from '../../../src/core/config';
import { fnv1a } from '../../../src/core/hash';
import { renderMessage, templateVarsFor } from '../../../src/core/template';
import { message, registry, TOKEN } from './fixtures/relay';

const DC = { type: 'discord', webhook_url: 'https://discord.com/api/webhooks/1/abc', token: TOKEN };
const TG = { type: 'telegram', bot_token: '123:abc' };
const OTHER_TOKEN = 'tok-fedcba9876543210';

function parse(config: unknown): RelayConfig {
    return parseRelayConfig(typeof config === 'string' ? config : JSON.stringify(config), registry);
}

function parseError(config: unknown): ConfigError {
    const result = validateRelayConfig(typeof config === 'string' ? config : JSON.stringify(config), registry);
    if (result.ok) {
        throw new Error('expected the configuration to be rejected');
    }
    return result.error;
}

/** A compact view of a route for table assertions. */
function describeRoute(route: Route): string {
    return `${route.from.instance}${JSON.stringify(route.from.channel)} -> ${route.to.instance}${JSON.stringify(route.to.channel)}`;
}

/** One forward rule from this server's #general to dc, with `extra` merged into the rule. */
function withRule(extra: object, instances: object = { dc: DC }): object {
    return { instances, rules: [Object.assign({ from: { rocketchat: { room: '#general' } }, to: { dc: { channel_id: '1' } } }, extra)] };
}

describe('the seed example (NextBridge Rocket.Chat driver docs) with rc_main renamed to rocketchat', () => {
    // The rules block exactly as the NextBridge docs show it, only `rc_main` → `rocketchat`;
    // the instances are NextBridge platform sections, also pasted as-is plus our inbound token.
    const pasted = `{
      "discord": {
        "dc": { "webhook_url": "https://discord.com/api/webhooks/1/abc", "token": "${TOKEN}" }
      },
      "rocketchat": {
        "rc_main": {
          "server_url": "https://chat.example.com",
          "auth_token": "your-personal-access-token",
          "user_id": "bot-user-id",
          "webhook_token": "your-outgoing-webhook-token"
        }
      },
      "rules": [{
        "from": { "dc": { "channel_id": "123" } },
        "to":   { "rocketchat": { "room_id": "GENERAL" } },
        "msg": {
          "msg_format": "[Discord] {user}: {msg}",
          "rc_alias":   "{user}",
          "rc_avatar":  "{user_avatar}"
        }
      }]
    }`;

    it('produces one inbound route dc → rocketchat GENERAL', () => {
        const config = parse(pasted);
        expect(config.routes.map(describeRoute)).toEqual(['dc{"channel_id":"123"} -> rocketchat{"room_id":"GENERAL"}']);
        expect(config.routes[0].from.type).toBe('discord');
        expect(config.routes[0].to.type).toBe('rocketchat');
    });

    it('compiles the msg templates as written', () => {
        const msg = parse(pasted).routes[0].msg;
        expect([msg.msg_format.source, msg.rc_alias && msg.rc_alias.source, msg.rc_avatar && msg.rc_avatar.source])
            .toEqual(['[Discord] {user}: {msg}', '{user}', '{user_avatar}']);
    });

    it('renders a Discord message the way NextBridge would', () => {
        const route = parse(pasted).routes[0];
        const fromDiscord = message({
            text: 'hi there',
            sender: { id: '42', username: 'bob', displayName: 'Bob', avatarUrl: 'https://cdn.discordapp.com/a/42.png', isBot: false },
        });
        const vars = templateVarsFor(fromDiscord, { instance: 'dc', platform: 'discord' });
        expect(renderMessage(route.msg, vars, { templates: 'rocketchat', local: true }))
            .toEqual({ text: '[Discord] Bob: hi there', alias: 'Bob', avatarUrl: 'https://cdn.discordapp.com/a/42.png' });
    });

    it('keeps the top-level "rocketchat" section as a REMOTE Rocket.Chat instance, authenticated by its webhook_token', () => {
        const remote = parse(pasted).instances.get('rc_main');
        expect(remote && [remote.type, remote.inboundToken, remote.path]).toEqual(['rocketchat', 'your-outgoing-webhook-token', 'rocketchat.rc_main']);
        expect(parse(pasted).instances.has('rocketchat')).toBe(false);
    });
});

describe('instances: accepted forms', () => {
    it.each<[string, object, string, object]>([
        ['type + adapter keys', { instances: { dc: { type: 'discord', webhook_url: 'https://x/1' } } }, 'dc',
            { type: 'discord', adapterConfig: { parsedBy: 'discord', webhook_url: 'https://x/1' } }],
        ['Apprise-style url', { instances: { dc: { url: 'discord://77/secret' } } }, 'dc',
            { type: 'discord', adapterConfig: { parsedBy: 'discord', webhook_url: 'https://discord.com/api/webhooks/77/secret', token_in_url: 'secret' } }],
        ['url plus an explicit key that wins', { instances: { dc: { url: 'discord://77/secret', webhook_url: 'https://override/1' } } }, 'dc',
            { type: 'discord', adapterConfig: { parsedBy: 'discord', webhook_url: 'https://override/1', token_in_url: 'secret' } }],
        ['with "type", url is an ordinary adapter key', { instances: { hook: { type: 'webhook', url: 'https://example.com/in' } } }, 'hook',
            { type: 'webhook', adapterConfig: { parsedBy: 'webhook', url: 'https://example.com/in' } }],
        ['NextBridge platform section', { discord: { dc: { webhook_url: 'https://x/1' } } }, 'dc',
            { type: 'discord', path: 'discord.dc', adapterConfig: { parsedBy: 'discord', webhook_url: 'https://x/1' } }],
        ['platform section entry repeating its type', { discord: { dc: { type: 'discord', webhook_url: 'https://x/1' } } }, 'dc',
            { type: 'discord', adapterConfig: { parsedBy: 'discord', webhook_url: 'https://x/1' } }],
        ['inbound-only', { instances: { ci: { type: 'inbound', token: TOKEN, rooms: ['#builds', 'GENERAL'] } } }, 'ci',
            { type: 'inbound', adapter: undefined, inboundToken: TOKEN, inboundRooms: ['#builds', 'GENERAL'] }],
        ['outbound + inbound keys: rooms stay with the instance, the shared token reaches the adapter too', { instances: { dc: { type: 'discord', webhook_url: 'https://x/1', token: TOKEN, rooms: ['*'] } } }, 'dc',
            { type: 'discord', inboundToken: TOKEN, inboundRooms: ['*'], adapterConfig: { parsedBy: 'discord', webhook_url: 'https://x/1', token: TOKEN } }],
        ['remote Rocket.Chat: token wins over webhook_token', { rocketchat: { rc: { server_url: 'https://rc', token: TOKEN, webhook_token: 'x' } } }, 'rc',
            { type: 'rocketchat', inboundToken: TOKEN }],
        ['remote Rocket.Chat with an empty webhook_token has no token', { rocketchat: { rc: { server_url: 'https://rc', webhook_token: '' } } }, 'rc',
            { type: 'rocketchat', inboundToken: undefined }],
        ['delivery options: timeout, in-flight limit, edit tracking off; none reaches the adapter',
            { instances: { dc: { type: 'discord', webhook_url: 'https://x/1', timeout_ms: 2500, max_in_flight: 4, track_edits: false } } }, 'dc',
            { timeoutMs: 2500, maxInFlight: 4, trackEdits: false, adapterConfig: { parsedBy: 'discord', webhook_url: 'https://x/1' } }],
        ['edits are tracked by default where the target can edit or delete', { instances: { dc: { type: 'discord', webhook_url: 'https://x/1' } } }, 'dc',
            { timeoutMs: undefined, maxInFlight: undefined, trackEdits: true }],
        ['a target that can neither edit, delete nor thread never tracks, even when asked', { instances: { tg: { type: 'telegram', bot_token: '1:a', track_edits: true } } }, 'tg',
            { trackEdits: false }],
    ])('%s', (_label, instances, name, expected) => {
        const config = parse(Object.assign({ rules: [{ from: { rocketchat: { room: 'general' } }, to: { rocketchat: { room: 'other' } } }] }, instances));
        const instance = config.instances.get(name) as unknown as { [key: string]: unknown };
        const picked: { [key: string]: unknown } = {};
        Object.keys(expected).forEach((key) => {
            picked[key] = instance[key];
        });
        expect(picked).toEqual(expected);
    });

    it('names with spaces or non-ASCII letters are accepted and quoted in paths', () => {
        const error = parseError({ instances: { 'mon dc': { type: 'discord' } }, rules: [] });
        expect([error.path, error.problem]).toEqual(['instances["mon dc"].webhook_url', 'required']);
    });
});

describe('rules: routes', () => {
    it.each<[string, object, string[]]>([
        ['forward: every from × to pair that touches this server', {
            instances: { dc: DC, tg: TG },
            rules: [{ from: { rocketchat: { room: '#a' }, dc: { channel_id: 1 } }, to: { rocketchat: { room: 'b' }, tg: { chat_id: -100 } } }],
        }, [
            'rocketchat{"room":"a"} -> rocketchat{"room":"b"}',
            'rocketchat{"room":"a"} -> tg{"chat_id":"-100"}',
            'dc{"channel_id":"1"} -> rocketchat{"room":"b"}',
        ]],
        ['connect: every ordered pair through this server', {
            instances: { dc: DC, tg: Object.assign({ token: OTHER_TOKEN }, TG) },
            rules: [{ type: 'connect', channels: { dc: { channel_id: '1' }, rocketchat: { room_id: 'R1' }, tg: { chat_id: '9' } } }],
        }, [
            'dc{"channel_id":"1"} -> rocketchat{"room_id":"R1"}',
            'rocketchat{"room_id":"R1"} -> dc{"channel_id":"1"}',
            'rocketchat{"room_id":"R1"} -> tg{"chat_id":"9"}',
            'tg{"chat_id":"9"} -> rocketchat{"room_id":"R1"}',
        ]],
        ['connect with an inbound-only instance: it only sends', {
            instances: { dc: DC, ci: { type: 'inbound', token: OTHER_TOKEN } },
            rules: [{ type: 'connect', channels: { ci: {}, rocketchat: { room: 'builds' }, dc: { channel_id: '1' } } }],
        }, [
            'ci{} -> rocketchat{"room":"builds"}',
            'rocketchat{"room":"builds"} -> dc{"channel_id":"1"}',
            'dc{"channel_id":"1"} -> rocketchat{"room":"builds"}',
        ]],
        ['wildcard source: every public channel', withRule({ from: { rocketchat: { room: '*' } } }), [
            'rocketchat{"room":"*"} -> dc{"channel_id":"1"}',
        ]],
        ['explicit "type": "forward" is the default', withRule({ type: 'forward' }), [
            'rocketchat{"room":"general"} -> dc{"channel_id":"1"}',
        ]],
        ['several rules, in order', {
            instances: { dc: DC },
            rules: [
                { from: { rocketchat: { room_id: 'A' } }, to: { dc: { channel_id: '1' } } },
                { from: { dc: { channel_id: '1' } }, to: { rocketchat: { room_id: 'A' } } },
            ],
        }, [
            'rocketchat{"room_id":"A"} -> dc{"channel_id":"1"}',
            'dc{"channel_id":"1"} -> rocketchat{"room_id":"A"}',
        ]],
    ])('%s', (_label, config, expected) => {
        expect(parse(config).routes.map(describeRoute)).toEqual(expected);
    });

    it('a channel msg overrides the rule msg key by key, for messages sent TO that channel', () => {
        const config = parse({
            instances: { dc: DC },
            rules: [{
                type: 'connect',
                channels: {
                    dc: { channel_id: '1', msg: { msg_format: '{msg}', webhook_title: '{username} @ {from}' } },
                    rocketchat: { room: 'general' },
                },
                msg: { msg_format: '{user}: {msg}', rc_alias: '{user}' },
            }],
        });
        const sources = (route: Route) => {
            const out: { [key: string]: string } = {};
            Object.keys(route.msg).forEach((key) => {
                out[key] = (route.msg as any)[key].source;
            });
            return out;
        };
        expect(config.routes.map(describeRoute)).toEqual([
            'dc{"channel_id":"1"} -> rocketchat{"room":"general"}',
            'rocketchat{"room":"general"} -> dc{"channel_id":"1"}',
        ]);
        expect(config.routes.map(sources)).toEqual([
            { msg_format: '{user}: {msg}', rc_alias: '{user}' },
            { msg_format: '{msg}', rc_alias: '{user}', webhook_title: '{username} @ {from}' },
        ]);
    });

    it('a forward rule may also carry msg in a "to" channel', () => {
        const route = parse(withRule({ to: { dc: { channel_id: '1', msg: { webhook_avatar: '{user_avatar}' } } } })).routes[0];
        expect([route.msg.msg_format.source, route.msg.webhook_avatar && route.msg.webhook_avatar.source]).toEqual(['{msg}', '{user_avatar}']);
    });

    it('defaults: msg_format {msg}, empty filter', () => {
        const route = parse(withRule({})).routes[0];
        expect(route.msg.msg_format.source).toBe('{msg}');
        expect(route.filter).toEqual({ ignoreUsers: [], ignoreBots: false, triggerWords: [], systemMessages: false });
    });

    it('parses filters', () => {
        const filter = parse(withRule({
            filter: { ignore_users: ['@Bob', 'ci-bot'], ignore_bots: true, match: '/^deploy/i', ignore: 'secret', trigger_words: ['!relay'] },
        })).routes[0].filter;
        expect(filter.ignoreUsers).toEqual(['bob', 'ci-bot']);
        expect(filter.ignoreBots).toBe(true);
        expect(filter.match && [filter.match.source, filter.match.flags]).toEqual(['^deploy', 'i']);
        expect(filter.ignore && filter.ignore.test('a secret b')).toBe(true);
        expect(filter.triggerWords).toEqual(['!relay']);
    });
});

describe('rule ids', () => {
    const rule = { from: { rocketchat: { room: '#general' } }, to: { dc: { channel_id: '1' } } };
    const idOf = (r: object) => parse({ instances: { dc: DC }, rules: [r] }).rules[0].id;

    it('are derived as r + 8 hex digits', () => {
        expect(idOf(rule)).toMatch(/^r[0-9a-f]{8}$/);
    });

    it.each<[string, object]>([
        ['keys in another order', { to: { dc: { channel_id: '1' } }, from: { rocketchat: { room: '#general' } } }],
        ['a different msg', Object.assign({ msg: { msg_format: '{user}: {msg}' } }, rule)],
        ['a channel msg', { from: rule.from, to: { dc: { channel_id: '1', msg: { msg_format: 'x' } } } }],
        ['a comment', Object.assign({ comment: 'to discord' }, rule)],
        ['"type": "forward" spelled out', Object.assign({ type: 'forward' }, rule)],
        ['room without #', { from: { rocketchat: { room: 'general' } }, to: rule.to }],
        ['a number instead of a string', { from: rule.from, to: { dc: { channel_id: 1 } } }],
    ])('are the same with %s', (_label, variant) => {
        expect(idOf(variant)).toBe(idOf(rule));
    });

    it.each<[string, object]>([
        ['another channel', { from: rule.from, to: { dc: { channel_id: '2' } } }],
        ['another room', { from: { rocketchat: { room: 'random' } }, to: rule.to }],
        ['from and to swapped', { from: { dc: { channel_id: '1' } }, to: { rocketchat: { room: '#general' } } }],
        ['a filter', Object.assign({ filter: { ignore_bots: true } }, rule)],
    ])('differ with %s', (_label, variant) => {
        expect(idOf(variant)).not.toBe(idOf(rule));
    });

    it('a given id is used as is (trimmed)', () => {
        expect(idOf(Object.assign({ id: ' general-to-dc ' }, rule))).toBe('general-to-dc');
    });

    it('connect rules hash the channels without their msg', () => {
        const connect = (msg: object) => idOf({ type: 'connect', channels: { dc: Object.assign({ channel_id: '1' }, msg), rocketchat: { room: 'a' } } });
        expect(connect({ msg: { msg_format: 'x' } })).toBe(connect({}));
    });
});

describe('fnv1a and canonicalJson', () => {
    it.each<[string, string]>([
        ['', '811c9dc5'],
        ['a', 'e40c292c'],
        ['foobar', 'bf9cf968'],
    ])('fnv1a(%j) = %s (published test vectors)', (input, expected) => {
        expect(fnv1a(input)).toBe(expected);
    });

    it.each<[unknown, string]>([
        [{ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } }, '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}'],
        ['x"y', '"x\\"y"'],
        [[], '[]'],
    ])('canonicalJson(%j) = %s', (value, expected) => {
        expect(canonicalJson(value)).toBe(expected);
    });
});

describe('errors carry the exact path', () => {
    const rules = [{ from: { rocketchat: { room: 'general' } }, to: { dc: { channel_id: '1' } } }];
    const base = (instances: object) => ({ instances, rules });
    const rule = (r: object, instances: object = { dc: DC }) => ({ instances, rules: [r] });

    it.each<[string, unknown, string, RegExp]>([
        // JSON syntax
        ['trailing comma', '{ "rules": [],\n}', 'line 2, column 1', /^invalid JSON: /],
        ['truncated document', '{"rules": [', 'line 1, column 12', /^invalid JSON: /],
        ['empty setting', '  \n ', '', /configuration is empty/],
        ['not an object', '[1]', '', /must be a JSON object/],
        // top level
        ['no rules', { instances: { dc: DC } }, 'rules', /missing/],
        ['empty rules', { instances: { dc: DC }, rules: [] }, 'rules', /is empty/],
        ['rules not an array', { rules: {} }, 'rules', /must be an array of rules, got an object/],
        ['typo in "rules"', { rule: [] }, 'rule', /unknown top-level key \(did you mean "rules"\?\)/],
        ['typo in "instances"', { instance: { dc: DC }, rules }, 'instance', /unknown platform section "instance" \(did you mean "instances"\?\)/],
        ['unsupported NextBridge platform', { napcat: { qq: { ws_url: 'ws://x' } }, rules }, 'napcat', /unknown platform section "napcat".*"type": "inbound"/],
        ['instances not an object', { instances: [], rules }, 'instances', /must be an object of named instances, got an array/],
        // instances
        ['instance named rocketchat', base({ rocketchat: { type: 'rocketchat', server_url: 'https://x' } }), 'instances.rocketchat', /reserved for this Rocket.Chat server/],
        ['rocketchat section entry named rocketchat', { rocketchat: { rocketchat: { server_url: 'https://x' } }, rules }, 'rocketchat.rocketchat', /reserved/],
        ['instance not an object', base({ dc: 'discord://1/2' }), 'instances.dc', /must be an object, got string "discord:\/\/1\/2"/],
        ['no type and no url', base({ dc: { webhook_url: 'https://x' } }), 'instances.dc', /missing "type"/],
        ['unknown type', base({ mx: { type: 'matrix' } }), 'instances.mx.type', /unknown instance type "matrix"/],
        ['type not a string', base({ dc: { type: 7 } }), 'instances.dc.type', /must be a string, got number 7/],
        ['adapter rejects a key', base({ dc: { type: 'discord' } }), 'instances.dc.webhook_url', /^required$/],
        ['adapter rejects a key in a platform section', { discord: { dc: { webhook_url: 'https://x', bad_key: 1 } }, rules }, 'discord.dc.bad_key', /not allowed/],
        ['section and type disagree', { discord: { dc: { type: 'telegram', bot_token: 'x' } }, rules }, 'discord.dc.type', /contradicts the section "discord"/],
        ['bad url', base({ dc: { url: 'nope://x' } }), 'instances.dc.url', /^unsupported URL scheme/],
        ['bad part of a url', base({ dc: { url: 'nohost://x' } }), 'instances.dc.url', /^host: is missing$/],
        ['url not a string', base({ dc: { url: 42 } }), 'instances.dc.url', /must be a string/],
        ['bad value that came from the url', base({ dc: { url: 'discord://1/short' } }), 'instances.dc.url', /^token_in_url: too short$/],
        ['url of an unknown type', base({ dc: { url: 'fake-inbound://x' } }), 'instances.dc.url', /unknown instance type "unknown-kind"/],
        ['short token', base({ dc: Object.assign({}, DC, { token: 'short' }) }), 'instances.dc.token', /at least 16 characters/],
        ['token not a string', base({ dc: Object.assign({}, DC, { token: 1234567890123456 }) }), 'instances.dc.token', /must be a string/],
        ['timeout too short', base({ dc: Object.assign({}, DC, { timeout_ms: 50 }) }), 'instances.dc.timeout_ms', /from 100 to 300000/],
        ['timeout not whole', base({ dc: Object.assign({}, DC, { timeout_ms: 1000.5 }) }), 'instances.dc.timeout_ms', /whole number/],
        ['in-flight limit 0', base({ dc: Object.assign({}, DC, { max_in_flight: 0 }) }), 'instances.dc.max_in_flight', /from 1 \(strict order, the default\) to 32/],
        ['in-flight limit as a string', base({ dc: Object.assign({}, DC, { max_in_flight: '4' }) }), 'instances.dc.max_in_flight', /whole number/],
        ['track_edits as a string', base({ dc: Object.assign({}, DC, { track_edits: 'no' }) }), 'instances.dc.track_edits', /must be true .* or false \(new messages only\)/],
        ['track_edits on an inbound instance', base({ ci: { type: 'inbound', token: TOKEN, track_edits: false } }), 'instances.ci.track_edits', /unknown key/],
        ['short webhook_token of a remote Rocket.Chat', { rocketchat: { rc: { server_url: 'https://rc', webhook_token: 'abc' } }, rules }, 'rocketchat.rc.webhook_token', /at least 16/],
        ['same token twice', base({ dc: DC, ci: { type: 'inbound', token: TOKEN } }), 'instances.ci.token', /same inbound token is used by instances.dc/],
        ['same name in two sections', { instances: { dc: DC }, discord: { dc: { webhook_url: 'https://x' } }, rules }, 'discord.dc', /already declared at instances.dc/],
        ['inbound without token', base({ ci: { type: 'inbound' } }), 'instances.ci.token', /missing: an inbound instance needs a token/],
        ['inbound with an adapter key', base({ ci: { type: 'inbound', token: TOKEN, webhook_url: 'x' } }), 'instances.ci.webhook_url', /unknown key "webhook_url"; an inbound instance has: type, token, rooms/],
        ['inbound with a typo', base({ ci: { type: 'inbound', token: TOKEN, room: ['#a'] } }), 'instances.ci.room', /did you mean "rooms"/],
        ['rooms not an array', base({ ci: { type: 'inbound', token: TOKEN, rooms: '#a' } }), 'instances.ci.rooms', /non-empty array/],
        ['empty room entry', base({ ci: { type: 'inbound', token: TOKEN, rooms: ['#a', '#'] } }), 'instances.ci.rooms[1]', /must not be empty/],
        // rule structure
        ['rule not an object', { instances: { dc: DC }, rules: ['x'] }, 'rules[0]', /must be an object, got string/],
        ['unknown rule key', rule({ type: 'connect', chanels: {} }), 'rules[0].chanels', /unknown key "chanels" \(did you mean "channels"\?\)/],
        ['unknown rule type', rule({ type: 'conect', channels: {} }), 'rules[0].type', /unknown rule type "conect" \(did you mean "connect"\?\)/],
        ['missing from', rule({ to: { dc: {} } }), 'rules[0].from', /missing/],
        ['from is an array', rule({ from: [], to: { dc: {} } }), 'rules[0].from', /must be an object .* got an array/],
        ['empty to', rule({ from: { rocketchat: { room: 'a' } }, to: {} }), 'rules[0].to', /at least one instance/],
        ['unknown instance in the third rule', {
            instances: { dc: DC },
            rules: [rules[0], { from: { rocketchat: { room: 'b' } }, to: { dc: { channel_id: '2' } } }, { from: { rocketchat: { room: 'c' } }, to: { discord_main: { channel_id: '1' } } }],
        }, 'rules[2].to.discord_main', /unknown instance "discord_main"; declared: rocketchat, dc/],
        ['typo in an instance name', rule({ from: { rocketchat: { room: 'a' } }, to: { dcc: {} } }), 'rules[0].to.dcc', /did you mean "dc"/],
        ['rc_main not renamed', rule({ from: { dc: {} }, to: { rc_main: { room_id: 'GENERAL' } } }), 'rules[0].to.rc_main', /unknown instance "rc_main"/],
        ['channel not an object', rule({ from: { rocketchat: '#general' }, to: { dc: {} } }), 'rules[0].from.rocketchat', /channel must be an object such as \{ "room": "#general" \}/],
        ['channel value is an object', rule({ from: { rocketchat: { room: 'a' } }, to: { dc: { channel_id: { id: 1 } } } }), 'rules[0].to.dc.channel_id', /strings or numbers, got an object/],
        ['msg in from', rule({ from: { dc: { channel_id: '1', msg: {} } }, to: { rocketchat: { room: 'a' } } }), 'rules[0].from.dc.msg', /sent TO a channel/],
        ['same channel both ways', rule({ from: { dc: { channel_id: 1 } }, to: { dc: { channel_id: '1' } } }), 'rules[0].to.dc', /same channel as rules\[0\].from.dc/],
        ['same local room both ways', rule({ from: { rocketchat: { room: '#general' } }, to: { rocketchat: { room: 'general' } } }), 'rules[0].to.rocketchat', /cannot relay a channel to itself/],
        ['inbound-only target', rule({ from: { rocketchat: { room: 'a' } }, to: { ci: {} } }, { ci: { type: 'inbound', token: TOKEN } }), 'rules[0].to.ci', /inbound-only/],
        ['forward rule without this server', rule({ from: { dc: { channel_id: '1' } }, to: { tg: { chat_id: '2' } } }, { dc: DC, tg: TG }), 'rules[0]', /no usable route/],
        ['connect rule without this server', rule({ type: 'connect', channels: { dc: { channel_id: '1' }, tg: { chat_id: '2' } } }, { dc: DC, tg: TG }), 'rules[0]', /no usable route/],
        ['connect with one channel', rule({ type: 'connect', channels: { rocketchat: { room: 'a' } } }), 'rules[0].channels', /at least two/],
        ['connect with from', rule({ type: 'connect', from: {}, channels: {} }), 'rules[0].from', /lists its instances under "channels"/],
        ['forward with channels', rule({ from: { rocketchat: { room: 'a' } }, to: { dc: {} }, channels: {} }), 'rules[0].channels', /add "type": "connect"/],
        // local channels
        ['local channel without a room', rule({ from: { dc: {} }, to: { rocketchat: {} } }), 'rules[0].to.rocketchat', /missing "room_id" or "room"/],
        ['local channel with both keys', rule({ from: { rocketchat: { room: 'a', room_id: 'A' } }, to: { dc: {} } }), 'rules[0].from.rocketchat', /either "room_id" or "room"/],
        ['local channel key typo', rule({ from: { rocketchat: { room_name: 'a' } }, to: { dc: {} } }), 'rules[0].from.rocketchat.room_name', /unknown key "room_name"/],
        ['empty room', rule({ from: { rocketchat: { room: '#' } }, to: { dc: {} } }), 'rules[0].from.rocketchat.room', /must name a room/],
        ['empty room_id', rule({ from: { rocketchat: { room_id: ' ' } }, to: { dc: {} } }), 'rules[0].from.rocketchat.room_id', /must not be empty/],
        ['wildcard as a target', rule({ from: { dc: {} }, to: { rocketchat: { room: '*' } } }), 'rules[0].to.rocketchat.room', /only be used in "from"/],
        ['wildcard in a connect rule', rule({ type: 'connect', channels: { dc: {}, rocketchat: { room: '*' } } }), 'rules[0].channels.rocketchat.room', /only be used in "from"/],
        // msg
        ['msg key typo', withRule({ msg: { rc_alais: '{user}' } }), 'rules[0].msg.rc_alais', /unknown key "rc_alais" \(did you mean "rc_alias"\?\); msg keys are: msg_format/],
        ['unknown template variable', withRule({ msg: { rc_alias: '{usr}' } }), 'rules[0].msg.rc_alias', /unknown template variable \{usr\} \(did you mean \{user\}\?\)/],
        ['template not a string', withRule({ msg: { msg_format: ['{msg}'] } }), 'rules[0].msg.msg_format', /must be a template string, got an array/],
        ['msg not an object', withRule({ msg: '{msg}' }), 'rules[0].msg', /must be an object/],
        ['bad template in a channel msg', rule({ type: 'connect', channels: { dc: { msg: { webhook_title: '{nick}' } }, rocketchat: { room: 'a' } } }),
            'rules[0].channels.dc.msg.webhook_title', /unknown template variable \{nick\}/],
        // filter
        ['filter key typo', withRule({ filter: { ignore_user: ['bob'] } }), 'rules[0].filter.ignore_user', /did you mean "ignore_users"/],
        ['invalid match regex', withRule({ filter: { match: '(unclosed' } }), 'rules[0].filter.match', /^invalid regex: /],
        ['invalid regex flags', withRule({ filter: { ignore: '/x/g' } }), 'rules[0].filter.ignore', /unsupported regex flags "g"/],
        ['empty regex', withRule({ filter: { match: '//i' } }), 'rules[0].filter.match', /empty regex/],
        ['ignore_bots not a boolean', withRule({ filter: { ignore_bots: 'yes' } }), 'rules[0].filter.ignore_bots', /true or false/],
        ['trigger_words not a list', withRule({ filter: { trigger_words: '!relay' } }), 'rules[0].filter.trigger_words', /array of strings/],
        ['empty trigger word', withRule({ filter: { trigger_words: ['!a', ' '] } }), 'rules[0].filter.trigger_words[1]', /must not be empty/],
        ['filter not an object', withRule({ filter: true }), 'rules[0].filter', /must be an object, got boolean true/],
        // ids
        ['duplicate given ids', { instances: { dc: DC }, rules: [Object.assign({ id: 'a' }, rules[0]), { id: 'a', from: { dc: {} }, to: { rocketchat: { room: 'x' } } }] },
            'rules[1]', /duplicate rule id "a" \(same as rules\[0\]\)/],
        ['the same rule twice (derived ids)', { instances: { dc: DC }, rules: [rules[0], Object.assign({ msg: { msg_format: 'x {msg}' } }, rules[0])] },
            'rules[1]', /duplicate rule id "r[0-9a-f]{8}"/],
        ['empty id', withRule({ id: ' ' }), 'rules[0].id', /1 to 64 characters/],
    ])('%s → %s', (_label, config, path, problem) => {
        const error = parseError(config);
        expect(error).toBeInstanceOf(ConfigError);
        expect(error.path).toBe(path);
        expect(error.problem).toMatch(problem);
    });
});

describe('warnings (non-fatal)', () => {
    it.each<[string, object, Array<{ path: string; problem: RegExp }>]>([
        ['NextBridge global section', Object.assign({ global: { proxy: 'http://p' } }, withRule({})), [{ path: 'global', problem: /ignored/ }]],
        ['unused instance', withRule({}, { dc: DC, tg: TG }), [{ path: 'instances.tg', problem: /not used by any rule/ }]],
        ['source instance without an inbound token', withRule({ from: { tg: { chat_id: '1' } }, to: { rocketchat: { room: 'a' } } }, { tg: TG }),
            [{ path: 'rules[0].from.tg', problem: /no inbound "token"/ }]],
        ['bot_msg_format', withRule({ msg: { bot_msg_format: '{msg}' } }), [{ path: 'rules[0].msg.bot_msg_format', problem: /never sends as a bot/ }]],
        ['forward route between two external instances', withRule({ from: { dc: {} }, to: { rocketchat: { room: 'a' }, tg: { chat_id: '1' } } }, { dc: DC, tg: TG }),
            [{ path: 'rules[0].to.tg', problem: /route dc → tg skipped/ }, { path: 'instances.tg', problem: /not used by any rule/ }]],
        ['none for a clean config', withRule({}), []],
    ])('%s', (_label, config, expected) => {
        const warnings = parse(config).warnings;
        expect(warnings.length).toBe(expected.length);
        expected.forEach((warning, i) => {
            expect(warnings[i].path).toBe(warning.path);
            expect(warnings[i].problem).toMatch(warning.problem);
        });
    });
});

describe('validateRelayConfig', () => {
    it('returns ok with the config', () => {
        const result = validateRelayConfig(JSON.stringify(withRule({})), registry);
        expect(result.ok && result.config.rules.length).toBe(1);
    });

    it('returns the error instead of throwing', () => {
        const result = validateRelayConfig('{', registry);
        expect(result.ok).toBe(false);
        expect(!result.ok && result.error.message).toMatch(/^line 1, column 2: invalid JSON/);
    });

    it('accepts a UTF-8 byte order mark', () => {
        expect(validateRelayConfig(`\ufeff${JSON.stringify(withRule({}))}`, registry).ok).toBe(true);
    });
});

describe('warnings for routes the relay does not take', () => {
    it('a rule between two rooms of this server parses but is reported', () => {
        const config = parse({ rules: [{ from: { rocketchat: { room: '#a' } }, to: { rocketchat: { room_id: 'B' } } }] });
        expect(config.warnings).toEqual(expect.arrayContaining([{ path: 'rules[0].to.rocketchat', problem: 'route between two rooms of this server (#a → B) is not relayed' }]));
    });
});
