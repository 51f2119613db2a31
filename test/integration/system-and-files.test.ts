// System messages, messages with several files and protected file links, in the real runtime:
// the host fires IPostSystemMessageSent for typed messages, hands `files` the way either converter
// does, and serves /file-upload like the server (403 without a login while files are protected).
import { eventually, LocalHost, startHostWithApp } from '../support/host';
import { multipartParts } from '../support/multipart';
import { RecordedRequest, Sink } from '../support/sink';

describe('system messages, several files and protected file links', () => {
    let host: LocalHost;
    let hook: Sink;
    let discord: Sink;
    let nextId = 1;

    beforeAll(async () => {
        hook = await new Sink(() => ({ status: 200, body: {} })).start();
        discord = await new Sink(() => ({ status: 200, body: { id: String(++nextId) } })).start();
        host = await startHostWithApp();
        await host.updateSetting(
            'relay_config',
            JSON.stringify({
                instances: {
                    hook: { type: 'webhook', url: `${hook.url}/in` },
                    dc: { type: 'discord', webhook_url: `${discord.url}/api/webhooks/1/tok`, max_file_size: 8 },
                },
                rules: [
                    { from: { rocketchat: { room: 'general' } }, to: { hook: {}, dc: {} } },
                    { from: { rocketchat: { room: 'random' } }, to: { hook: {} }, filter: { system_messages: true } },
                ],
            }),
        );
    });

    afterAll(async () => {
        await host?.stop();
        await hook?.stop();
        await discord?.stop();
    });

    const reset = async () => {
        await host.idle();
        await new Promise((r) => setTimeout(r, 50));
        hook.requests.length = 0;
        discord.requests.length = 0;
    };
    /** Sends a marker message and waits until it arrives: everything sent before it was handled. */
    const drain = async (roomId: string) => {
        host.sendMessage({ roomId, text: `marker ${roomId}` });
        await eventually(() => hook.requests.find((r) => r.json && r.json.text === `marker ${roomId}`), 15000, 'the marker message');
        await host.idle();
    };

    it('relays system messages only for rules with system_messages, worded; encrypted messages never', async () => {
        await reset();
        host.sendMessage({ roomId: 'GENERAL', text: 'alice', t: 'uj' }); // rule without system_messages
        host.sendMessage({ roomId: 'RANDOM', text: 'alice', t: 'uj' });
        host.sendMessage({ roomId: 'RANDOM', text: 'Release day', t: 'room_changed_topic' });
        host.sendMessage({ roomId: 'RANDOM', text: '{"algorithm":"rc.v1.aes-sha2","ciphertext":"AbC"}', t: 'e2e' });
        await drain('RANDOM');
        await drain('GENERAL');
        const texts = hook.requests.map((r) => r.json.text);
        expect(texts).toEqual(['joined the room', 'changed the topic to: Release day', 'marker RANDOM', 'marker GENERAL']);
        expect(hook.requests[0].json).toMatchObject({ channel_name: 'random', user_name: 'alice' });
        expect((await discord.waitFor(1)).map((r) => r.json && r.json.content)).toEqual(['marker GENERAL']); // GENERAL's join stayed home
    });

    const twoFilesAndAThumbnail = () => {
        const one = host.storeFile({ roomId: 'GENERAL', userId: host.alice.id, name: 'one.txt', type: 'text/plain', bytes: Buffer.from('first') });
        const two = host.storeFile({ roomId: 'GENERAL', userId: host.alice.id, name: 'two.png', type: 'image/png', bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47]) });
        const thumb = host.storeFile({ roomId: 'GENERAL', userId: host.alice.id, name: 'thumb-two.png', type: 'image/png', bytes: Buffer.from([1]) });
        const files = [one.file, two.file, { ...thumb.file, typeGroup: 'thumb' }];
        const attachments = [
            { title: 'one.txt', type: 'file', title_link: one.upload.path, title_link_download: true },
            { title: 'two.png', type: 'file', title_link: two.upload.path, title_link_download: true, image_url: two.upload.path, image_type: 'image/png' },
        ];
        return { one, two, files, attachments };
    };

    it.each([
        ['the 7.x converter (files only in _unmappedProperties_)', false],
        ['the newer converter (files mapped)', true],
    ])('uploads every file of a message but never its thumbnail, with %s', async (_name, mapsFiles) => {
        await reset();
        host.state.convertsMessageFiles = mapsFiles;
        try {
            const { files, attachments } = twoFilesAndAThumbnail();
            host.sendMessage({ roomId: 'GENERAL', text: 'two files', file: files[0], files, attachments });
            const [upload] = await discord.waitFor(1);
            const parts = multipartParts(upload);
            const uploaded = parts.filter((p) => /name="files\[\d+\]"/.test(p.headers));
            // max_file_size 8: both fit, the thumbnail is not a file of the message
            expect(uploaded.map((p) => p.body.toString('latin1'))).toEqual(['first', '\x89PNG']);
            const [relayed] = await hook.waitFor(1);
            expect(relayed.json.attachments.map((a: { title: string }) => a.title)).toEqual(['one.txt', 'two.png']);
        } finally {
            host.state.convertsMessageFiles = false;
        }
    });

    const fetchStatus = async (url: string) => (await fetch(url)).status;

    it('labels files it cannot upload while the server protects its files: no link that answers 403', async () => {
        await reset();
        expect(host.serverSettings.FileUpload_ProtectFiles).toBe(true);
        const big = host.storeFile({ roomId: 'GENERAL', userId: host.alice.id, name: 'big report.pdf', type: 'application/pdf', bytes: Buffer.alloc(20, 7) });
        host.sendMessage({ roomId: 'GENERAL', text: 'see', file: big.file });
        const [post] = await discord.waitFor(1);
        expect(post.json.content).toBe('see\n[File: big report.pdf]'); // over dc's max_file_size: not uploaded
        const [relayed] = await hook.waitFor(1);
        expect(relayed.json.attachments).toEqual([{ title: 'big report.pdf', label: '[File: big report.pdf]', type: 'file', name: 'big report.pdf', size: 20, mime_type: 'application/pdf' }]);
        expect(JSON.stringify(relayed.json)).not.toContain('/file-upload/');
        // Why: the link would answer 403 to anyone at the target.
        expect(await fetchStatus(`${host.siteUrl}${big.upload.path}`)).toBe(403);
    });

    it('links files it cannot upload once the server serves them to anyone, and the links open', async () => {
        await reset();
        host.serverSettings.FileUpload_ProtectFiles = false;
        try {
            await host.updateSetting('relay_config', host.getSetting('relay_config').value); // re-read the server's settings now
            const big = host.storeFile({ roomId: 'GENERAL', userId: host.alice.id, name: 'big.pdf', type: 'application/pdf', bytes: Buffer.alloc(20, 7) });
            host.sendMessage({ roomId: 'GENERAL', text: 'see', file: big.file });
            const [post] = await discord.waitFor(1);
            const link = `${host.siteUrl}/file-upload/${big.file._id}/big.pdf`;
            expect(post.json.content).toBe(`see\n[big.pdf](${link})`);
            const [relayed]: RecordedRequest[] = await hook.waitFor(1);
            expect(relayed.json.attachments[0]).toMatchObject({ title: 'big.pdf', title_link: link, url: link });
            const response = await fetch(link);
            expect(response.status).toBe(200);
            expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.alloc(20, 7));
        } finally {
            host.serverSettings.FileUpload_ProtectFiles = true;
        }
    });
});
