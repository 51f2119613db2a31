// The delivery runner (src/shell/delivery.ts) between a destination's budget and its requests.
// The delivery's hold (the line's claim, the job's hold on a destination) is kept right before a
// request leaves, after any wait for the budget: a wait comes out of the lease the request needs,
// and a hold that ran out during it sends nothing (another runtime may be delivering the entry by
// then). A 429 is noted with whether its request was the budget's only one out.
import { Redactor } from '../../../src/core/redact';
import { paceDelay, recordSend } from '../../../src/core/pacing';
import { attemptDelivery, DeliveryJob, DestinationPace, HoldLost } from '../../../src/shell/delivery';
import { matrixTarget } from '../../../src/targets/matrix';
import { webhookTarget } from '../../../src/targets/webhook';
import { file, makeMessage } from '../targets/harness';

const URL_ = 'https://hooks.example.net/in';
const config = webhookTarget.parseConfig({ url: URL_ });
/** One request per 300 ms (a published window; kept 2 % wider: 306 ms). */
const limits = [{ requests: 1, perMs: 300 }];

/** The target: answers 200 at once and notes when each request arrived. */
function target() {
    const arrivals: number[] = [];
    const post = async () => {
        arrivals.push(Date.now());
        return { statusCode: 200, headers: {}, content: Buffer.from('{}') };
    };
    return { arrivals, http: { post, put: post, patch: post, get: post } as any };
}

