import { expectUrlError } from './harness';
import { ConfigError } from '../../../src/core/errors';
import { ALL_TARGETS, createTargetRegistry, targetRegistry } from '../../../src/targets/index';

const TOKEN_40 = 'aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcd';

describe('parseTargetUrl: valid URLs', () => {
    it.each([
        // json / jsons (Apprise JSON)
        ['json://localhost:8080/relay', 'webhook', { url: 'http://localhost:8080/relay' }],
        ['jsons://hooks.example.org', 'webhook', { url: 'https://hooks.example.org/' }],
        [
            'json://localhost/in?+X-Token=a+b&method=PUT&-drop=1&keep=a+b&token=s3cret',
            'webhook', { url: 'http://localhost/in?keep=a+b', method: 'PUT', token: 's3cret', headers: { 'X-Token': 'a+b' } },
        ],
        ['jsons://user:pa%3Ass@hooks.example.org/in', 'webhook', { url: 'https://hooks.example.org/in', headers: { Authorization: 'Basic dXNlcjpwYTpzcw==' } }],
        // discord
        ['discord://111222/tok-EN_1', 'discord', { webhook_id: '111222', webhook_token: 'tok-EN_1' }],
        ['discord://111222/tok-EN_1/', 'discord', { webhook_id: '111222', webhook_token: 'tok-EN_1' }],
        [
            'discord://Relay%20Bot@111222/tok?thread=55&avatar_url=https%3A%2F%2Fx.example%2Fa.png',
            'discord', { webhook_id: '111222', webhook_token: 'tok', botname: 'Relay Bot', thread_id: '55', avatar_url: 'https://x.example/a.png' },
        ],
        ['https://discord.com/api/webhooks/111222/tok?thread_id=9', 'discord', { webhook_url: 'https://discord.com/api/webhooks/111222/tok', thread_id: '9' }],
        ['https://discordapp.com/api/webhooks/111222/tok', 'discord', { webhook_url: 'https://discordapp.com/api/webhooks/111222/tok' }],
        // rocket / rockets: the seed 003 sample_urls
        ['rockets://bot:pw@chat.example.com/@alice', 'rocketchat', { send_method: 'api', server_url: 'https://chat.example.com', username: 'bot', password: 'pw', avatar: 'no', channel: '@alice' }],
        ['rocket://bot:pw@chat.example.com/#general', 'rocketchat', { send_method: 'api', server_url: 'http://chat.example.com', username: 'bot', password: 'pw', avatar: 'no', channel: '#general' }],
        ['rocket://bot:pw@chat.example.com/GENERAL', 'rocketchat', { send_method: 'api', server_url: 'http://chat.example.com', username: 'bot', password: 'pw', avatar: 'no', room_id: 'GENERAL' }],
        ['rocket://hookid%2Fhooktoken@chat.example.com/@alice', 'rocketchat', { send_method: 'webhook', webhook_url: 'http://chat.example.com/hooks/hookid/hooktoken', channel: '@alice' }],
        ['rockets://hookid%2Fhooktoken@chat.example.com/#general', 'rocketchat', { send_method: 'webhook', webhook_url: 'https://chat.example.com/hooks/hookid/hooktoken', channel: '#general' }],
        ['rockets://hookid%2Fhooktoken@chat.example.com/Room42', 'rocketchat', { send_method: 'webhook', webhook_url: 'https://chat.example.com/hooks/hookid/hooktoken', room_id: 'Room42' }],
        // rocket / rockets: the other documented forms
        ['rockets://bot:pw@chat.example.com:3000/#general', 'rocketchat', { send_method: 'api', server_url: 'https://chat.example.com:3000', username: 'bot', password: 'pw', avatar: 'no', channel: '#general' }],
        ['rocket://l2g:awes0m3!@rocket.server.local/#nuxref', 'rocketchat', { send_method: 'api', server_url: 'http://rocket.server.local', username: 'l2g', password: 'awes0m3!', avatar: 'no', channel: '#nuxref' }],
        ['rocket://abcd%2F12345@chat.example.com/', 'rocketchat', { send_method: 'webhook', webhook_url: 'http://chat.example.com/hooks/abcd/12345' }],
        ['rockets://botname:abcd%2F12345@chat.example.com:8443/?avatar=no', 'rocketchat', { send_method: 'webhook', webhook_url: 'https://chat.example.com:8443/hooks/abcd/12345', avatar: 'no' }],
        [`rockets://BOTUSERID:${TOKEN_40}@chat.example.com/#general`, 'rocketchat', { send_method: 'api', server_url: 'https://chat.example.com', user_id: 'BOTUSERID', auth_token: TOKEN_40, channel: '#general' }],
        ['rockets://BOTUSERID:shorttoken@chat.example.com/?mode=token&to=%23dev', 'rocketchat', { send_method: 'api', server_url: 'https://chat.example.com', user_id: 'BOTUSERID', auth_token: 'shorttoken', channel: '#dev' }],
        // basic mode: alias/avatar only when asked for (Apprise's default), token mode keeps them
        ['rockets://bot:pw@chat.example.com/#general?avatar=yes', 'rocketchat', { send_method: 'api', server_url: 'https://chat.example.com', username: 'bot', password: 'pw', channel: '#general', avatar: 'yes' }],
        ['rockets://bot:pw@chat.example.com', 'rocketchat', { send_method: 'api', server_url: 'https://chat.example.com', username: 'bot', password: 'pw', avatar: 'no' }],
        ['https://chat.example.com/hooks/HID/HTOKEN', 'rocketchat', { send_method: 'webhook', webhook_url: 'https://chat.example.com/hooks/HID/HTOKEN' }],
        ['  ROCKETS://bot:pw@chat.example.com/#general  ', 'rocketchat', { send_method: 'api', server_url: 'https://chat.example.com', username: 'bot', password: 'pw', avatar: 'no', channel: '#general' }],
    ])('%s', (url, type, raw) => {
        const parsed = targetRegistry.parseTargetUrl(url);
        expect(parsed).toEqual({ type, raw });
        // What a URL yields must be a config its adapter accepts.
        const adapter = targetRegistry.adapterForType(type);
        expect(() => adapter!.parseConfig(parsed.raw)).not.toThrow();
    });
});

