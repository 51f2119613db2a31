import { mattermostTarget } from '../../../src/targets/mattermost';
import { file, makeInput, outcome, response, view } from './harness';

const HOOK = 'https://mm.example.com/hooks/yobjmukpaw3r3urc5h6i369yima';
const raw = { webhook_url: HOOK };
const JSON_HEADERS = { 'Content-Type': 'application/json' };
const props = { from_relay_bridge: true, relay_message_id: 'MSG1', relay_room: 'general' };
const post = (text: string, extra: Record<string, unknown> = {}) => ({
    method: 'POST', url: HOOK, headers: JSON_HEADERS,
    json: { text, username: 'Alice', icon_url: 'https://cdn.example.com/alice.png', ...extra, props },
});
const long = `${'a'.repeat(10000)}\n\n${'b'.repeat(10000)}`;

describe('mattermost target: requests', () => {
    it.each([
        ['sent: markdown converted, name and avatar, props marker', {}, {}, [post('hello **world**')]],
        ['mentions neutralised', {}, { rendered: { text: '@all @channel @here @alice' } }, [post('@\u200Ball @\u200Bchannel @\u200Bhere @alice')]],
        ['rule channel wins, without its ~', { channel: 'town-square' }, { channel: { channel: '~dev' } }, [post('hello **world**', { channel: 'dev' })]],
        ['instance channel as default', { channel: '#town-square' }, {}, [post('hello **world**', { channel: 'town-square' })]],
        [
            'no alias/avatar: instance botname and icon_url',
            { botname: 'Relay', icon_url: 'https://x.example/bot.png' }, { rendered: { alias: '', avatarUrl: undefined } },
            [post('hello **world**', { username: 'Relay', icon_url: 'https://x.example/bot.png' })],
        ],
        [
            'files as links',
            {}, { files: [file('cat.png', 'image/png', false)] },
            [post('hello **world**\n[cat.png](https://chat.example.com/file-upload/cat.png)')],
        ],
        ['split at 16383', {}, { rendered: { text: long } }, [post('a'.repeat(10000)), post('b'.repeat(10000))]],
        ['thread reply: an ordinary post', {}, { message: { threadId: 'P' } }, [post('hello **world**')]],
        ['nothing to send', {}, { rendered: { text: '' } }, []],
        ['edited: nothing (no post ids)', {}, { message: { event: 'edited' as const }, remoteIds: ['x'] }, []],
        ['deleted: nothing (no post ids)', {}, { message: { event: 'deleted' as const }, remoteIds: ['x'] }, []],
    ])('%s', (_name, extra, options, expected) => {
        const input = makeInput(mattermostTarget, { ...raw, ...extra }, options);
        expect(mattermostTarget.buildRequests(input).map(view)).toEqual(expected);
    });
});

describe('mattermost target: responses', () => {
    const input = makeInput(mattermostTarget, raw);
    const request = { method: 'POST' as const, url: HOOK, headers: {} };
    it.each([
        ['plain ok', response(200, 'ok'), {}],
        [
            'app error with its id',
            response(400, { id: 'web.incoming_webhook.user.app_error', message: 'Could not find the user.', status_code: 400 }),
            { error: 'TargetError', message: 'Mattermost answered 400: Could not find the user. [web.incoming_webhook.user.app_error]', status: 400, retryable: false },
        ],
        [
            'unknown hook',
            response(404, { id: 'web.incoming_webhook.invalid.app_error', message: 'Invalid webhook.' }),
            { error: 'TargetError', message: 'Mattermost answered 404: Invalid webhook. [web.incoming_webhook.invalid.app_error]', status: 404, retryable: false },
        ],
        [
            '429 with Retry-After',
            response(429, 'too many requests', { 'retry-after': '1' }),
            { error: 'TargetError', message: 'Mattermost answered 429: too many requests', status: 429, retryable: true, retryAfterMs: 1000 },
        ],
    ])('%s', (_name, result, expected) => {
        expect(outcome(() => mattermostTarget.readResponse(input, request, result))).toEqual(expected);
    });
});

describe('mattermost target: config', () => {
    it.each([
        [{}, 'webhook_url: is required'],
        [{ webhook_url: 'ftp://mm.example.com/hooks/abc' }, 'webhook_url: must use http or https'],
        [{ webhook_url: 'https://mm.example.com/api/v4/posts' }, 'webhook_url: must end in /hooks/{key}'],
        [{ ...raw, icon_url: 'data:x' }, 'icon_url: must be an http(s) URL'],
    ])('%j → %s', (config, message) => {
        expect(() => mattermostTarget.parseConfig(config)).toThrow(message);
    });

    it('self-hosted servers may use plain http (as mmost:// does)', () => {
        expect(mattermostTarget.parseConfig({ webhook_url: 'http://mm.lan:8065/hooks/abc/' }).webhookUrl).toBe('http://mm.lan:8065/hooks/abc');
    });

    it('describe shows the host, not the key', () => {
        expect(mattermostTarget.describe(mattermostTarget.parseConfig({ ...raw, channel: 'dev' }))).toBe('mattermost webhook https://mm.example.com ~dev');
    });
});
