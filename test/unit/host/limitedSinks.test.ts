// The service-shaped sinks enforce the documented limits with each service's own answers.
import axios from 'axios';

import { Sink, SinkHandler } from '../../support/sink';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { discordLimited, matrixLimited, slackLimited, telegramLimited } = require('../../support/limitedSinks');

const ok = () => ({ status: 200, body: { id: 'x', ok: true } });
const post = (url: string, body: unknown) => axios.post(url, body, { validateStatus: () => true });

describe('service-shaped rate-limited sinks', () => {
    const sinks: Sink[] = [];
    afterAll(async () => Promise.all(sinks.map((s) => s.stop())));
    async function sinkWith(handler: SinkHandler): Promise<Sink> {
        const sink = await new Sink(handler).start();
        sinks.push(sink);
        return sink;
    }

    it('Discord: 5 per window per webhook, the rest 429 with the bucket headers and retry_after', async () => {
        const limited = discordLimited(ok, 5, 2000);
        const sink = await sinkWith(limited.handler);
        const answers = [];
        for (let i = 0; i < 7; i++) answers.push(await post(`${sink.url}/api/webhooks/1/tok?wait=true`, { content: String(i) }));
        expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 429, 429]);
        expect(answers.slice(0, 5).map((a) => a.headers['x-ratelimit-remaining'])).toEqual(['4', '3', '2', '1', '0']);
        expect(answers[5].data.retry_after).toBeGreaterThan(0);
        expect(answers[5].headers['x-ratelimit-bucket']).toBe(answers[0].headers['x-ratelimit-bucket']);
        // another webhook has its own bucket
        expect((await post(`${sink.url}/api/webhooks/2/tok?wait=true`, { content: 'other' })).status).toBe(200);
        expect(limited.stats.rejected).toHaveLength(2);
    });

    it('Slack: 1 per second per channel, 429 with Retry-After', async () => {
        const limited = slackLimited(ok);
        const sink = await sinkWith(limited.handler);
        const first = await post(`${sink.url}/api/chat.postMessage`, { channel: 'C1', text: 'a' });
        const second = await post(`${sink.url}/api/chat.postMessage`, { channel: 'C1', text: 'b' });
        const other = await post(`${sink.url}/api/chat.postMessage`, { channel: 'C2', text: 'c' });
        expect([first.status, second.status, other.status]).toEqual([200, 429, 200]);
        expect(second.headers['retry-after']).toBe('1');
    });

    it('Telegram: 1 per second per chat, 429 with parameters.retry_after', async () => {
        const limited = telegramLimited(ok);
        const sink = await sinkWith(limited.handler);
        await post(`${sink.url}/botT/sendMessage`, { chat_id: -100, text: 'a' });
        const refused = await post(`${sink.url}/botT/sendMessage`, { chat_id: -100, text: 'b' });
        expect(refused.status).toBe(429);
        expect(refused.data).toMatchObject({ ok: false, error_code: 429, parameters: { retry_after: 1 } });
    });

    it('Matrix (Synapse rc_message): a leaky bucket per account over all its rooms, 429 M_LIMIT_EXCEEDED with retry_after_ms', async () => {
        const limited = matrixLimited(ok, { perSecond: 0.5, burst: 2 });
        const sink = await sinkWith(limited.handler);
        const send = (token: string, room: string, txn: string) =>
            axios.put(`${sink.url}/_matrix/client/v3/rooms/${room}/send/m.room.message/${txn}`, { body: txn }, { headers: { Authorization: `Bearer ${token}` }, validateStatus: () => true });
        // Two rooms, one account: the burst is shared, the third send is refused whichever room it is for.
        const answers = [await send('alice', '!a:hs', 't1'), await send('alice', '!b:hs', 't2'), await send('alice', '!c:hs', 't3')];
        expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
        expect(answers[2].data.errcode).toBe('M_LIMIT_EXCEEDED');
        // One more fits once one has leaked: 1 / 0.5 per second = 2 s after the bucket was empty.
        expect(answers[2].data.retry_after_ms).toBeGreaterThan(1500);
        expect(answers[2].data.retry_after_ms).toBeLessThanOrEqual(2000);
        // Another account has its own bucket; reads are not counted.
        expect((await send('bob', '!a:hs', 't4')).status).toBe(200);
        expect((await axios.get(`${sink.url}/_matrix/client/v3/rooms/!a:hs/messages`, { headers: { Authorization: 'Bearer alice' }, validateStatus: () => true })).status).toBe(200);
        expect(limited.stats.rejected).toHaveLength(1);
    });
});