describe('parseTargetUrl: invalid URLs', () => {
    it.each([
        ['not a url', 'url: this is not a target URL (expected scheme://…, e.g. discord://id/token)'],
        ['discord://', 'url: nothing after discord://'],
        ['irc://irc.example.net/#relay', 'url: unknown scheme "irc://"; supported: json://, jsons://, discord://, rocket://, rockets://'],
        ['https://example.com/hook', 'url: https:// URL "https://example.com/***" is not a known service URL (discord, rocketchat'],
        ['https://discord.com/api/channels/1', 'is not a known service URL'],
        ['rocket://bot:secret@ho st/', 'url: "rocket://***@***/***" is not a valid URL'],
        ['json:///path-only', 'url: webhook URL: host: is missing (json://host/path)'],
        ['discord://111222', 'url: discord URL: expected discord://{webhook_id}/{webhook_token}'],
        ['discord://111222/tok/extra', 'url: discord URL: expected discord://{webhook_id}/{webhook_token}'],
        ['rocket://chat.example.com/#general', 'url: rocketchat URL: expected {user}:{password}@host'],
        ['rocket://abc@chat.example.com/#general', 'url: rocketchat URL: expected {user}:{password}@host'],
        ['rocket://bot:pw@chat.example.com/bad!room', 'url: rocketchat URL: targets: "bad!room" is not #channel, @user or a room id'],
        ['rocket://bot:pw@chat.example.com/?mode=oauth', 'url: rocketchat URL: mode: must be basic, token or webhook, got "oauth"'],
        ['rocket://bot:pw@chat.example.com/?mode=webhook', 'url: rocketchat URL: webhook: expected {webhook_id}%2F{webhook_token}@host'],
        ['rocket://bot:pw%ZZ@chat.example.com/', 'url: rocketchat URL: url: malformed percent-encoding in "pw%ZZ"'],
    ])('%s', (url, message) => expectUrlError(url, message));
});

describe('target registry', () => {
    it.each([
        ['webhook', 'webhook'],
        ['discord', 'discord'],
        ['rocketchat', 'rocketchat'],
        ['irc', undefined],
    ])('adapterForType(%s)', (type, found) => {
        const adapter = targetRegistry.adapterForType(type);
        expect(adapter && adapter.type).toBe(found);
    });

    it('types and schemes are unique across adapters', () => {
        const types = ALL_TARGETS.map((adapter) => adapter.type);
        const schemes = ALL_TARGETS.map((adapter) => adapter.schemes.join(',')).join(',').split(',');
        expect(new Set(types).size).toBe(types.length);
        expect(new Set(schemes).size).toBe(schemes.length);
    });

    it('a registry only knows the adapters it was given', () => {
        const discordOnly = createTargetRegistry(ALL_TARGETS.filter((adapter) => adapter.type === 'discord'));
        expect(discordOnly.types()).toEqual(['discord']);
        expect(() => discordOnly.parseTargetUrl('rocket://bot:pw@host/#a')).toThrow('unknown scheme "rocket://"; supported: discord://');
    });
});
