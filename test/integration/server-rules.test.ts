// The inbound endpoint against the rules a real Rocket.Chat server applies (the host enforces them,
// see docs/HOST-FIDELITY.md): every situation gets a clear answer, and a refusal writes nothing.
import axios, { AxiosRequestConfig } from 'axios';

import { createHash } from 'crypto';

import { LocalHost, originOf, startHostWithApp, TEST_PRIVATE_HOSTS } from '../support/host';
import { Sink } from '../support/sink';

const TOKEN = 'rules-token-0123456789abcdef';

describe('inbound on a server with Rocket.Chat’s rules', () => {
    let host: LocalHost;
    let base: string;
    const post = (body: unknown, config: AxiosRequestConfig = {}, query = '') =>
        axios.post(`${base}/inbound${query}`, body, { validateStatus: () => true, ...config, headers: { Authorization: `Bearer ${TOKEN}`, ...(config.headers || {}) } });
    const stored = (id: string) => host.state.messages.get(id);
    const config = JSON.stringify({ instances: { ext: { type: 'inbound', token: TOKEN, rooms: ['#general', '#random', '#staff'] } }, rules: [{ from: { ext: {} }, to: { rocketchat: { room: '#random' } } }] });

    /** Changes server settings like an admin; saving the app's configuration makes it re-read them now (else within 30 s). */
    async function serverSettings(values: Record<string, unknown>): Promise<void> {
        Object.assign(host.serverSettings, values);
        await host.updateSetting('relay_config', `${config} `);
        await host.updateSetting('relay_config', config);
    }
    const defaults = { Message_MaxAllowedSize: 5000, Threads_enabled: true, Message_CustomFields_Enabled: false, FileUpload_Enabled: true, FileUpload_MaxFileSize: 104857600, FileUpload_MediaTypeBlackList: 'image/svg+xml', E2E_Enable: false };

    beforeAll(async () => {
        host = await startHostWithApp({ relay_config: config });
        base = `${host.siteUrl}/api/apps/public/${host.appId}`;
    });
    afterAll(async () => {
        await host?.stop();
    });
    afterEach(async () => {
        for (const room of host.state.rooms.values()) Object.assign(room, { isReadOnly: false, muted: [], encrypted: false });
        await serverSettings(defaults);
    });

    /** Runs a request that must be refused and checks that nothing was written anywhere. */
    async function refused(body: unknown, status: number, error: RegExp, config: AxiosRequestConfig = {}, query = '') {
        const messages = host.state.messages.size;
        const uploads = host.state.uploads.size;
        const records = host.state.appPersistence(host.appId).size;
        const response = await post(body, config, query);
        expect({ status: response.status, data: response.data }).toEqual({ status, data: { success: false, error: expect.stringMatching(error) } });
        expect([host.state.messages.size, host.state.uploads.size, host.state.appPersistence(host.appId).size]).toEqual([messages, uploads, records]);
        return response;
    }

    it('posts without customFields (off by default) and keeps the origin on record; the sender’s fields are dropped with a note', async () => {
        const response = await post({ channel: '#general', text: 'plain', customFields: { priority: 'high' } });
        expect(response.status).toBe(200);
        expect(response.data.notes).toEqual([expect.stringMatching(/customFields dropped: .*Message_CustomFields_Enabled/)]);
        expect(stored(response.data.message_id).customFields).toBeUndefined();
        expect(originOf(host, response.data.message_id)).toBe('ext');
    });

    it('forwards the sender’s customFields where the admin enabled and described them, drops them when the schema refuses', async () => {
        await serverSettings({ Message_CustomFields_Enabled: true });
        const accepted = await post({ channel: '#general', text: 'with fields', customFields: { priority: 'high' } });
        expect(stored(accepted.data.message_id).customFields).toEqual({ priority: 'high' });
        const refusedFields = await post({ channel: '#general', text: 'bad fields', customFields: { priority: 'urgent' } });
        expect(refusedFields.status).toBe(200);
        expect(refusedFields.data.notes).toEqual([expect.stringMatching(/schema refused them/)]);
        expect(stored(refusedFields.data.message_id)).toMatchObject({ text: 'bad fields' });
        expect(stored(refusedFields.data.message_id).customFields).toBeUndefined();
    });

    it('splits text over Message_MaxAllowedSize into messages in order, or answers 413 when asked not to split', async () => {
        await serverSettings({ Message_MaxAllowedSize: 100 });
        const paragraphs = Array.from({ length: 5 }, (_, i) => `${i}`.repeat(60));
        const response = await post({ channel: '#general', text: paragraphs.join('\n\n') });
        expect(response.status).toBe(200);
        const ids = response.data.messages.map((m: { message_id: string }) => m.message_id);
        expect(ids.map((id: string) => stored(id).text)).toEqual(paragraphs);
        expect(ids.every((id: string) => originOf(host, id) === 'ext')).toBe(true);
        await refused({ channel: '#general', text: paragraphs.join('\n\n') }, 413, /300 characters|allows 100 per message/, {}, '?split=false');
    });

    it('refuses a thread parent in another room (the server would move the reply there) and threads when they are off', async () => {
        const secret = host.sendMessage({ roomId: 'STAFF', userId: host.admin.id, text: 'staff only' });
        await refused({ channel: '#general', text: 'sneaky', tmid: secret.id }, 400, /tmid: the thread parent must be a message in #general/);
        await refused({ channel: '#general', text: 'dangling', tmid: 'NoSuchMessage0001' }, 400, /thread parent must be a message in #general/);
        const parent = host.sendMessage({ roomId: 'GENERAL', text: 'parent' });
        const reply = await post({ channel: '#general', text: 'fine', tmid: parent.id });
        expect(stored(reply.data.message_id)).toMatchObject({ roomId: 'GENERAL', threadId: parent.id });
        await serverSettings({ Threads_enabled: false });
        await refused({ channel: '#general', text: 'no threads', tmid: parent.id }, 400, /threads are disabled on this server \(Threads_enabled\)/);
    });

    it.each<[string, (host: LocalHost) => void, RegExp]>([
        ['a read-only room', (h) => (h.state.rooms.get('GENERAL').isReadOnly = true), /read-only: give the app’s user the post-readonly permission/],
        ['a room where the app user is muted', (h) => (h.state.rooms.get('GENERAL').muted = [h.appUser().username]), /muted in this room/],
        ['an end-to-end encrypted room', (h) => {
            h.state.rooms.get('GENERAL').encrypted = true;
            h.serverSettings.E2E_Enable = true;
        }, /end-to-end encrypted/],
    ])('answers 403 for %s and writes nothing', async (_what, arrange, error) => {
        arrange(host);
        await refused({ channel: '#general', text: 'x' }, 403, error);
    });

    const file = (name: string, bytes: Buffer, mimetype = 'application/octet-stream') => ({ version: '1.0', message: 'with a file', attachments: [{ filename: name, base64: bytes.toString('base64'), mimetype }] });

    it.each<[string, Record<string, unknown>, ReturnType<typeof file>, number, RegExp]>([
        ['an SVG (on the server’s default black list)', {}, file('logo.svg', Buffer.from('<svg/>'), 'image/png'), 415, /type image\/svg\+xml are not accepted/],
        ['any file while uploads are off', { FileUpload_Enabled: false }, file('a.txt', Buffer.from('hi')), 403, /uploads are disabled on this server/],
        ['a file over FileUpload_MaxFileSize', { FileUpload_MaxFileSize: 4 }, file('a.txt', Buffer.from('hello')), 413, /5 bytes exceeds the limit of 4/],
    ])('checks uploads before posting anything: %s', async (_what, settings, body, status, error) => {
        await serverSettings(settings);
        await refused({ ...body, channel: '#general' }, status, error, {}, '?channel=%23general');
    });

    it('answers 413 from the server itself for a body over 100 kB (base64 files must fit in it)', async () => {
        const response = await refused(file('big.bin', Buffer.alloc(80 * 1024, 7)), 413, /.*/, {}, '?channel=%23general').catch(() => undefined);
        expect(response).toBeUndefined(); // not the app's JSON: the parser's page
        const raw = await post(file('big.bin', Buffer.alloc(80 * 1024, 7)), {}, '?channel=%23general');
        expect([raw.status, raw.data]).toEqual([413, expect.stringContaining('Payload Too Large')]);
    });

    it('converts attachments to the app’s shape and drops what the server would not show, with notes', async () => {
        const response = await post({
            channel: '#general',
            text: 'report',
            attachments: [{ title: 'Build 42', title_link: 'https://ci.example.com/42', image_url: 'https://ci.example.com/42.png', author_name: 'CI', color: '#00ff00', ts: '2026-12-05T10:00:00.000Z', fields: [{ title: 'Status', value: 'green', short: true }, { title: 'Empty', value: '' }], actions: [{ type: 'button', text: 'Deploy' }] }],
        });
        expect(response.status).toBe(200);
        expect(response.data.notes).toEqual([expect.stringMatching(/actions/), expect.stringMatching(/fields\[1\] dropped: a field needs both title and value/)]);
        // Stored in the server's shape: the converter found every key it reads.
        expect(stored(response.data.message_id).attachments).toEqual([
            { title: 'Build 42', title_link: 'https://ci.example.com/42', image_url: 'https://ci.example.com/42.png', author_name: 'CI', color: '#00ff00', ts: '2026-12-05T10:00:00.000Z', fields: [{ title: 'Status', value: 'green', short: true }] },
        ]);
        await refused({ channel: '#general', text: 'x', attachments: [{ image_url: 'relative.png' }] }, 400, /attachments\[0\]\.image_url/);
    });

    it('defuses @all and @here instead of failing (the app’s user may not notify everyone)', async () => {
        const response = await post({ channel: '#general', text: 'hey @all and @here' });
        expect(response.status).toBe(200);
        expect(stored(response.data.message_id).text).toBe('hey @\u200Ball and @\u200Bhere');
    });

    it('posts one message for six concurrent requests with one Idempotency-Key, and gives each the same answer', async () => {
        const before = host.state.messages.size;
        const headers = { 'Idempotency-Key': 'concurrent-1' };
        const answers = await Promise.all(Array.from({ length: 6 }, () => post({ channel: '#general', text: 'exactly once' }, { headers })));
        expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
        expect(new Set(answers.map((a) => a.data.message_id)).size).toBe(1);
        expect(host.state.messages.size).toBe(before + 1);
    });

    it('goes on where it stopped when a retry follows a failed upload: no message or file twice', async () => {
        const body = { version: '1.0', message: 'two files', attachments: ['one', 'two'].map((n) => ({ filename: `${n}.txt`, base64: Buffer.from(n).toString('base64'), mimetype: 'text/plain' })) };
        const headers = { 'Idempotency-Key': 'upload-retry-1' };
        const messages = host.state.messages.size;
        const uploads = host.state.uploads.size;
        host.uploadFault = (details: { name: string }) => (details.name === 'two.txt' ? new Error('GridFS write failed') : undefined);
        const failed = await post(body, { headers }, '?channel=%23general');
        expect([failed.status, failed.headers['retry-after']]).toEqual([503, '5']);
        expect([host.state.messages.size - messages, host.state.uploads.size - uploads]).toEqual([2, 1]); // the text and one.txt
        host.uploadFault = undefined;
        const retried = await post(body, { headers }, '?channel=%23general');
        expect(retried.status).toBe(200);
        expect(retried.data.message_id).toBe(host.state.messagesInRoom('GENERAL').find((m: any) => m.text === 'two files').id);
        expect([host.state.messages.size - messages, host.state.uploads.size - uploads]).toEqual([3, 2]);
        expect([...host.state.uploads.values()].slice(-2).map((u: any) => u.upload.name)).toEqual(['one.txt', 'two.txt']);
        const again = await post(body, { headers }, '?channel=%23general');
        expect(again.data).toEqual(retried.data);
        expect(host.state.uploads.size - uploads).toBe(2);
    });

    describe('files sent as links are copied into Rocket.Chat', () => {
        const picture = Buffer.from(Array.from({ length: 300 * 1024 }, (_, i) => (i * 7919) % 256));
        let files: Sink;
        const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
        const linkTo = (path: string, name = 'cat.png') => ({ text: 'look', channel: { room_id: 'GENERAL' }, attachments: [{ type: 'image', url: `${files.url}${path}`, name }] });

        beforeAll(async () => {
            files = await new Sink((req) => {
                if (req.path === '/cat.png') return { headers: { 'Content-Type': 'image/png' }, body: picture };
                if (req.path === '/logo.svg') return { headers: { 'Content-Type': 'image/svg+xml' }, body: '<svg xmlns="http://www.w3.org/2000/svg"/>' };
                return { status: 404, body: 'gone' };
            }).start();
            await host.updateSetting('private_hosts_allowed', '');
        });
        afterAll(async () => {
            await files.stop();
            await host.updateSetting('private_hosts_allowed', TEST_PRIVATE_HOSTS);
        });

        it('refuses to fetch from a private address the admin did not list, and does not link it either', async () => {
            const before = files.requests.length;
            const response = await post(linkTo('/cat.png'));
            expect(response.status).toBe(200);
            expect(response.data.notes).toEqual([expect.stringMatching(/attachments\[0\] dropped: not fetched: a private, loopback or reserved address/)]);
            expect(files.requests.length).toBe(before);
            expect(stored(response.data.message_id).attachments).toBeUndefined();
        });

        it('downloads a listed host’s file (Range-capped) and uploads it byte for byte, after the text', async () => {
            await host.updateSetting('private_hosts_allowed', '127.0.0.1');
            host.serverSettings.SSRF_Allowlist = '127.0.0.1';
            const uploads = host.state.uploads.size;
            const response = await post(linkTo('/cat.png'));
            expect(response.status).toBe(200);
            expect(files.requests[files.requests.length - 1].headers.range).toBe(`bytes=0-${50 * 1024 * 1024}`);
            expect(host.state.uploads.size).toBe(uploads + 1);
            const upload = [...host.state.uploads.values()].pop();
            expect([upload.upload.name, upload.upload.type, sha(upload.bytes)]).toEqual(['cat.png', 'image/png', sha(picture)]);
            const messages = host.state.messagesInRoom('GENERAL');
            expect(messages.slice(-2).map((m: any) => m.text || m.file.name)).toEqual(['look', 'cat.png']);
        });

        it('keeps the link (with a note) when the file cannot be copied: missing, too large, or a type the server refuses', async () => {
            const missing = await post(linkTo('/gone.png'));
            expect(missing.data.notes).toEqual([expect.stringMatching(/could not be downloaded \(HTTP 404\); linked instead/)]);
            expect(stored(missing.data.message_id).attachments).toEqual([expect.objectContaining({ title_link: `${files.url}/gone.png` })]);
            const svg = await post(linkTo('/logo.svg', 'logo.svg'));
            expect(svg.data.notes).toEqual([expect.stringMatching(/image\/svg\+xml are not accepted .*; linked instead/)]);
            await host.updateSetting('max_file_size', 1000);
            try {
                const big = await post(linkTo('/cat.png'));
                expect(big.data.notes).toEqual([expect.stringMatching(/larger than the 1000-byte limit; linked instead/)]);
            } finally {
                await host.updateSetting('max_file_size', 52428800);
            }
        });

        it('is refused by the server itself when the app lists a host the server’s SSRF allow-list does not', async () => {
            host.serverSettings.SSRF_Allowlist = '';
            const uploads = host.state.uploads.size;
            const response = await post(linkTo('/cat.png'));
            expect(response.data.notes).toEqual([expect.stringMatching(/could not be downloaded \(refused, unreachable or too slow\); linked instead/)]);
            expect(host.state.uploads.size).toBe(uploads);
        });
    });
});