function job(id: string, pace: DestinationPace, beforeRequest?: () => Promise<void>): DeliveryJob {
    const message = makeMessage({ id });
    return {
        instance: 'hook', adapter: webhookTarget, config, channel: {}, message,
        rendered: { text: message.text, alias: 'Alice' }, partsDone: 0, remoteIds: [], carried: {}, existingIds: [], files: [],
        guard: { privateHostsAllowed: [], redactor: new Redactor() },
        beforeRequest, pace,
    };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('delivery: the hold is kept right before the request, after the wait for the budget', () => {
    it('the hold is looked at after the wait, not before it', async () => {
        const sentAt = Date.now();
        const pace: DestinationPace = { key: 'hook', limits, maxWaitMs: 3000, state: recordSend(undefined, limits, sentAt) };
        const checks: number[] = [];
        const server = target();
        const result = await attemptDelivery(job('M1', pace, async () => {
            checks.push(Date.now());
        }), server.http);
        expect(result).toMatchObject({ ok: true });
        expect(checks).toHaveLength(1);
        expect(checks[0]).toBeGreaterThanOrEqual(sentAt + 306);
        expect(server.arrivals[0]).toBeGreaterThanOrEqual(checks[0]);
    });

    it('a hold that runs out during the wait sends nothing and reports the hold lost', async () => {
        const sentAt = Date.now();
        const pace: DestinationPace = { key: 'hook', limits, maxWaitMs: 3000, state: recordSend(undefined, limits, sentAt) };
        const runsOutAt = sentAt + 100; // the lease ends while the budget is still spent
        const server = target();
        const result = await attemptDelivery(job('M1', pace, async () => {
            if (Date.now() >= runsOutAt) {
                throw new HoldLost('the hold on this destination ran out before the request');
            }
        }), server.http);
        expect(result).toMatchObject({ ok: false, holdLost: true, partsDone: 0 });
        expect(server.arrivals).toEqual([]);
        expect(pace.state!.lastSentAt).toBe(sentAt); // no send noted for a request that never went
    });

    it('a slow renewal: a delivery that took the slot meanwhile is waited for again', async () => {
        const pace: DestinationPace = { key: 'hook', limits, maxWaitMs: 3000 };
        const server = target();
        let renewals = 0;
        // The line's delivery renews its hold (a write taking 100 ms) while the backlog job's
        // delivery to the same destination, holding nothing to renew, sends.
        const line = attemptDelivery(job('M1', pace, async () => {
            renewals += 1;
            if (renewals === 1) {
                await sleep(100);
            }
        }), server.http);
        await sleep(10);
        const backlog = attemptDelivery(job('M2', pace), server.http);
        expect(await Promise.all([line, backlog])).toMatchObject([{ ok: true }, { ok: true }]);
        expect(server.arrivals).toHaveLength(2);
        expect(server.arrivals[1] - server.arrivals[0]).toBeGreaterThanOrEqual(300);
        expect(renewals).toBe(2); // kept again after the second wait
    });
});

describe("delivery: a 429 is noted with whether it was the budget's only request out", () => {
    const matrix = matrixTarget.parseConfig({ homeserver: 'https://matrix.example.org', access_token: 'TOKEN', room_id: '!r:example.org' });
    /** A homeserver that answers its events in turn: accepted, refused (M_LIMIT_EXCEEDED, 200 ms), … */
    function homeserver() {
        const answers = [200, 429, 200, 429];
        const put = async () =>
            answers.shift() === 200
                ? { statusCode: 200, headers: {}, content: Buffer.from('{"event_id":"$e1"}') }
                : { statusCode: 429, headers: {}, content: Buffer.from('{"errcode":"M_LIMIT_EXCEEDED","error":"Too Many Requests","retry_after_ms":200}') };
        return { put, post: put, get: put } as any;
    }
    const matrixJob = (id: string, pace: DestinationPace): DeliveryJob => ({ ...job(id, pace), instance: 'mx', adapter: matrixTarget, config: matrix });

    it('alone, the refused request is not counted: the next waits for the service, not an interval after the refused send', async () => {
        const pace: DestinationPace = { key: 'mx', limits: [], maxWaitMs: 3000 };
        const http = homeserver();
        expect(await attemptDelivery(matrixJob('M1', pace), http)).toMatchObject({ ok: true });
        await sleep(100);
        expect(await attemptDelivery(matrixJob('M2', pace), http)).toMatchObject({ ok: false, retryable: true, retryAfterMs: 200 });
        expect(pace.state!.learnedGapMs).toBeGreaterThanOrEqual(300); // the service allows the next about 300 ms after the accepted one
        expect(await attemptDelivery(matrixJob('M3', pace), http)).toMatchObject({ ok: true }); // after the 429's wait
        // Refused again, in the learned spacing (the homeserver is stricter than the estimate): the
        // next request fits in 200 ms (the 429's wait), not a learned interval after the refused send.
        expect(await attemptDelivery(matrixJob('M4', pace), http)).toMatchObject({ ok: false, retryable: true, retryAfterMs: 200 });
        expect(paceDelay(pace.state, [], Date.now())).toBeLessThan(260);
    });
});

describe('delivery: a budget whose limit shows only in 429s has one request out at a time', () => {
    /** A target that answers each request 100 ms after it arrived, noting arrivals and answers. */
    function slowTarget() {
        const log: string[] = [];
        const post = async (_url: string, options: any) => {
            const id = JSON.parse(options.content).message_id || JSON.parse(options.content).text;
            log.push(`in ${id}`);
            await sleep(100);
            log.push(`out ${id}`);
            return { statusCode: 200, headers: {}, content: Buffer.from('{}') };
        };
        return { log, http: { post, put: post, patch: post, get: post } as any };
    }

    it('three deliveries sharing the budget send one after the other, each after the previous answer', async () => {
        const pace: DestinationPace = { key: 'account', limits: [], maxWaitMs: 3000, oneAtATime: true };
        const server = slowTarget();
        const results = await Promise.all(['M1', 'M2', 'M3'].map((id) => attemptDelivery(job(id, pace), server.http)));
        expect(results).toMatchObject([{ ok: true }, { ok: true }, { ok: true }]);
        expect(server.log.map((entry) => entry.split(' ')[0])).toEqual(['in', 'out', 'in', 'out', 'in', 'out']);
        expect(pace.out).toBe(0);
        expect(pace.idle).toBeUndefined();
    });

    it('without it (a published or declared limit keeps them apart), they go together', async () => {
        const pace: DestinationPace = { key: 'account', limits: [], maxWaitMs: 3000 };
        const server = slowTarget();
        await Promise.all(['M1', 'M2', 'M3'].map((id) => attemptDelivery(job(id, pace), server.http)));
        expect(server.log.map((entry) => entry.split(' ')[0])).toEqual(['in', 'in', 'in', 'out', 'out', 'out']);
    });
});

describe("delivery: a 429 holds the budget's other deliveries until its wait is noted", () => {
    const matrix = matrixTarget.parseConfig({ homeserver: 'https://matrix.example.org', access_token: 'TOKEN', room_id: '!r:example.org' });

    it('one request out at a time: the next goes when the service said, not right behind the refusal', async () => {
        const arrivals: Array<{ at: number; status: number }> = [];
        const put = async () => {
            const status = arrivals.length === 0 ? 429 : 200;
            arrivals.push({ at: Date.now(), status });
            return status === 429
                ? { statusCode: 429, headers: {}, content: Buffer.from('{"errcode":"M_LIMIT_EXCEEDED","error":"Too Many Requests","retry_after_ms":200}') }
                : { statusCode: 200, headers: {}, content: Buffer.from('{"event_id":"$e"}') };
        };
        const http = { put, post: put, get: put } as any;
        const pace: DestinationPace = { key: 'account', limits: [], maxWaitMs: 3000, oneAtATime: true };
        const results = await Promise.all(['M1', 'M2', 'M3'].map((id) => attemptDelivery({ ...job(id, pace), instance: 'mx', adapter: matrixTarget, config: matrix }, http)));
        expect(results[0]).toMatchObject({ ok: false, retryAfterMs: 200 });
        expect(arrivals.map((a) => a.status)).toEqual([429, 200, 200]);
        expect(arrivals[1].at - arrivals[0].at).toBeGreaterThanOrEqual(195);
        expect(pace.out).toBe(0);
    });
});

describe('delivery: requests the service does not count against its limit (RateLimits.counts)', () => {
    const matrix = matrixTarget.parseConfig({ homeserver: 'https://matrix.example.org', access_token: 'TOKEN', room_id: '!r:example.org' });
    /** A homeserver: media uploads answered with `upload`, events accepted. */
    function homeserver(upload: { statusCode: number; content: string }) {
        const paths: string[] = [];
        const call = async (url: string) => {
            paths.push(new URL(url).pathname.split('/')[2]);
            return url.indexOf('/_matrix/media/') >= 0 ? { ...upload, headers: {}, content: Buffer.from(upload.content) } : { statusCode: 200, headers: {}, content: Buffer.from('{"event_id":"$e"}') };
        };
        return { paths, http: { put: call, post: call, get: call } as any };
    }
    const withFile = (pace: DestinationPace): DeliveryJob => ({ ...job('F1', pace), instance: 'mx', adapter: matrixTarget, config: matrix, files: [file('cat.png', 'image/png', true)] });
    /** Two per 10 s: the text and the file's event fit; a third counted request would wait 10 s. */
    const two = [{ requests: 2, perMs: 10000 }];

    it("a file's media upload neither waits for the budget nor is counted in it", async () => {
        const pace: DestinationPace = { key: 'mx', limits: two, maxWaitMs: 3000 };
        const server = homeserver({ statusCode: 200, content: '{"content_uri":"mxc://example.org/m1"}' });
        const started = Date.now();
        expect(await attemptDelivery(withFile(pace), server.http)).toMatchObject({ ok: true });
        expect(server.paths).toEqual(['client', 'media', 'client']);
        expect(Date.now() - started).toBeLessThan(1000);
        expect(pace.state!.recent).toHaveLength(2);
    });

    it("an upload's 429 (the media limit) teaches the message limit nothing", async () => {
        const pace: DestinationPace = { key: 'mx', limits: [], maxWaitMs: 3000 };
        const server = homeserver({ statusCode: 429, content: '{"errcode":"M_LIMIT_EXCEEDED","error":"Too Many Requests","retry_after_ms":400}' });
        expect(await attemptDelivery(withFile(pace), server.http)).toMatchObject({ ok: false, retryable: true, retryAfterMs: 400 });
        expect(pace.state!.learnedGapMs).toBeUndefined();
        expect(paceDelay(pace.state, [], Date.now())).toBe(0);
    });
});
