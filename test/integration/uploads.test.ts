// Files travel as files: a file posted in #general reaches every target whose API takes uploads
// byte for byte (sha256 compared), through local servers that speak each service's upload
// protocol, including the dependent steps (Rocket.Chat rooms.media → rooms.mediaConfirm, Slack's
// upload URL, Matrix's mxc:// URI, Zulip's upload path, Mattermost's file ids).
//
// Sizes: 1 kB and 200 kB (both pass in the local host; on a real server bodies above ~64 kB also
// need the engine transport fix made for issue 13).
import { createHash } from 'crypto';

import { LocalHost } from '../support/host';
import { RecordedRequest, Sink } from '../support/sink';
import { allSinks, MM_CHANNEL, partOf, receivedFiles, startUploadBridge, stopUploadBridge, UploadSinks } from '../support/uploadSinks';

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('outbound uploads: every file arrives as a file, byte for byte', () => {
    let host: LocalHost;
    let sinks: UploadSinks;
    let rc8: Sink;
    let rc7: Sink;
    let slack: Sink;
    let matrix: Sink;
    let zulip: Sink;
    let ntfy: Sink;
    let mattermost: Sink;

    beforeAll(async () => {
        ({ host, sinks } = await startUploadBridge());
        ({ rc8, rc7, slack, matrix, zulip, ntfy, mattermost } = sinks);
    });

    afterAll(() => stopUploadBridge({ host, sinks }));

    const only = (sink: Sink, test: (req: RecordedRequest) => boolean) => sink.requests.filter(test);
    const fileIn = partOf;

    it.each([
        ['1 kB', 1024],
        ['200 kB', 200 * 1024],
    ])('%s: two files of one message', async (_size, length) => {
        const a = Buffer.alloc(length, 0);
        for (let i = 0; i < length; i++) a[i] = (i * 31 + length) & 0xff; // every byte value, no text
        const b = Buffer.from(a.map((byte) => byte ^ 0x5a));
        allSinks(sinks).forEach((sink) => { sink.requests.length = 0; });
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

        await eventuallyCount(sinks.discord, 2);
        await eventuallyCount(sinks.telegram, 2);
        const received = receivedFiles(sinks);
        expect(Object.fromEntries(Object.entries(received).map(([name, files]) => [name, files.map(sha)])))
            .toEqual(Object.fromEntries(Object.keys(received).map((name) => [name, want])));
    });

    describe('Matrix avatars: copied to the media repository once, then reused', () => {
        const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
        let avatars: Sink;

        beforeAll(async () => {
            avatars = await new Sink((req) => (req.path === '/alice.png'
                ? { headers: { 'Content-Type': 'image/png' }, body: png }
                : { status: 404, body: 'not found' })).start();
            // The server checks the address itself too (ssrfValidation): its admin allows the sink.
            host.serverSettings.SSRF_Allowlist = '127.0.0.1';
        });

        afterAll(async () => {
            host.serverSettings.SSRF_Allowlist = '';
            await avatars.stop();
        });

        const textEvents = () => matrix.requests.filter((r) => r.path.indexOf('/send/m.room.message/') > 0 && r.json && !r.json.url);
        const avatarUploads = () => matrix.requests.filter((r) => r.path === '/_matrix/media/v3/upload' && r.query.filename === 'avatar');

        it('the first message uploads the avatar and its event carries the mxc://; the second reuses it', async () => {
            allSinks(sinks).forEach((sink) => { sink.requests.length = 0; });
            host.sendMessage({ roomId: 'GENERAL', text: 'avatar one', avatarUrl: `${avatars.url}/alice.png` });
            await eventuallyCount(matrix, 2); // the avatar upload, then the text event
            expect(avatarUploads().map((r) => [sha(r.body), r.headers['content-type']])).toEqual([[sha(png), 'image/png']]);
            const mxc = textEvents()[0].json['com.beeper.per_message_profile'].avatar_url;
            expect(mxc).toMatch(/^mxc:\/\/example\.org\/m\d+$/);

            host.sendMessage({ roomId: 'GENERAL', text: 'avatar two', avatarUrl: `${avatars.url}/alice.png` });
            await eventuallyCount(matrix, 3);
            expect(avatarUploads().length).toBe(1);
            expect(avatars.requests.length).toBe(1);
            expect(textEvents().map((r) => [r.json.body, r.json['com.beeper.per_message_profile'].avatar_url])).toEqual([['Alice Liddell: avatar one', mxc], ['Alice Liddell: avatar two', mxc]]);
        });

        it('an avatar that cannot be fetched: the message goes without one', async () => {
            allSinks(sinks).forEach((sink) => { sink.requests.length = 0; });
            host.sendMessage({ roomId: 'GENERAL', text: 'no avatar', avatarUrl: `${avatars.url}/missing.png` });
            await eventuallyCount(matrix, 1);
            expect(avatarUploads()).toEqual([]);
            expect(textEvents().map((r) => [r.json.body, r.json['com.beeper.per_message_profile'].avatar_url])).toEqual([['Alice Liddell: no avatar', undefined]]);
        });
    });

    async function eventuallyCount(sink: Sink, count: number): Promise<void> {
        await sink.waitFor(count, 30000);
        await host.idle();
    }
});
