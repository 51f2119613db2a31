import { mattermostTarget } from '../../../src/targets/mattermost';
import type { OutboundRequest } from '../../../src/core/http';
import { file, makeInput, outcome, response, runScripted, view } from './harness';

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
        [
            'files with bytes: still links (a webhook cannot upload)',
            {}, { files: [file('cat.png', 'image/png', true)] },
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

describe('mattermost target: bot mode (REST API)', () => {
    const SERVER = 'https://mm.example.com';
    const CHANNEL = 'c4nnelid0000000000000000ab';
    const botRaw = { server_url: SERVER, bot_token: 'bottoken123', channel_id: CHANNEL };
    const AUTH = { Authorization: 'Bearer bottoken123' };
    const JSON_AUTH = { ...AUTH, 'Content-Type': 'application/json' };
    const botProps = { ...props, override_username: 'Alice', override_icon_url: 'https://cdn.example.com/alice.png' };
    const botPost = (message: string, extra: Record<string, unknown> = {}) => ({
        method: 'POST', url: `${SERVER}/api/v4/posts`, headers: JSON_AUTH, json: { channel_id: CHANNEL, message, ...extra, props: botProps },
    });

    it.each([
        ['sent: one post, name and avatar as override props', {}, {}, [botPost('hello **world**')]],
        ['rule channel_id wins', {}, { channel: { channel_id: 'ru1echannel000000000000000' } }, [{ ...botPost('hello **world**'), json: { channel_id: 'ru1echannel000000000000000', message: 'hello **world**', props: botProps } }]],
        ['thread reply: root_id is the parent post', {}, { message: { threadId: 'P' }, remoteThreadId: 'parentpost0000000000000000' }, [botPost('hello **world**', { root_id: 'parentpost0000000000000000' })]],
        ['split at 16383', {}, { rendered: { text: long } }, [botPost('a'.repeat(10000)), botPost('b'.repeat(10000))]],
        ['files without bytes: links', {}, { files: [file('cat.png', 'image/png', false)] }, [botPost('hello **world**\n[cat.png](https://chat.example.com/file-upload/cat.png)')]],
        [
            'edited: each post patched, surplus posts deleted',
            {}, { message: { event: 'edited' as const }, remoteIds: ['p1', 'p2'] },
            [
                { method: 'PUT', url: `${SERVER}/api/v4/posts/p1/patch`, headers: JSON_AUTH, json: { message: 'hello **world**' } },
                { method: 'DELETE', url: `${SERVER}/api/v4/posts/p2`, headers: AUTH },
            ],
        ],
        [
            'deleted: every post',
            {}, { message: { event: 'deleted' as const }, remoteIds: ['p1', 'p2'] },
            [{ method: 'DELETE', url: `${SERVER}/api/v4/posts/p1`, headers: AUTH }, { method: 'DELETE', url: `${SERVER}/api/v4/posts/p2`, headers: AUTH }],
        ],
    ])('%s', (_name, extra, options, expected) => {
        const input = makeInput(mattermostTarget, { ...botRaw, ...extra }, options);
        expect(mattermostTarget.buildRequests(input).map(view)).toEqual(expected);
    });

    it('no channel id anywhere: a permanent error naming the key', () => {
        const input = makeInput(mattermostTarget, { server_url: SERVER, bot_token: 't' });
        expect(outcome(() => ({ remoteId: String(mattermostTarget.buildRequests(input)) }))).toMatchObject({ error: 'TargetError', retryable: false, message: expect.stringContaining('channel_id') });
    });

    it('uploads each file with bytes, then one post carries the file ids (other files linked)', async () => {
        const files = [file('a.bin', 'application/octet-stream', true), file('big.iso', 'application/x-iso', false), file('b.png', 'image/png', true)];
        const input = makeInput(mattermostTarget, botRaw, { files });
        let n = 0;
        const run = await runScripted(mattermostTarget, input, (request) => (request.multipart
            ? response(201, { file_infos: [{ id: `file${++n}` }], client_ids: [] })
            : response(201, { id: 'post1', channel_id: CHANNEL })));
        const upload = (name: string, type: string) => ({
            method: 'POST', url: `${SERVER}/api/v4/files`, headers: AUTH,
            multipart: [{ name: 'channel_id', value: CHANNEL }, { name: 'files', filename: name, contentType: type, bytes: 'abc' }],
        });
        expect(run.sent.map(view)).toEqual([
            upload('a.bin', 'application/octet-stream'),
            upload('b.png', 'image/png'),
            botPost('hello **world**\n[big.iso](https://chat.example.com/file-upload/big.iso)', { file_ids: ['file1', 'file2'] }),
        ]);
        expect(run.remoteIds).toEqual(['post1']);
    });

    it('a file-only message is one post with the files and no text; its edit keeps them', async () => {
        const files = [file('a.bin', 'application/octet-stream', true)];
        const input = makeInput(mattermostTarget, botRaw, { files, rendered: { text: '' } });
        const run = await runScripted(mattermostTarget, input, (request) => response(201, request.multipart ? { file_infos: [{ id: 'f1' }] } : { id: 'post1' }));
        expect(view(run.sent[1])).toEqual(botPost('', { file_ids: ['f1'] }));
        const edit = makeInput(mattermostTarget, botRaw, { files, rendered: { text: 'now with text' }, message: { event: 'edited' as const }, remoteIds: ['post1'] });
        expect(mattermostTarget.buildRequests(edit).map(view)).toEqual([
            { method: 'PUT', url: `${SERVER}/api/v4/posts/post1/patch`, headers: JSON_AUTH, json: { message: 'now with text' } },
        ]);
    });

    const request = (method: 'POST' | 'PUT' | 'DELETE', extra: Record<string, unknown> = {}) => ({ method, url: `${SERVER}/api/v4/posts`, headers: {}, ...extra });
    it.each([
        ['post created: its id', request('POST'), response(201, { id: 'post1' }), { remoteId: 'post1' }],
        ['patched: its id', request('PUT'), response(200, { id: 'post1' }), { remoteId: 'post1' }],
        ['deleted', request('DELETE'), response(200, { status: 'OK' }), {}],
        ['delete of a post already gone', request('DELETE'), response(404, { id: 'app.post.get.app_error', message: 'Unable to get the post.' }), {}],
        ['upload: the file id carried', request('POST', { multipart: [], tag: 'upload.0' }), response(201, { file_infos: [{ id: 'f1' }] }), { carry: { 'upload.0': 'f1' } }],
        [
            'upload answered without a file id', request('POST', { multipart: [], tag: 'upload.0' }), response(201, { file_infos: [] }),
            { error: 'TargetError', message: 'Mattermost answered 201 to an upload without a file id', status: 201, retryable: false, retryAfterMs: undefined },
        ],
        [
            'too large', request('POST', { multipart: [], tag: 'upload.0' }), response(413, { id: 'api.file.upload_file.too_large_detailed.app_error', message: 'Unable to upload file. File is too large.' }),
            { error: 'TargetError', message: 'Mattermost answered 413: Unable to upload file. File is too large. [api.file.upload_file.too_large_detailed.app_error]', status: 413, retryable: false, retryAfterMs: undefined },
        ],
        [
            'bad token', request('POST'), response(401, { id: 'api.context.session_expired.app_error', message: 'Invalid or expired session, please login again.' }),
            { error: 'TargetError', message: 'Mattermost answered 401: Invalid or expired session, please login again. [api.context.session_expired.app_error]', status: 401, retryable: false, retryAfterMs: undefined },
        ],
    ])('%s', (_name, sent, result, expected) => {
        const input = makeInput(mattermostTarget, botRaw);
        expect(outcome(() => mattermostTarget.readResponse(input, sent as OutboundRequest, result))).toEqual(expected);
    });

    it.each([
        [{ server_url: SERVER, bot_token: 't', channel_id: 'town-square' }, 'channel_id: "town-square" is not a channel id'],
        [{ server_url: SERVER, bot_token: 't', webhook_url: HOOK }, 'bot_token: give either webhook_url'],
        [{ bot_token: 't' }, 'server_url: is required'],
        [{ server_url: SERVER, bot_token: 'a b' }, 'bot_token: must be'],
    ])('%j → %s', (config, message) => {
        expect(() => mattermostTarget.parseConfig(config)).toThrow(message);
    });

    it('describe shows the host and channel id, not the token', () => {
        expect(mattermostTarget.describe(mattermostTarget.parseConfig(botRaw))).toBe(`mattermost bot https://mm.example.com channel ${CHANNEL}`);
    });
});

describe('mattermost target: bot mode channel names (looked up in the team)', () => {
    const SERVER = 'https://mm.example.com';
    const AUTH = { Authorization: 'Bearer bottoken123' };
    const named = { server_url: SERVER, bot_token: 'bottoken123', team: 'chester', channel: 'Town-Square' };
    const lookup = (team: string, name: string) => ({ method: 'GET', url: `${SERVER}/api/v4/teams/name/${team}/channels/name/${name}`, headers: AUTH });
    const answer = (request: OutboundRequest) => (request.method === 'GET'
        ? response(200, { id: 'resolvedchannel00000000000', name: 'town-square', team_id: 'teamid' })
        : response(201, { id: 'post00000000000000000000001' }));

    it('a new message looks the name up, then posts to the id it answered', async () => {
        const { sent, remoteIds, carried } = await runScripted(mattermostTarget, makeInput(mattermostTarget, named), answer);
        expect(sent.map(view)).toEqual([
            lookup('chester', 'town-square'),
            expect.objectContaining({ method: 'POST', url: `${SERVER}/api/v4/posts`, json: expect.objectContaining({ channel_id: 'resolvedchannel00000000000', message: 'hello **world**' }) }),
        ]);
        expect(remoteIds).toEqual(['post00000000000000000000001']);
        expect(carried).toEqual({ channel: 'resolvedchannel00000000000' });
    });

    it('uploads go to the looked-up channel too', async () => {
        const { sent } = await runScripted(mattermostTarget, makeInput(mattermostTarget, named, { files: [file('cat.png', 'image/png', true)] }), (request) => (request.multipart
            ? response(201, { file_infos: [{ id: 'file1' }] })
            : answer(request)));
        expect(sent.map((request) => request.url)).toEqual([
            `${SERVER}/api/v4/teams/name/chester/channels/name/town-square`, `${SERVER}/api/v4/files`, `${SERVER}/api/v4/posts`,
        ]);
        expect(sent[1].multipart![0]).toEqual({ name: 'channel_id', value: 'resolvedchannel00000000000' });
    });

    it('a rule channel name (or #name) is looked up in the instance team; an id is used as is', () => {
        const base = { server_url: SERVER, bot_token: 'bottoken123', team: 'chester' };
        expect(view(mattermostTarget.buildRequests(makeInput(mattermostTarget, base, { channel: { channel: '#dev' } }))[0])).toEqual(lookup('chester', 'dev'));
        expect(mattermostTarget.buildRequests(makeInput(mattermostTarget, base, { channel: { channel: 'c4nnelid0000000000000000ab' } }))[0].url).toBe(`${SERVER}/api/v4/posts`);
    });

    it('edits and deletes address posts by id: no lookup', () => {
        const input = makeInput(mattermostTarget, named, { message: { event: 'deleted' }, remoteIds: ['p1'] });
        expect(mattermostTarget.buildRequests(input).map(view)).toEqual([{ method: 'DELETE', url: `${SERVER}/api/v4/posts/p1`, headers: AUTH }]);
    });

    it.each([
        [response(404, { id: 'app.channel.get_by_name.missing.app_error', message: 'Unable to find the existing channel.' }), { status: 404, retryable: false, message: 'Mattermost answered 404: no channel "town-square" in team "chester" the bot can see (the channel\'s name is the last part of its URL)' }],
        [response(403, { id: 'api.context.permissions.app_error', message: 'You do not have the appropriate permissions.' }), { status: 403, retryable: false, message: 'Mattermost answered 403: You do not have the appropriate permissions. [api.context.permissions.app_error]' }],
        [response(200, { name: 'town-square' }), { status: 200, retryable: false, message: 'Mattermost answered 200 to the channel lookup without a channel id' }],
    ])('a failed lookup: %j', (result, expected) => {
        const input = makeInput(mattermostTarget, named);
        const [request] = mattermostTarget.buildRequests(input);
        expect(outcome(() => mattermostTarget.readResponse(input, request, result))).toMatchObject(expected);
    });

    it.each([
        [{ server_url: SERVER, bot_token: 't', channel: 'town-square' }, 'channel: "town-square" is not a channel id (26 letters and digits, under the channel\'s View Info); a channel name needs the team it is in'],
        [{ server_url: SERVER, bot_token: 't', team: 'x', channel: 'a b' }, 'channel: "a b" is neither a channel id'],
        [{ server_url: SERVER, bot_token: 't', team: 'x', channel: 'dev', channel_id: 'c4nnelid0000000000000000ab' }, 'channel: give either channel_id or channel'],
    ])('config %j → %s', (config, message) => {
        expect(() => mattermostTarget.parseConfig(config)).toThrow(message);
    });

    it('a 26-character channel value is an id; describe names the channel and team', () => {
        expect(mattermostTarget.parseConfig({ server_url: SERVER, bot_token: 't', channel: 'c4nnelid0000000000000000ab' }).channel).toBe('c4nnelid0000000000000000ab');
        expect(mattermostTarget.describe(mattermostTarget.parseConfig(named))).toBe('mattermost bot https://mm.example.com ~town-square in chester');
    });

    it('a rule channel name without a team in the instance is a permanent error', () => {
        const input = makeInput(mattermostTarget, { server_url: SERVER, bot_token: 't' }, { channel: { channel: 'dev' } });
        expect(outcome(() => ({ remoteId: String(mattermostTarget.buildRequests(input)) }))).toMatchObject({ retryable: false, message: 'Mattermost: channel "dev" is a name; set team in the instance (or give the channel_id)' });
    });
});

describe('mattermost target: rule channels (checked at configuration time)', () => {
    const SERVER = 'https://mm.example.com';
    it.each([
        [{ server_url: SERVER, bot_token: 't', channel_id: 'c4nnelid0000000000000000ab' }, {}, undefined],
        [{ server_url: SERVER, bot_token: 't', team: 'chester' }, { channel: 'dev' }, undefined],
        [{ server_url: SERVER, bot_token: 't' }, { channel: 'dev' }, 'channel: "dev" is not a channel id (26 letters and digits, under the channel\'s View Info); a channel name needs the team it is in'],
        [{ server_url: SERVER, bot_token: 't' }, { channel_id: 'dev' }, 'channel_id: "dev" is not a channel id'],
        [{ server_url: SERVER, bot_token: 't' }, {}, 'channel_id: is missing: the instance names no channel, so the rule channel must'],
        [raw, {}, undefined],
    ])('%j with %j', (config, channel, message) => {
        const check = () => mattermostTarget.checkChannel!(mattermostTarget.parseConfig(config), channel);
        if (message) expect(check).toThrow(message); else expect(check).not.toThrow();
    });
});
