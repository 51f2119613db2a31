// Apprise URLs in the real runtime (issue 16): an instance whose URL names several chats fans out
// to each of them, each destination with its own message map (edits reach every chat), and a
// json:// URL with body=apprise sends Apprise's own body, `-param=` in the query and the path's
// trailing slash kept. Local servers answer as Telegram's Bot API and an Apprise receiver would.
import { LocalHost, startHostWithApp } from '../support/host';
import { Sink } from '../support/sink';

const BOT_TOKEN = '123456789:AAH-test_token';
const NAME = 'Alice Liddell';

describe('Apprise URLs: several destinations, Apprise\'s JSON body', () => {
    let host: LocalHost;
    let telegram: Sink;
    let receiver: Sink;
    let nextId = 500;

    beforeAll(async () => {
        telegram = await new Sink((req) => {
            const method = req.path.split('/').pop();
            const messageId = method === 'editMessageText' ? req.json.message_id : ++nextId;
            return { body: { ok: true, result: { message_id: messageId, chat: { id: req.json.chat_id, type: 'supergroup' }, date: 1714557600 } } };
        }).start();
        receiver = await new Sink(() => ({ status: 200, body: '' })).start();
        host = await startHostWithApp();
        const port = new URL(receiver.url).port;
        await host.updateSetting('relay_config', JSON.stringify({
            instances: {
                tg: { url: `tgram://${BOT_TOKEN}/-100111/-100222:7`, api_url: telegram.url },
                ap: { url: `json://127.0.0.1:${port}/notify/?body=apprise&-key=K1&:type=` },
            },
            rules: [{ from: { rocketchat: { room: '#general' } }, to: { tg: {}, ap: {} } }],
        }));
    });

    afterAll(async () => {
        await host?.stop();
        await Promise.all([telegram, receiver].map((sink) => sink?.stop()));
    });

    it('sends to every chat of the URL, and edits each of them', async () => {
        const message = host.sendMessage({ roomId: 'GENERAL', text: 'hello *world*' });
        const sends = await telegram.waitFor(2);
        const byChat = new Map(sends.map((req) => [req.json.chat_id, req]));
        expect([...byChat.keys()].sort((a, b) => a - b)).toEqual([-100222, -100111]);
        expect(byChat.get(-100111)!.json.message_thread_id).toBeUndefined();
        expect(byChat.get(-100222)!.json.message_thread_id).toBe(7);
        expect(byChat.get(-100111)!.json.text).toBe(`<b>${NAME}</b>: hello <b>world</b>`);
        const ids = new Map(sends.map((req, i) => [req.json.chat_id, 501 + i]));

        await host.idle();
        host.editMessage(message.id, 'second *version*');
        const edits = (await telegram.waitFor(4)).slice(2);
        expect(edits.map((req) => req.path.split('/').pop())).toEqual(['editMessageText', 'editMessageText']);
        // Each chat's message is edited in that chat: one message map per destination.
        expect(edits.map((req) => [req.json.chat_id, req.json.message_id]).sort()).toEqual([...ids.entries()].sort());
    });

    it('posts Apprise\'s body to a json:// URL with body=apprise', async () => {
        const [notification] = await receiver.waitFor(1);
        expect(notification.method).toBe('POST');
        expect(notification.path).toBe('/notify/');
        expect(notification.query).toEqual({ key: 'K1' });
        // `:type=` drops the key, as in Apprise.
        expect(notification.json).toEqual({ version: '1.0', title: NAME, message: 'hello *world*', attachments: [] });
        // Apprise's receivers know no edits: the edit above sent nothing more.
        await host.idle();
        expect(receiver.requests).toHaveLength(1);
    });
});
