// Matrix, Telegram, ntfy and Gotify targets in the real runtime: one local HTTP server per
// service answers the way the service documents, and messages sent, edited, deleted, threaded
// and uploaded in #general must arrive as the documented requests.
import { LocalHost, startHostWithApp } from '../support/host';
import { multipartParts } from '../support/multipart';
import { RecordedRequest, Sink } from '../support/sink';

const ROOM = '!relay:example.org';
const ROOM_PATH = `/_matrix/client/v3/rooms/${encodeURIComponent(ROOM)}`;
const BOT_TOKEN = '123456789:AAH-test_token';
const CHAT = -1001234567890;
const NAME = 'Alice Liddell';


describe('outbound relay to Matrix, Telegram, ntfy and Gotify', () => {
    let host: LocalHost;
    let matrix: Sink;
    let telegram: Sink;
    let ntfy: Sink;
    let gotify: Sink;
    let nextId = 100;
    // The homeserver's transaction cache: the same txn id answers with the same event.
    const transactions = new Map<string, string>();
    // The ids the Telegram and Gotify stand-ins gave each request they created a message for.
    const createdIds = new Map<RecordedRequest, number>();
    const created = (req: RecordedRequest) => {
        createdIds.set(req, ++nextId);
        return nextId;
    };

    beforeAll(async () => {
        matrix = await new Sink((req) => {
            if (req.method === 'POST' && req.path === '/_matrix/media/v3/upload' && req.headers.authorization === 'Bearer syt_test') {
                return { body: { content_uri: `mxc://example.org/m${++nextId}` } };
            }
            if (req.method !== 'PUT' || req.headers.authorization !== 'Bearer syt_test') {
                return { status: 401, body: { errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.' } };
            }
            if (!transactions.has(req.path)) transactions.set(req.path, `$ev${++nextId}`);
            return { body: { event_id: transactions.get(req.path) } };
        }).start();
        telegram = await new Sink((req) => {
            const method = req.path.split('/').pop();
            if (req.path.indexOf(`/bot${BOT_TOKEN}/`) !== 0) return { status: 404, body: { ok: false, error_code: 404, description: 'Not Found' } };
            if (method === 'deleteMessage') return { body: { ok: true, result: true } };
            const messageId = method === 'editMessageText' ? req.json.message_id : created(req);
            return { body: { ok: true, result: { message_id: messageId, chat: { id: CHAT, type: 'supergroup', title: 'Relay' }, date: 1714557600 } } };
        }).start();
        ntfy = await new Sink((req) => ({ body: { id: `ntfy${++nextId}`, time: 1714557600, expires: 1714600800, event: 'message', topic: req.path.slice(1), message: req.text } })).start();
        gotify = await new Sink((req) => {
            if (req.method === 'DELETE') return { status: 200, body: '' };
            return { body: { id: created(req), appid: 1, message: req.json.message, title: req.json.title, priority: req.json.priority, date: '2024-05-01T10:00:00Z' } };
        }).start();
        host = await startHostWithApp();
        await host.updateSetting('relay_config', JSON.stringify({
            instances: {
                mx: { type: 'matrix', homeserver: matrix.url, access_token: 'syt_test', room_id: ROOM },
                tg: { type: 'telegram', api_url: telegram.url, bot_token: BOT_TOKEN, chat_id: String(CHAT) },
                nt: { type: 'ntfy', server: ntfy.url, topic: 'relay_alerts', access_token: 'tk_test' },
                gf: { type: 'gotify', server: gotify.url, app_token: 'AppTok3n', client_token: 'ClientTok' },
            },
            rules: [{ from: { rocketchat: { room: '#general' } }, to: { mx: {}, tg: {}, nt: {}, gf: {} } }],
        }));
    });

    afterAll(async () => {
        await host?.stop();
        await Promise.all([matrix, telegram, ntfy, gotify].map((sink) => sink?.stop()));
    });

    const settle = async () => {
        await host.idle();
        // persistence writes happen after the target responds; wait until the engine is quiet
        await new Promise((r) => setTimeout(r, 50));
    };
    const reset = () => [matrix, telegram, ntfy, gotify].forEach((sink) => { sink.requests.length = 0; });
    const profile = { id: 'alice-user-id', displayname: NAME, has_fallback: true };

    it('relays a sent message as each service documents it', async () => {
        await settle();
        reset();
        const message = host.sendMessage({ roomId: 'GENERAL', text: 'hello *world*' });

        const [put] = await matrix.waitFor(1);
        expect(put.method).toBe('PUT');
        expect(put.path).toBe(`${ROOM_PATH}/send/m.room.message/rb-${message.id}-sent-0`);
        expect(put.headers.authorization).toBe('Bearer syt_test');
        expect(put.json).toEqual({
            msgtype: 'm.text',
            body: `${NAME}: hello world`,
            format: 'org.matrix.custom.html',
            formatted_body: `<strong>${NAME}</strong>: hello <b>world</b>`,
            'm.mentions': {},
            'com.beeper.per_message_profile': profile,
        });

        const [send] = await telegram.waitFor(1);
        expect(send.method).toBe('POST');
        expect(send.path).toBe(`/bot${BOT_TOKEN}/sendMessage`);
        expect(send.headers['content-type']).toMatch(/^application\/json/);
        // Link previews are off unless the instance asks for them (Apprise's default).
        expect(send.json).toEqual({ chat_id: CHAT, text: `<b>${NAME}</b>: hello <b>world</b>`, parse_mode: 'HTML', link_preview_options: { is_disabled: true } });

        const [publish] = await ntfy.waitFor(1);
        expect(publish.method).toBe('POST');
        expect(publish.path).toBe('/relay_alerts');
        expect(publish.headers['x-title']).toBe(NAME);
        expect(publish.headers['x-markdown']).toBe('yes');
        expect(publish.headers.authorization).toBe('Bearer tk_test');
        expect(publish.headers['x-icon']).toBeUndefined(); // the local host's avatars are http, not https
        expect(publish.text).toBe('hello **world**');

        const [push] = await gotify.waitFor(1);
        expect(push.method).toBe('POST');
        expect(push.path).toBe('/message');
        expect(push.headers['x-gotify-key']).toBe('AppTok3n');
        expect(push.json).toEqual({ title: NAME, message: 'hello **world**', priority: 5, extras: { 'client::display': { contentType: 'text/markdown' } } });
    });

    it('follows edits and deletes: Matrix m.replace and redaction, Telegram edit and delete, Gotify delete', async () => {
        await settle();
        reset();
        const message = host.sendMessage({ roomId: 'GENERAL', text: 'first version' });
        const [put] = await matrix.waitFor(1);
        const eventId = transactions.get(put.path);
        const [send] = await telegram.waitFor(1);
        const [push] = await gotify.waitFor(1);
        await ntfy.waitFor(1);
        await settle();
        const telegramId = createdIds.get(send);

        host.editMessage(message.id, 'second *version*');
        const [, edit] = await matrix.waitFor(2);
        expect(edit.method).toBe('PUT');
        expect(edit.path).toMatch(new RegExp(`^${escapeRegExp(ROOM_PATH)}/send/m\\.room\\.message/rb-${message.id}-edited-[0-9a-z]+-0$`));
        const newContent = {
            msgtype: 'm.text',
            body: `${NAME}: second version`,
            format: 'org.matrix.custom.html',
            formatted_body: `<strong>${NAME}</strong>: second <b>version</b>`,
            'm.mentions': {},
            'com.beeper.per_message_profile': profile,
        };
        expect(edit.json).toEqual({
            ...newContent,
            body: `* ${newContent.body}`,
            formatted_body: `* ${newContent.formatted_body}`,
            'm.new_content': newContent,
            'm.relates_to': { rel_type: 'm.replace', event_id: eventId },
        });
        const [, editText] = await telegram.waitFor(2);
        expect(editText.path).toBe(`/bot${BOT_TOKEN}/editMessageText`);
        expect(editText.json).toEqual({ chat_id: CHAT, message_id: telegramId, text: `<b>${NAME}</b>: second <b>version</b>`, parse_mode: 'HTML', link_preview_options: { is_disabled: true } });
        await settle();
        expect(ntfy.requests).toHaveLength(1); // ntfy: no edits
        expect(gotify.requests).toHaveLength(1); // Gotify: no edits

        host.deleteMessage(message.id);
        const [, , redaction] = await matrix.waitFor(3);
        expect(redaction.method).toBe('PUT');
        // The edit kept the map on the original event: that is what gets redacted.
        expect(redaction.path).toBe(`${ROOM_PATH}/redact/${encodeURIComponent(eventId!)}/rb-${message.id}-deleted-0`);
        expect(redaction.json).toEqual({});
        const [, , remove] = await telegram.waitFor(3);
        expect(remove.path).toBe(`/bot${BOT_TOKEN}/deleteMessage`);
        expect(remove.json).toEqual({ chat_id: CHAT, message_id: telegramId });
        const [, removal] = await gotify.waitFor(2);
        expect(removal.method).toBe('DELETE');
        expect(removal.path).toBe(`/message/${createdIds.get(push)}`);
        expect(removal.headers['x-gotify-key']).toBe('ClientTok');
    });

    it('puts a thread reply into the mapped Matrix thread and answers the mapped Telegram message', async () => {
        await settle();
        reset();
        const parent = host.sendMessage({ roomId: 'GENERAL', text: 'parent' });
        const [parentPut] = await matrix.waitFor(1);
        const [parentSend] = await telegram.waitFor(1);
        await settle();
        const parentEvent = transactions.get(parentPut.path);
        const parentMessageId = createdIds.get(parentSend);

        host.sendMessage({ roomId: 'GENERAL', text: 'a reply', threadId: parent.id });
        const [, reply] = await matrix.waitFor(2);
        expect(reply.json['m.relates_to']).toEqual({
            rel_type: 'm.thread', event_id: parentEvent, is_falling_back: true, 'm.in_reply_to': { event_id: parentEvent },
        });
        expect(reply.json.body).toBe(`${NAME}: a reply`);
        const [, replySend] = await telegram.waitFor(2);
        expect(replySend.json).toEqual({
            chat_id: CHAT, text: `<b>${NAME}</b>: a reply`, parse_mode: 'HTML', link_preview_options: { is_disabled: true },
            reply_parameters: { message_id: parentMessageId, allow_sending_without_reply: true },
        });
    });

    it('uploads files to Telegram as sendPhoto / sendDocument multipart with the exact bytes, and to Matrix as media + m.image', async () => {
        await settle();
        reset();
        const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x80, 0x42]);
        host.uploadFile({ roomId: 'GENERAL', name: 'pixel.png', type: 'image/png', bytes: png, text: 'a picture' });
        const [photo] = await telegram.waitFor(1);
        expect(photo.method).toBe('POST');
        expect(photo.path).toBe(`/bot${BOT_TOKEN}/sendPhoto`);
        expect(photo.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
        const parts = multipartParts(photo);
        expect(parts.map((part) => part.name)).toEqual(['chat_id', 'caption', 'parse_mode', 'photo']);
        expect(parts[0].body.toString('utf8')).toBe(String(CHAT));
        expect(parts[1].body.toString('utf8')).toBe(`<b>${NAME}</b>: a picture`);
        expect(parts[2].body.toString('utf8')).toBe('HTML');
        expect(parts[3].headers).toMatch(/filename="pixel.png"/);
        expect(parts[3].headers).toMatch(/Content-Type: image\/png/i);
        expect(Buffer.compare(parts[3].body, png)).toBe(0);
        const [text, media, image] = await matrix.waitFor(3);
        expect(text.json.body).toBe(`${NAME}: a picture`);
        expect([media.path, media.query.filename, media.headers['content-type'], Buffer.compare(media.body, png)]).toEqual(['/_matrix/media/v3/upload', 'pixel.png', 'image/png', 0]);
        expect(image.json).toMatchObject({ msgtype: 'm.image', body: 'pixel.png', url: expect.stringMatching(/^mxc:\/\/example\.org\/m\d+$/), info: { mimetype: 'image/png', size: png.length } });
        await settle();

        reset();
        const pdf = Buffer.from('%PDF-1.4\n\x00\x01\x02 binary \xff', 'latin1');
        host.uploadFile({ roomId: 'GENERAL', name: 'report.pdf', type: 'application/pdf', bytes: pdf, text: '' });
        const [document] = await telegram.waitFor(1);
        expect(document.path).toBe(`/bot${BOT_TOKEN}/sendDocument`);
        const documentParts = multipartParts(document);
        expect(documentParts.map((part) => part.name)).toEqual(['chat_id', 'caption', 'parse_mode', 'document']);
        expect(documentParts[1].body.toString('utf8')).toBe(`<b>${NAME}</b>`);
        expect(documentParts[3].headers).toMatch(/filename="report.pdf"/);
        expect(Buffer.compare(documentParts[3].body, pdf)).toBe(0);
    });

    it('a redelivered message reuses its Matrix transaction id, so the homeserver does not post it twice', async () => {
        await settle();
        reset();
        const message = host.sendMessage({ roomId: 'GENERAL', text: 'only once' });
        const [first] = await matrix.waitFor(1);
        await settle();
        // Rocket.Chat hands the same message to the app again (e.g. a retry after a lost response).
        host.firePostMessage('IPostMessageSent', host.state.messages.get(message.id));
        const [, second] = await matrix.waitFor(2);
        expect(second.path).toBe(first.path);
        expect(second.path).toBe(`${ROOM_PATH}/send/m.room.message/rb-${message.id}-sent-0`);
        expect(second.json).toEqual(first.json);
        await settle();
        const events = new Set(matrix.requests.map((request) => transactions.get(request.path)));
        expect(events.size).toBe(1);
        expect(host.appErrors()).toEqual([]);
    });
});

function escapeRegExp(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
