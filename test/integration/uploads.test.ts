// Files travel as files: a file posted in #general reaches every target whose API takes uploads
// byte for byte (sha256 compared), through local servers that speak each service's upload
// protocol, including the dependent steps (Rocket.Chat rooms.media → rooms.mediaConfirm, Slack's
// upload URL, Matrix's mxc:// URI, Zulip's upload path, Mattermost's file ids).
//
// Sizes: 1 kB and 200 kB (both pass in the local host; on a real server bodies above ~64 kB also
// need the engine transport fix made for issue 13).
import { createHash } from 'crypto';

import { LocalHost, startHostWithApp } from '../support/host';
import { multipartParts } from '../support/multipart';
import { RecordedRequest, Sink } from '../support/sink';

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const MX_ROOM = '!relay:example.org';
const MM_CHANNEL = 'c4nnelid0000000000000000ab';

describe('outbound uploads: every file arrives as a file, byte for byte', () => {
    let host: LocalHost;
    let rc8: Sink;
    let rc7: Sink;
    let slack: Sink;
    let matrix: Sink;
    let zulip: Sink;
    let ntfy: Sink;
    let mattermost: Sink;
    let next = 0;

    beforeAll(async () => {
        // Rocket.Chat 8: rooms.media stores, rooms.mediaConfirm posts; no rooms.upload.
        rc8 = await new Sink((req) => {
            if (req.path === '/api/v1/chat.postMessage') return { body: { success: true, message: { _id: `R${++next}`, rid: 'REMOTE' } } };
            if (req.path === '/api/v1/rooms.media/REMOTE') return { body: { success: true, file: { _id: `F${++next}`, url: `/file-upload/F${next}/x` } } };
            if (req.path.startsWith('/api/v1/rooms.mediaConfirm/REMOTE/F')) return { body: { success: true, message: { _id: `M${++next}`, rid: 'REMOTE' } } };
            return { status: 404, body: { success: false, error: 'API endpoint not found' } };
        }).start();
        // Rocket.Chat 7.x without rooms.media: rooms.upload.
        rc7 = await new Sink((req) => {
            if (req.path === '/api/v1/chat.postMessage') return { body: { success: true, message: { _id: `R${++next}`, rid: 'REMOTE' } } };
            if (req.path === '/api/v1/rooms.upload/REMOTE') return { body: { success: true, message: { _id: `M${++next}`, rid: 'REMOTE' } } };
            return { status: 404, body: { success: false, error: 'API endpoint not found' } };
        }).start();
        slack = await new Sink((req) => {
            if (req.path === '/api/chat.postMessage') return { body: { ok: true, channel: 'C0123GENERAL', ts: `1.${++next}` } };
            if (req.path === '/api/files.getUploadURLExternal') return { body: { ok: true, upload_url: `${slack.url}/upload/U${++next}`, file_id: `F${next}` } };
            if (req.path.startsWith('/upload/')) return { headers: { 'Content-Type': 'text/plain' }, body: `OK - ${req.body.length}` };
            return { body: { ok: true, files: [] } };
        }).start();
        matrix = await new Sink((req) => (req.path === '/_matrix/media/v3/upload'
            ? { body: { content_uri: `mxc://example.org/m${++next}` } }
            : { body: { event_id: `$ev${++next}` } })).start();
        zulip = await new Sink((req) => (req.path === '/api/v1/user_uploads'
            ? { body: { result: 'success', msg: '', uri: `/user_uploads/2/ab/${++next}/f`, url: `/user_uploads/2/ab/${next}/f` } }
            : { body: { result: 'success', msg: '', id: ++next } })).start();
        ntfy = await new Sink((req) => ({ body: { id: `n${++next}`, event: 'message', topic: 'relay_files' } })).start();
        // Mattermost's REST API: /api/v4/files answers the file's id, /api/v4/posts the post.
        mattermost = await new Sink((req) => {
            if (req.headers.authorization !== 'Bearer mmbottoken') return { status: 401, body: { id: 'api.context.session_expired.app_error', message: 'Invalid or expired session' } };
            if (req.path === '/api/v4/files') return { status: 201, body: { file_infos: [{ id: `mmfile${++next}`, channel_id: MM_CHANNEL }], client_ids: [] } };
            if (req.path === '/api/v4/posts') return { status: 201, body: { id: `mmpost${++next}`, channel_id: MM_CHANNEL, file_ids: req.json.file_ids || [] } };
            return { status: 404, body: { id: 'api.context.404.app_error', message: 'Sorry, we could not find the page.' } };
        }).start();
        host = await startHostWithApp();
        await host.updateSetting('relay_config', JSON.stringify({
            instances: {
                rc8: { type: 'rocketchat', server_url: rc8.url, user_id: 'bot', auth_token: 'pat8', room_id: 'REMOTE' },
                rc7: { type: 'rocketchat', server_url: rc7.url, user_id: 'bot', auth_token: 'pat7', room_id: 'REMOTE' },
                sl: { type: 'slack', bot_token: 'xoxb-1-2-abc', channel: 'C0123GENERAL', api_url: `${slack.url}/api` },
                mx: { type: 'matrix', homeserver: matrix.url, access_token: 'syt_test', room_id: MX_ROOM },
                zu: { type: 'zulip', site: zulip.url, bot_email: 'relay-bot@example.org', api_key: 'key', stream: 'general' },
                nt: { type: 'ntfy', server: ntfy.url, topic: 'relay_files' },
                mm: { type: 'mattermost', server_url: mattermost.url, bot_token: 'mmbottoken', channel_id: MM_CHANNEL },
            },
            rules: [{ from: { rocketchat: { room: '#general' } }, to: { rc8: {}, rc7: {}, sl: {}, mx: {}, zu: {}, nt: {}, mm: {} } }],
        }));
    });

    afterAll(async () => {
        await host?.stop();
        for (const sink of [rc8, rc7, slack, matrix, zulip, ntfy, mattermost]) await sink?.stop();
    });

    const only = (sink: Sink, test: (req: RecordedRequest) => boolean) => sink.requests.filter(test);
    const fileIn = (req: RecordedRequest, field: string) => multipartParts(req).filter((part) => part.name === field)[0];

    it.each([
        ['1 kB', 1024],
        ['200 kB', 200 * 1024],
    ])('%s: two files of one message', async (_size, length) => {
        const a = Buffer.alloc(length, 0);
        for (let i = 0; i < length; i++) a[i] = (i * 31 + length) & 0xff; // every byte value, no text
        const b = Buffer.from(a.map((byte) => byte ^ 0x5a));
        [rc8, rc7, slack, matrix, zulip, ntfy, mattermost].forEach((sink) => { sink.requests.length = 0; });
        host.uploadFile({ roomId: 'GENERAL', name: 'one.bin', type: 'application/octet-stream', bytes: a, text: 'two files' });
        host.uploadFile({ roomId: 'GENERAL', name: 'two.png', type: 'image/png', bytes: b, text: '' });
        const want = [sha(a), sha(b)];

        await eventuallyCount(rc8, 5); // text, then rooms.media + rooms.mediaConfirm per file
        expect(only(rc8, (r) => r.path === '/api/v1/rooms.media/REMOTE').map((r) => sha(fileIn(r, 'file').body))).toEqual(want);
        expect(only(rc8, (r) => r.path.startsWith('/api/v1/rooms.mediaConfirm/')).length).toBe(2);

        await eventuallyCount(rc7, 5); // text, then rooms.media (404) + rooms.upload per file
        expect(only(rc7, (r) => r.path === '/api/v1/rooms.upload/REMOTE').map((r) => sha(fileIn(r, 'file').body))).toEqual(want);

        await eventuallyCount(slack, 7); // text; per file URL + bytes; one share per message (the second with the name as its comment)
        expect(only(slack, (r) => r.path.startsWith('/upload/')).map((r) => sha(fileIn(r, 'filename').body))).toEqual(want);
        expect(only(slack, (r) => r.path === '/api/files.completeUploadExternal').map((r) => r.json.channel_id)).toEqual(['C0123GENERAL', 'C0123GENERAL']);

        await eventuallyCount(matrix, 5);
        const media = only(matrix, (r) => r.path === '/_matrix/media/v3/upload');
        expect(media.map((r) => sha(r.body))).toEqual(want);
        expect(media.map((r) => [r.query.filename, r.headers['content-type']])).toEqual([['one.bin', 'application/octet-stream'], ['two.png', 'image/png']]);
        expect(only(matrix, (r) => r.json && r.json.url).map((r) => r.json.msgtype)).toEqual(['m.file', 'm.image']);

        await eventuallyCount(zulip, 4);
        expect(only(zulip, (r) => r.path === '/api/v1/user_uploads').map((r) => sha(fileIn(r, 'filename').body))).toEqual(want);
        expect(only(zulip, (r) => r.path === '/api/v1/messages').map((r) => decodeURIComponent(r.text)).join('\n')).toContain('(/user_uploads/2/ab/');

        await eventuallyCount(ntfy, 3);
        const attachments = only(ntfy, (r) => r.method === 'PUT');
        expect(attachments.map((r) => sha(r.body))).toEqual(want);
        expect(attachments.map((r) => r.headers.filename)).toEqual(['one.bin', 'two.png']);

        await eventuallyCount(mattermost, 4); // per message: the upload, then the post carrying its file id
        const mmUploads = only(mattermost, (r) => r.path === '/api/v4/files');
        expect(mmUploads.map((r) => sha(fileIn(r, 'files').body))).toEqual(want);
        expect(mmUploads.map((r) => [fileIn(r, 'channel_id').body.toString(), fileIn(r, 'files').filename])).toEqual([[MM_CHANNEL, 'one.bin'], [MM_CHANNEL, 'two.png']]);
        const mmPosts = only(mattermost, (r) => r.path === '/api/v4/posts');
        expect(mmPosts.map((r) => (r.json.file_ids || []).length)).toEqual([1, 1]);
    });

    async function eventuallyCount(sink: Sink, count: number): Promise<void> {
        await sink.waitFor(count, 30000);
        await host.idle();
    }
});
