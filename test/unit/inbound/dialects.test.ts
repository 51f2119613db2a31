import { parseInbound } from '../../../src/inbound/dialects';
import { InboundError } from '../../../src/inbound/errors';
import { fixture, fixtureText, post, thrown } from './fixtures';

const png = fixture('matterbridge-telegram-file.json') as any;
const pngBytes = Uint8Array.from(Buffer.from(png.Extra.file[0].Data, 'base64'));
const backupLog = fixture('apprise-backup.json') as any;
const backupLogBytes = Uint8Array.from(Buffer.from(backupLog.attachments[0].base64, 'base64'));

describe('parseInbound: real sender payloads', () => {
    it.each([
        [
            'Rocket.Chat webhook from Grafana',
            post(fixture('rocketchat-grafana.json')),
            {
                dialect: 'rocketchat',
                text: '[Alerting] CPU usage alert',
                alias: 'Grafana',
                avatarUrl: 'https://grafana.com/static/img/fav32.png',
                destinations: [],
                parseUrls: false,
                attachments: [],
                rcAttachments: [
                    {
                        title: '[Alerting] CPU usage alert',
                        title_link: 'https://grafana.example.com/d/abc123/servers?orgId=1',
                        text: 'CPU usage on web-1 is above 90%',
                        image_url: 'https://grafana.example.com/render/d-solo/abc123.png',
                        color: '#D63232',
                        fields: [{ title: 'web-1', value: '94.2', short: true }],
                    },
                ],
            },
        ],
        [
            'Rocket.Chat webhook from Apprise rocket:// (webhook mode)',
            post(fixture('rocketchat-apprise.json')),
            {
                dialect: 'rocketchat',
                text: 'Disk almost full\r\n/var is at 93%',
                avatarUrl: 'https://github.com/caronc/apprise/raw/master/apprise/assets/themes/default/apprise-warning-72x72.png',
                destinations: [{ roomName: 'ops' }],
            },
        ],
        [
            'Rocket.Chat form post payload=<json> (parsed by the engine)',
            post({ payload: JSON.stringify({ text: 'from curl', channel: ['#a', '@bob', 'GENERAL', '#a'], emoji: ':ghost:', tmid: 'pK4Nq6uNjxR3Ybn7e' }) }, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
            { dialect: 'rocketchat', text: 'from curl', emoji: ':ghost:', tmid: 'pK4Nq6uNjxR3Ybn7e', destinations: [{ roomName: 'a' }, { username: 'bob' }, { nameOrId: 'GENERAL' }] },
        ],
        [
            'Rocket.Chat form post as a raw string',
            post('payload=' + encodeURIComponent(JSON.stringify({ msg: 'raw form', roomId: 'GENERAL', alias: 'CI' })), { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
            { dialect: 'rocketchat', text: 'raw form', alias: 'CI', destinations: [{ roomId: 'GENERAL' }] },
        ],
        [
            'Rocket.Chat JSON as a raw string body',
            post(fixtureText('rocketchat-apprise.json')),
            { dialect: 'rocketchat', text: 'Disk almost full\r\n/var is at 93%' },
        ],
        [
            'Rocket.Chat precedence: text over msg, username over alias, icon_url over avatar, avatar over emoji',
            post({ text: 'T', msg: 'M', username: 'U', alias: 'A', icon_url: 'https://a.example/1.png', avatar: 'https://a.example/2.png', emoji: ':x:', customFields: { ticket: 'OPS-1', nested: { n: 1 } }, groupable: true }),
            { text: 'T', alias: 'U', avatarUrl: 'https://a.example/1.png', customFields: { ticket: 'OPS-1', nested: { n: 1 } }, groupable: true },
        ],
        [
            'Slack legacy webhook from Alertmanager (mrkdwn links, escapes, unsupported keys dropped)',
            post(fixture('slack-alertmanager.json')),
            {
                dialect: 'slack',
                text: '',
                alias: 'Alertmanager',
                emoji: ':fire:',
                destinations: [{ roomName: 'alerts' }],
                rcAttachments: [
                    {
                        title: '[FIRING:1] HighLatency (api prod)',
                        title_link: 'https://alertmanager.example.com/#/alerts?receiver=slack',
                        pretext: '',
                        text: 'p99 latency > 2s on [api](https://api.example.com/health)',
                        color: 'danger',
                    },
                ],
                warnings: ['attachments[0].callback_id: not supported, dropped', 'attachments[0].footer: not supported, dropped', 'attachments[0].mrkdwn_in: not supported, dropped'],
            },
        ],
        [
            'Slack Block Kit message (blocks win over the fallback text)',
            post(fixture('slack-blocks.json')),
            {
                dialect: 'slack',
                text: '*New order #1234*\n*Customer:* [Jane Doe](mailto:jane@example.com) & co\n*Total:*\n$42.00\n2 items\n\nPlaced via [the shop](https://shop.example.com)',
                threadExternalId: '1714560000.123456',
                rcAttachments: [{ image_url: 'https://shop.example.com/orders/1234.png', title: 'Order summary' }],
            },
        ],
        [
            'Slack rich_text from the Slack composer',
            post({ thread_ts: '1.2', blocks: [{ type: 'rich_text', elements: [
                { type: 'rich_text_section', elements: [{ type: 'text', text: 'Deploy ' }, { type: 'text', text: 'done', style: { bold: true } }, { type: 'emoji', name: 'tada' }, { type: 'text', text: ' by ' }, { type: 'user', user_id: 'U123' }] },
                { type: 'rich_text_list', style: 'ordered', elements: [{ type: 'rich_text_section', elements: [{ type: 'link', url: 'https://ci.example.com/1', text: 'build' }] }] },
                { type: 'rich_text_preformatted', elements: [{ type: 'text', text: 'npm test' }] },
            ] }] }),
            { dialect: 'slack', text: 'Deploy *done*:tada: by @U123\n1. [build](https://ci.example.com/1)\n```\nnpm test\n```' },
        ],
        [
            'Slack blocks that render to nothing fall back to text; unknown block types are reported',
            post({ text: 'fallback <!here>', blocks: [{ type: 'divider' }, { type: 'actions', elements: [] }] }),
            { dialect: 'slack', text: 'fallback @here', warnings: ['blocks[1]: block type "actions" not supported, dropped'] },
        ],
        [
            'Discord webhook from Uptime Kuma (embed → attachment)',
            post(fixture('discord-uptime-kuma.json')),
            {
                dialect: 'discord',
                text: '',
                alias: 'Uptime Kuma',
                avatarUrl: 'https://raw.githubusercontent.com/louislam/uptime-kuma/master/public/icon.png',
                rcAttachments: [
                    {
                        title: '\u274c Your service My API went down. \u274c',
                        color: '#ff0000',
                        ts: '2024-05-01T12:00:00.000Z',
                        fields: [
                            { title: 'Service Name', value: 'My API' },
                            { title: 'Service URL', value: 'https://api.example.com' },
                            { title: 'Time (UTC)', value: '2024-05-01 12:00:00' },
                            { title: 'Error', value: 'timeout of 48000ms exceeded' },
                        ],
                    },
                ],
            },
        ],
        [
            'Discord content with custom emoji, author/footer embed and ?thread_id=',
            post(
                { content: 'Deploy <:party:123456789012345678> done', username: 'CI', embeds: [{ description: 'all green', author: { name: 'ci-bot', icon_url: 'https://ci.example.com/bot.png' }, footer: { text: 'build 42' }, image: { url: 'https://ci.example.com/graph.png' } }] },
                { query: { thread_id: '1234567890', wait: 'true' } },
            ),
            {
                dialect: 'discord',
                text: 'Deploy :party: done',
                threadExternalId: '1234567890',
                rcAttachments: [{ text: 'all green\n_build 42_', author_name: 'ci-bot', author_icon: 'https://ci.example.com/bot.png', image_url: 'https://ci.example.com/graph.png' }],
            },
        ],
        [
            'Discord multipart-style payload_json field',
            post({ payload_json: JSON.stringify({ content: 'from a form' }) }, { headers: { 'content-type': 'multipart/form-data; boundary=x' } }),
            { dialect: 'discord', text: 'from a form' },
        ],
        [
            'NextBridge webhook driver (rc_alias/rc_avatar, URL-less attachment skipped)',
            post(fixture('nextbridge-discord.json')),
            {
                dialect: 'nextbridge',
                text: '[Alice \u00b7 123456789012345678 (discord)]\nhello from discord',
                alias: 'Alice (Discord)',
                avatarUrl: 'https://cdn.discordapp.com/avatars/123456789012345678/a1b2c3.png',
                destinations: [{ roomId: 'GENERAL' }],
                attachments: [{ kind: 'url', url: 'https://cdn.discordapp.com/attachments/1/2/cat.png', name: 'cat.png', mimeType: 'image/png', size: 48213 }],
                sender: { id: '123456789012345678', name: 'Alice', platform: 'discord' },
                warnings: ['attachments[1]: no URL, skipped'],
            },
        ],
        [
            'NextBridge without rc_* keys falls back to webhook_title, then the sender',
            post({ text: 'hi', channel: { room: '#support' }, attachments: [], nickname: 'Bob', user_avatar: 'https://t.me/i/userpic/320/bob.jpg', webhook_title: 'Bob @ Telegram', reply_to_id: 'abc' }),
            { dialect: 'nextbridge', alias: 'Bob @ Telegram', avatarUrl: 'https://t.me/i/userpic/320/bob.jpg', destinations: [{ roomName: 'support' }], threadExternalId: 'abc' },
        ],
        [
            'Matterbridge API message from IRC',
            post(fixture('matterbridge-irc.json')),
            { dialect: 'matterbridge', text: 'anyone around?', alias: '[irc] <alice>', gateway: 'gateway1', destinations: [], attachments: [], sender: { name: '[irc] <alice>', platform: 'irc' } },
        ],
        [
            'Matterbridge message with an inline file (Comment becomes the text)',
            post(fixture('matterbridge-telegram-file.json')),
            {
                dialect: 'matterbridge',
                text: 'look at this',
                externalId: '4521',
                threadExternalId: '4518',
                avatarUrl: 'https://matterbridge.example.org/media/bob.jpg',
                attachments: [{ kind: 'bytes', name: 'photo.png', mimeType: 'image/png', bytes: pngBytes }],
            },
        ],
        [
            'Matterbridge /me action',
            post({ text: 'waves', username: 'alice', event: 'user_action', gateway: 'g', parent_id: 'msg-parent-not-found', Extra: {} }),
            { dialect: 'matterbridge', text: '_waves_' },
        ],
        [
            'Apprise json:// with an attachment',
            post(fixture('apprise-backup.json')),
            {
                dialect: 'apprise',
                text: '*Backup finished*\nNightly backup of /srv completed in 4m12s',
                emoji: ':white_check_mark:',
                attachments: [{ kind: 'bytes', name: 'backup.log', mimeType: 'text/plain', bytes: backupLogBytes }],
            },
        ],
        [
            'Apprise json:// without title, ?channel= as destination',
            post({ version: '1.0', title: '', message: 'ping', attachments: [], type: 'failure' }, { query: { channel: '#alerts' } }),
            { dialect: 'apprise', text: 'ping', emoji: ':x:', destinations: [{ roomName: 'alerts' }] },
        ],
    ])('%s', (_name, req, expected) => {
        expect(parseInbound(req)).toMatchObject(expected);
    });
});

describe('parseInbound: forced format', () => {
    it.each([
        ['slack forced on a Rocket.Chat-looking body converts mrkdwn', { format: 'slack' }, { text: 'see <https://x.example|docs>' }, 'slack', 'see [docs](https://x.example)'],
        ['rocketchat forced keeps Slack markup as is', { format: 'rocketchat' }, { text: 'see <https://x.example|docs>', icon_emoji: ':a:' }, 'rocketchat', 'see <https://x.example|docs>'],
        ['discord forced reads content', { format: 'discord' }, { content: 'c', text: 't' }, 'discord', 'c'],
        ['auto is the default', { format: 'auto' }, { content: 'c' }, 'discord', 'c'],
        ['format is case-insensitive', { format: 'Apprise' }, { message: 'm', title: 't' }, 'apprise', '*t*\nm'],
    ])('%s', (_name, query, body, dialect, text) => {
        expect(parseInbound(post(body, { query }))).toMatchObject({ dialect, text });
    });

    it.each([
        ['unknown format', { format: 'teams' }, { text: 'x' }, 400, 'query.format: must be one of auto, rocketchat, slack, discord, nextbridge, matterbridge, apprise'],
        ['forced apprise on a body without message', { format: 'apprise' }, { text: 'x' }, 400, 'text: message is empty: no text, attachments or files'],
        ['forced matterbridge on a delete event', { format: 'matterbridge' }, { text: '', event: 'msg_delete', id: '1' }, 422, 'event: event "msg_delete" is not a message to post'],
    ])('%s', (_name, query, body, status, message) => {
        const error = thrown(() => parseInbound(post(body, { query })));
        expect(error).toBeInstanceOf(InboundError);
        expect(error).toMatchObject({ status, message });
    });
});

describe('parseInbound: methods and ids', () => {
    it.each([
        ['DELETE with no body', post(undefined, { method: 'delete', query: { id: 'ext-1' } }), { dialect: 'rocketchat', text: '', destinations: [], attachments: [], rcAttachments: [] }],
        ['DELETE with only an id', post({ id: 'ext-1' }, { method: 'delete' }), { dialect: 'rocketchat', text: '', externalId: 'ext-1' }],
        ['DELETE of a Matterbridge-forced body', post({ message_id: 77 }, { method: 'delete', query: { format: 'matterbridge' } }), { dialect: 'matterbridge', externalId: '77' }],
        ['PATCH with new text', post({ text: 'edited', id: 'ext-1' }, { method: 'patch' }), { dialect: 'rocketchat', text: 'edited', externalId: 'ext-1' }],
        ['PUT Discord edit carries message_id', post({ content: 'edited', message_id: '998' }, { method: 'PUT' }), { dialect: 'discord', text: 'edited', externalId: '998' }],
        ['Apprise payload extra :id=', post({ version: '1.0', title: '', message: 'm', type: 'info', id: 'job-7' }), { dialect: 'apprise', externalId: 'job-7' }],
        ['token in the body is exposed', post({ text: 'x', token: 'abc' }), { token: 'abc' }],
    ])('%s', (_name, req, expected) => {
        expect(parseInbound(req)).toMatchObject(expected);
    });

    it.each([
        ['PATCH without text still needs content', post({ id: 'ext-1' }, { method: 'patch' }), 400],
        ['HEAD', post({ text: 'x' }, { method: 'head' }), 405],
    ])('%s', (_name, req, status) => {
        expect(thrown(() => parseInbound(req))).toMatchObject({ status });
    });
});
