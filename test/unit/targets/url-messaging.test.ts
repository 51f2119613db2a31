// Apprise-style URLs of the Matrix, Telegram, ntfy and Gotify targets.
import { expectUrlError } from './harness';
import { ConfigError } from '../../../src/core/errors';
import { targetRegistry } from '../../../src/targets/index';

describe('parseTargetUrl: matrix, telegram, ntfy, gotify', () => {
    it.each([
        // matrix / matrixs: {token}@ is an access token, {user}:{password}@ a password login (as in Apprise)
        ['matrixs://syt_abc@matrix.example.org/!room:example.org', 'matrix', { homeserver: 'https://matrix.example.org', access_token: 'syt_abc', room_id: '!room:example.org' }],
        ['matrix://bot:s3cret@localhost:8008/%21room%3Aexample.org', 'matrix', { homeserver: 'http://localhost:8008', user: 'bot', password: 's3cret', room_id: '!room:example.org' }],
        ['matrix://bot@localhost/!room:example.org?token=s3cret', 'matrix', { homeserver: 'http://localhost', user: 'bot', password: 's3cret', room_id: '!room:example.org' }],
        ['matrixs://syt_abc@matrix.example.org/#general:example.org', 'matrix', { homeserver: 'https://matrix.example.org', access_token: 'syt_abc', room_id: '#general:example.org' }],
        ['matrixs://syt_abc@matrix.example.org/general', 'matrix', { homeserver: 'https://matrix.example.org', access_token: 'syt_abc', room_id: '#general' }],
        // webhook bridges: t2bot (also its own URL and a bare id), matrix-appservice-webhooks, hookshot
        ['matrixs://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'matrix', { mode: 't2bot', webhook_url: 'https://webhooks.t2bot.io/api/v1/matrix/hook/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' }],
        ['matrix://_?mode=t2bot&token=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'matrix', { mode: 't2bot', webhook_url: 'https://webhooks.t2bot.io/api/v1/matrix/hook/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' }],
        ['https://webhooks.t2bot.io/api/v1/matrix/hook/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/', 'matrix', { mode: 't2bot', webhook_url: 'https://webhooks.t2bot.io/api/v1/matrix/hook/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' }],
        ['matrixs://relay:tok@hooks.example.org?mode=matrix', 'matrix', { mode: 'matrix', webhook_url: 'https://hooks.example.org/api/v1/matrix/hook/tok', botname: 'relay' }],
        ['matrix://tok@localhost:9000/?mode=SLACK', 'matrix', { mode: 'slack', webhook_url: 'http://localhost:9000/api/v1/matrix/hook/tok' }],
        ['matrixs://u:tok@hookshot.example?mode=hookshot', 'matrix', { mode: 'hookshot', webhook_url: 'https://hookshot.example/webhook/tok', botname: 'u' }],
        ['matrixs://u:tok@hookshot.example?mode=hookshot&path=public-hooks/', 'matrix', { mode: 'hookshot', webhook_url: 'https://hookshot.example/public-hooks/tok', botname: 'u' }],
        ['matrixs://matrix.example.org/!room:example.org?token=syt_q', 'matrix', { homeserver: 'https://matrix.example.org', access_token: 'syt_q', room_id: '!room:example.org' }],
        ['matrixs://syt_abc@matrix.example.org/?to=!room:example.org&msgtype=notice', 'matrix', { homeserver: 'https://matrix.example.org', access_token: 'syt_abc', room_id: '!room:example.org', msgtype: 'notice' }],
        ['matrixs://syt_abc@matrix.example.org', 'matrix', { homeserver: 'https://matrix.example.org', access_token: 'syt_abc' }],
        ['matrixs://syt_abc@matrix.example.org/!v12roomid', 'matrix', { homeserver: 'https://matrix.example.org', access_token: 'syt_abc', room_id: '!v12roomid' }],
        // tgram: the token's ':' as %3A or as '/', as Apprise accepts
        ['tgram://123456789%3AAAH-tok_EN/-1001234567890', 'telegram', { bot_token: '123456789:AAH-tok_EN', chat_id: '-1001234567890' }],
        // …and as Apprise documents it, with the bare ':' (a non-numeric "port" is the token)
        ['tgram://123456789:AAH-tok_EN/-1001234567890', 'telegram', { bot_token: '123456789:AAH-tok_EN', chat_id: '-1001234567890' }],
        ['tgram://bot123456789/AAH-tok_EN/-1001234567890', 'telegram', { bot_token: '123456789:AAH-tok_EN', chat_id: '-1001234567890' }],
        ['tgram://123456789%3AAAH/-100123:77?silent=yes&preview=no', 'telegram', { bot_token: '123456789:AAH', chat_id: '-100123', message_thread_id: '77', silent: 'yes', link_preview: 'no' }],
        ['tgram://123456789%3AAAH/mychannel?topic=5', 'telegram', { bot_token: '123456789:AAH', chat_id: '@mychannel', message_thread_id: '5' }],
        ['tgram://123456789%3AAAH/?to=@mychannel', 'telegram', { bot_token: '123456789:AAH', chat_id: '@mychannel' }],
        // Apprise's `{botname}@{token}` form; no chat: every rule channel names one.
        ['tgram://relaybot@123456789:AAH-tok_EN/-100123', 'telegram', { bot_token: '123456789:AAH-tok_EN', chat_id: '-100123' }],
        ['tgram://123456789%3AAAH', 'telegram', { bot_token: '123456789:AAH' }],
        // ntfy / ntfys
        ['ntfy://relay_alerts', 'ntfy', { topic: 'relay_alerts' }],
        ['ntfys://ntfy.sh/relay_alerts', 'ntfy', { topic: 'relay_alerts' }],
        ['ntfy://ntfy.local:8080/alerts', 'ntfy', { server: 'http://ntfy.local:8080', topic: 'alerts' }],
        ['ntfys://relay:s3cret@ntfy.example.com/alerts?priority=high&tags=rocket', 'ntfy', { server: 'https://ntfy.example.com', topic: 'alerts', username: 'relay', password: 's3cret', priority: 'high', tags: 'rocket' }],
        ['ntfys://tk_abc123@ntfy.example.com/alerts', 'ntfy', { server: 'https://ntfy.example.com', topic: 'alerts', access_token: 'tk_abc123' }],
        ['ntfys://ntfy.example.com/alerts?token=tk_q&priority=emergency', 'ntfy', { server: 'https://ntfy.example.com', topic: 'alerts', access_token: 'tk_q', priority: 'max' }],
        ['ntfys://user:tk_pw@ntfy.example.com/alerts?auth=token', 'ntfy', { server: 'https://ntfy.example.com', topic: 'alerts', access_token: 'tk_pw' }],
        // A user without a password is Basic `user:`, as Apprise sends it; ntfy.sh's own URLs.
        ['ntfys://relay@ntfy.example.com/alerts', 'ntfy', { server: 'https://ntfy.example.com', topic: 'alerts', username: 'relay' }],
        ['https://ntfy.sh/relay_alerts', 'ntfy', { topic: 'relay_alerts' }],
        ['https://ntfy.sh/?to=relay_alerts', 'ntfy', { topic: 'relay_alerts' }],
        // gotify / gotifys
        ['gotify://push.local/AppTok3n', 'gotify', { server: 'http://push.local', app_token: 'AppTok3n' }],
        ['gotifys://push.example.com:8443/gotify/AppTok3n?priority=high', 'gotify', { server: 'https://push.example.com:8443/gotify', app_token: 'AppTok3n', priority: 8 }],
        // A priority word Apprise does not know is normal, as in Apprise.
        ['gotify://push.local/T?priority=urgent', 'gotify', { server: 'http://push.local', app_token: 'T', priority: 5 }],
        ['gotifys://push.example.com/AppTok3n?priority=9&client_token=CT', 'gotify', { server: 'https://push.example.com', app_token: 'AppTok3n', priority: 8, client_token: 'CT' }],
    ])('%s', (url, type, raw) => {
        const parsed = targetRegistry.parseTargetUrl(url);
        expect(parsed).toEqual({ type, raw });
        // What a URL yields must be a config its adapter accepts.
        expect(() => targetRegistry.adapterForType(type)!.parseConfig(parsed.raw)).not.toThrow();
    });

    it.each([
        ['matrixs://syt_abc@matrix.example.org/@alice:example.org', 'url: matrix URL: targets: "@alice:example.org" is a user'],
        ['matrixs://syt_abc@matrix.example.org/%23a%20b', 'url: matrix URL: targets: must be a Matrix room id like !abc123:example.org or an alias'],
        ['matrixs://matrix.example.org/!room:example.org', 'url: matrix URL: expected matrixs://{access_token}@host/!room:server, matrixs://{user}:{password}@host/!room:server or a t2bot webhook id'],
        ['matrix://localhost', 'url: matrix URL: expected matrixs://{access_token}@host/!room:server'],
        ['matrixs://syt_abc@matrix.example.org/?mode=t2bot', 'or a t2bot webhook id (64 letters and digits): matrix://{id}'],
        ['matrix://user:token@localhost?mode=On', 'url: matrix URL: mode: must be off, t2bot, matrix, slack, hookshot, got "On"'],
        ['matrix://user:token@localhost/!r:x?v=invalid', 'url: matrix URL: version: must be 2 or 3, got "invalid"'],
        ['matrixs://user:pass@hostname:0/#room', 'url: matrix URL: port: must be 1 to 65535'],
        ['matrix://u:tok@localhost/!r:x?mode=matrix', 'url: matrix URL: targets: a matrix webhook posts into the room it was made for; remove !r:x'],
        ['tgram://123456789%3AAAH/-1/?topic=x', 'url: telegram URL: topic: must be a numeric forum topic id, got "x"'],
        ['tgram://123456789%3AAAH/-1/?content=middle', 'url: telegram URL: content: must be before or after, got "middle"'],
        ['tgram://nonsense/-100123', 'url: telegram URL: bot_token: expected tgram://{bot_token}/{chat_id}'],
        ['ntfys://user:pw@-_/alerts?mode=private', 'url: ntfy URL: host: "-_" is not a host name'],
        ['ntfys://tk@ntfy.example.com/alerts?auth=oauth', 'url: ntfy URL: auth: must be basic or token, got "oauth"'],
        ['ntfys://ntfy.example.com/alerts?mode=cluster', 'url: ntfy URL: mode: must be cloud or private, got "cluster"'],
        ['gotify://push.local', 'url: gotify URL: expected gotify(s)://host[:port][/path]/{app_token}'],
    ])('%s', (url, message) => expectUrlError(url, message));

    it('several Matrix rooms are several destinations of one instance', () => {
        expect(targetRegistry.parseTargetUrl('matrix://user:pass@localhost/#room1/!room2:x?to=general')).toEqual({
            type: 'matrix',
            raw: { homeserver: 'http://localhost', user: 'user', password: 'pass' },
            destinations: [{ room_id: '#room1' }, { room_id: '!room2:x' }, { room_id: '#general' }],
        });
    });

    it.each([
        ['tgram://123456789%3AAAH/-1/-2:7/@chan', 'telegram', { bot_token: '123456789:AAH' }, [{ chat_id: '-1' }, { chat_id: '-2', message_thread_id: '7' }, { chat_id: '@chan' }]],
        ['tgram://123456789%3AAAH/?to=id1,id2', 'telegram', { bot_token: '123456789:AAH' }, [{ chat_id: '@id1' }, { chat_id: '@id2' }]],
        ['ntfys://ntfy.example.com/a/b', 'ntfy', { server: 'https://ntfy.example.com' }, [{ topic: 'a' }, { topic: 'b' }]],
        ['ntfy://user:pw@t1/t2/?mode=cloud', 'ntfy', { username: 'user', password: 'pw' }, [{ topic: 't1' }, { topic: 't2' }]],
    ])('%s names several destinations', (url, type, raw, destinations) => {
        expect(targetRegistry.parseTargetUrl(url)).toEqual({ type, raw, destinations });
    });
});
