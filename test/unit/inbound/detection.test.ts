import { detectDialect } from '../../../src/inbound/dialects';
import { fixture } from './fixtures';

describe('detectDialect', () => {
    it.each([
        ['Grafana → Rocket.Chat webhook', fixture('rocketchat-grafana.json'), 'rocketchat'],
        ['Apprise rocket:// webhook mode (avatar is Rocket.Chat-only)', fixture('rocketchat-apprise.json'), 'rocketchat'],
        ['Alertmanager Slack (icon_emoji)', fixture('slack-alertmanager.json'), 'slack'],
        ['Slack blocks', fixture('slack-blocks.json'), 'slack'],
        ['Uptime Kuma Discord', fixture('discord-uptime-kuma.json'), 'discord'],
        ['NextBridge (channel object, even with msg/username keys)', fixture('nextbridge-discord.json'), 'nextbridge'],
        ['Matterbridge with Extra null', fixture('matterbridge-irc.json'), 'matterbridge'],
        ['Matterbridge with files', fixture('matterbridge-telegram-file.json'), 'matterbridge'],
        ['Apprise json://', fixture('apprise-backup.json'), 'apprise'],
        ['NextBridge with an empty channel dict', { text: 'x', channel: {}, attachments: [] }, 'nextbridge'],
        ['Matterbridge with only gateway', { text: 'x', gateway: 'g' }, 'matterbridge'],
        ['gateway: null is not Matterbridge', { text: 'x', gateway: null }, 'rocketchat'],
        ['Discord embeds only', { embeds: [{ title: 't' }] }, 'discord'],
        ['embeds next to text stay Rocket.Chat', { text: 't', embeds: [] }, 'rocketchat'],
        ['version without message is not Apprise', { version: '1.0', text: 'x' }, 'rocketchat'],
        ['Apprise beats Discord when both keys exist', { version: '1.0', message: 'm', content: 'c' }, 'apprise'],
        ['tmid wins over Slack markers', { text: 'x', tmid: 'abc', thread_ts: '1.2' }, 'rocketchat'],
        ['roomId is Rocket.Chat', { text: 'x', roomId: 'GENERAL' }, 'rocketchat'],
        ['thread_ts is Slack', { text: 'x', thread_ts: '1.2' }, 'slack'],
        ['unfurl_links is Slack', { text: 'x', unfurl_links: false }, 'slack'],
        ['plain text is Rocket.Chat', { text: 'x' }, 'rocketchat'],
        ['attachments only is Rocket.Chat', { attachments: [] }, 'rocketchat'],
        ['channel string alone is nothing', { channel: '#x' }, undefined],
        ['empty object', {}, undefined],
        ['array body', [{ text: 'x' }], undefined],
        ['string body', 'text', undefined],
        ['inherited keys do not count', Object.create({ text: 'x' }), undefined],
    ])('%s', (_name, body, expected) => {
        expect(detectDialect(body)).toBe(expected);
    });
});
