// Section 7, pacing: Relay Bridge against sinks that enforce each service's own rate limit with the
// service's own headers and 429 answers (test/support/limitedSinks.js). Per service and scenario:
// delivered, 429s among all requests, lost, duplicated, out of order per destination, and the time
// the limit allows at best divided by the time it took (1.00 = as fast as the service allows).
'use strict';

const http = require('http');
const { performance } = require('perf_hooks');
const { discordLimited, slackLimited, telegramLimited, matrixLimited } = require('../../test/support/limitedSinks');
const { LocalHost } = require('../../host/host');
const { settle, sleep, inOwnMillisecond } = require('./load');

const ROOMS = ['GENERAL', 'PACEROOM1', 'PACEROOM2'];
/** The Matrix sink's rc_message: Synapse's burst, a faster rate than its default so the section stays short. */
const MATRIX_LIMIT = { perSecond: 1, burst: 10 };
/** Messages per scenario, as issue 18 measured them (3 rooms × 20 has its own). */
const MESSAGES = 100;

/**
 * Each service: its sink handler, the instance pointing at destination `i` of the sink, how the
 * sink names a request's destination, and the limit as a schedule (for the best time).
 */
const SERVICES = {
    discord: {
        limit: 'Discord webhook: 5 per 2 s (fixed window, announced in X-RateLimit-* headers)',
        sink: () => discordLimited(() => ({ status: 200, body: { id: String(Math.random()).slice(2) } })),
        instance: (url, i) => ({ type: 'discord', webhook_url: `${url}/api/webhooks/${i}/tok${i}` }),
        destination: (req) => req.path,
        schedule: fixedWindow(5, 2000),
    },
    slack: {
        limit: 'Slack: 1 per second per channel (documented, no headers; 429 + Retry-After)',
        sink: () => slackLimited(() => ({ status: 200, body: 'ok' })),
        instance: (url, i) => ({ type: 'slack', webhook_url: `${url}/services/T0/B${i}/X${i}` }),
        destination: (req) => req.path,
        schedule: sliding([{ requests: 1, perMs: 1000 }]),
    },
    telegram: {
        limit: 'Telegram: 1 per second per chat (documented; 429 + parameters.retry_after)',
        sink: () => telegramLimited((req) => ({ status: 200, body: { ok: true, result: { message_id: Math.floor(Math.random() * 1e9), chat: { id: req.json.chat_id } } } })),
        instance: (url, i) => ({ type: 'telegram', api_url: url, bot_token: '123456:ABC-pace', chat_id: String(1000 + i) }),
        destination: (req) => String(req.json && req.json.chat_id),
        schedule: sliding([{ requests: 1, perMs: 1000 }]),
    },
    matrix: {
        limit: 'Matrix (Synapse rc_message): 1 per second per account over all its rooms, burst 10 (a leaky bucket; Synapse\'s default rate is 0.2/s, 5× slower than here); no headers, 429 M_LIMIT_EXCEEDED + retry_after_ms',
        sink: () => matrixLimited(() => ({ status: 200, body: { event_id: `$${String(Math.random()).slice(2)}` } }), MATRIX_LIMIT),
        // One account (one access token) posting to every room, as one bridge bot does.
        instance: (url, i) => ({ type: 'matrix', homeserver: url, access_token: 'syt_pace', room_id: `!room${i}:pace` }),
        destination: (req) => (/\/rooms\/([^/]+)\//.exec(req.path) || [])[1],
        schedule: leakyBucket(MATRIX_LIMIT.perSecond, MATRIX_LIMIT.burst),
        perAccount: true,
        // Its limit shows only in 429s: also measured on a bridge that has met it before.
        learnsLimit: true,
    },
};
// The same homeserver with its rc_message declared on the instance (`rate_limit`), as an admin who knows it would.
SERVICES['matrix, rate_limit declared'] = {
    ...SERVICES.matrix,
    limit: 'the same Matrix sink, its limit declared on the instance (`"rate_limit": { "per_second": 1, "burst_count": 10 }`): kept from the first message, nothing to learn',
    instance: (url, i) => ({ ...SERVICES.matrix.instance(url, i), rate_limit: { per_second: MATRIX_LIMIT.perSecond, burst_count: MATRIX_LIMIT.burst } }),
    learnsLimit: false,
};

/** How long a drained bucket takes to empty: a sink's limit as a time (Matrix's burst at its rate), so a burst after it starts afresh. */
const EMPTIED_MS = (MATRIX_LIMIT.burst / MATRIX_LIMIT.perSecond) * 1000 + 1000;

/** Send times the limit allows at best for arrivals `at` (ms), one destination: a fixed window of `n` per `ms` starting with its first request. */
function fixedWindow(n, ms) {
    return (arrivals) => {
        const out = [];
        let start = -Infinity;
        let used = 0;
        for (const at of arrivals) {
            let t = Math.max(at, out.length ? out[out.length - 1] : -Infinity);
            if (t >= start + ms) {
                start = t;
                used = 0;
            }
            if (used >= n) {
                t = start + ms;
                start = t;
                used = 0;
            }
            used += 1;
            out.push(t);
        }
        return out;
    };
}

/** The same for Synapse's leaky bucket: `burst` at once, then `perSecond`. */
function leakyBucket(perSecond, burst) {
    return (arrivals) => {
        const out = [];
        let count = 0;
        let emptyAt = -Infinity;
        for (const at of arrivals) {
            let t = Math.max(at, out.length ? out[out.length - 1] : -Infinity);
            const level = count - ((t - emptyAt) / 1000) * perSecond;
            if (level < 0) {
                count = 0;
                emptyAt = t;
            } else if (level > burst - 1) {
                t = emptyAt + ((count - burst + 1) / perSecond) * 1000; // when one more fits
            }
            count += 1;
            out.push(t);
        }
        return out;
    };
}

/** The same for sliding windows (`requests` per `perMs` each). */
function sliding(windows) {
    return (arrivals) => {
        const out = [];
        for (const at of arrivals) {
            let t = Math.max(at, out.length ? out[out.length - 1] : -Infinity);
            for (const w of windows) {
                if (out.length >= w.requests) t = Math.max(t, out[out.length - w.requests] + w.perMs);
            }
            out.push(t);
        }
        return out;
    };
}

/** A sink server around a limited handler, recording accepted deliveries per destination in order. */
async function serviceSink(service) {
    const limited = service.sink();
    const accepted = []; // { destination, text, at }
    const refused = []; // { at }: requests answered 429
    let requests = 0;
    const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', async () => {
            const url = new URL(req.url, 'http://sink');
            const text = Buffer.concat(chunks).toString('utf8');
            let json;
            try {
                json = JSON.parse(text);
            } catch {
                json = undefined;
            }
            const recorded = { method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, json };
            requests += 1;
            const before = limited.stats.accepted.length;
            const reply = await limited.handler(recorded, requests - 1);
            if (limited.stats.accepted.length > before) {
                // The message's own words, wherever the service's payload puts them.
                const words = /pace-\d+-\d+/.exec(text);
                accepted.push({ destination: service.destination(recorded), text: words ? words[0] : undefined, at: performance.now() });
            } else if (reply.status === 429) {
                refused.push({ at: performance.now() });
            }
            const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body === undefined ? {} : reply.body);
            res.writeHead(reply.status || 200, { 'Content-Type': 'application/json', ...(reply.headers || {}) });
            res.end(body);
        });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
        url: `http://127.0.0.1:${server.address().port}`,
        accepted,
        refused,
        stats: limited.stats,
        get requests() {
            return requests;
        },
        stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
    };
}

/**
 * One Relay Bridge server, or `count` instances on one database (host/cluster.js: shared
 * persistence and scheduler, each instance its own runtime); messages are sent through the
 * instances in turn, as a load balancer spreads users.
 */
async function startPacingServer(zip, sinkUrl, service, destinations, count) {
    let hosts;
    let server;
    if (count > 1) {
        const { HostCluster } = require('../../host/cluster');
        const cluster = new HostCluster({});
        await cluster.start(count);
        hosts = cluster.hosts;
        server = { hosts, setting: (id, value) => cluster.updateSetting(id, value), install: () => cluster.installApp(zip), stop: () => cluster.stop(), state: () => cluster.state };
    } else {
        const host = new LocalHost({});
        await host.start();
        hosts = [host];
        server = { hosts, setting: (id, value) => host.updateSetting(id, value), install: () => host.installApp(zip), stop: () => host.stop(), state: () => host.state };
    }
    const first = hosts[0];
    for (const roomId of ROOMS.slice(1)) {
        server.state().createRoom({ id: roomId, name: roomId.toLowerCase(), kind: 'channel', creatorId: first.admin.id, memberIds: [first.alice.id] });
    }
    await server.install();
    await server.setting('private_hosts_allowed', '127.0.0.1');
    const instances = {};
    const rules = [];
    for (let i = 0; i < destinations; i++) {
        instances[`svc${i}`] = service.instance(sinkUrl, i);
        rules.push({ from: { rocketchat: { room_id: ROOMS[i] } }, to: { [`svc${i}`]: {} } });
    }
    const stored = await server.setting('relay_config', JSON.stringify({ instances, rules }));
    if (!/svc0/.test(stored)) throw new Error(`pacing: relay configuration refused for ${service.limit}`);
    return server;
}

/**
 * One scenario: `perRoom` messages into each of `rooms` rooms, all at once (`rate` 0) or at `rate`
 * per second. `again`: the same messages went through once before, unmeasured, and the service's
 * bucket has emptied since (a bridge that has met the limit before).
 */
async function scenario(zip, name, service, { rooms, perRoom, rate, instances = 1, again = false }, log) {
    const sink = await serviceSink(service);
    const server = await startPacingServer(zip, sink.url, service, rooms, instances);
    try {
        if (server.hosts.length > 1) {
            // A running cluster: every instance has handled messages before (each knows the others
            // are there — a runtime's first message after 10 quiet minutes is the documented
            // exception, docs/RELIABILITY.md). One message each, then the limit's window passes.
            server.hosts.forEach((host, i) => host.sendMessage({ roomId: ROOMS[0], text: `warm-up ${i}` }));
            while (sink.accepted.length < server.hosts.length) await sleep(50);
            await sleep(2500);
        }
        if (again) {
            for (let i = 0; i < perRoom; i++) for (let r = 0; r < rooms; r++) server.hosts[(i * rooms + r) % server.hosts.length].sendMessage({ roomId: ROOMS[r], text: `before-${r}-${i}` });
            while (sink.accepted.length < rooms * perRoom + (server.hosts.length > 1 ? server.hosts.length : 0)) await sleep(50);
            await sleep(EMPTIED_MS);
        }
        const base = { accepted: sink.accepted.length, requests: sink.requests, rejected: sink.stats.rejected.length };
        const measured = () => sink.accepted.slice(base.accepted);
        const sent = []; // { room, text, at }
        const start = performance.now();
        for (let i = 0; i < perRoom; i++) {
            for (let r = 0; r < rooms; r++) {
                const text = `pace-${r}-${i}`;
                const send = () => server.hosts[sent.length % server.hosts.length].sendMessage({ roomId: ROOMS[r], text });
                if (server.hosts.length > 1) inOwnMillisecond(ROOMS[r], send);
                else send();
                sent.push({ room: r, text, at: performance.now() - start });
            }
            if (rate) await sleep(1000 / rate);
        }
        const total = rooms * perRoom;
        const deadline = performance.now() + 20 * 60000;
        while (new Set(measured().map((a) => a.text)).size < total && performance.now() < deadline) await sleep(50);
        await settle(() => sink.requests, 1500, 30000); // late duplicates would show here
        const end = Math.max(...measured().map((a) => a.at)) - start;
        // Best: per destination, the limit's schedule for the arrivals; the slowest destination decides
        // (one schedule for all when the service counts per account).
        let best = 0;
        for (let r = 0; r < rooms; r++) {
            const arrivals = sent.filter((s) => service.perAccount || s.room === r).map((s) => s.at);
            best = Math.max(best, service.schedule(arrivals).pop());
        }
        const seen = new Map();
        let outOfOrder = 0;
        const lastIndex = new Map();
        for (const a of measured()) {
            seen.set(a.text, (seen.get(a.text) || 0) + 1);
            const match = /pace-(\d+)-(\d+)/.exec(a.text || '');
            if (!match) continue;
            const previous = lastIndex.has(a.destination) ? lastIndex.get(a.destination) : -1;
            if (Number(match[2]) < previous) outOfOrder += 1;
            lastIndex.set(a.destination, Math.max(previous, Number(match[2])));
        }
        if (process.env.BENCH_PACING_TIMES) {
            // When each accepted request arrived, ms after the first message was posted.
            log(`     accepted at: ${measured().map((a) => Math.round(a.at - start)).join(' ')}`);
            log(`     refused at: ${sink.refused.filter((r) => r.at >= start).map((r) => Math.round(r.at - start)).join(' ')}`);
        }
        if (process.env.BENCH_PACING_ORDER) {
            const byDestination = new Map();
            for (const a of measured()) byDestination.set(a.destination, [...(byDestination.get(a.destination) || []), (/pace-\d+-(\d+)/.exec(a.text || '') || [])[1]]);
            for (const [d, order] of byDestination) log(`     ${d}: ${order.join(' ')}`);
        }
        const row = {
            instances,
            service: name,
            scenario: (rate ? `${perRoom} at ${rate} msg/s` : rooms > 1 ? `${rooms} rooms × ${perRoom} at once` : `${perRoom} at once`) + (again ? ', again (the limit met before)' : ''),
            sent: total,
            delivered: sent.filter((s) => seen.has(s.text)).length,
            duplicates: [...seen.values()].reduce((n, c) => n + c - 1, 0),
            outOfOrder,
            requests: sink.requests - base.requests,
            rejected: sink.stats.rejected.length - base.rejected,
            seconds: end / 1000,
            bestSeconds: best / 1000,
            ratio: end > 0 ? Math.min(1, best / end) : 1,
        };
        log(`   ${name}, ${row.scenario}${instances > 1 ? `, ${instances} instances` : ''}: ${row.delivered}/${row.sent}, 429s ${row.rejected}/${row.requests}, ${row.seconds.toFixed(1)} s (best ${row.bestSeconds.toFixed(1)} s, ratio ${row.ratio.toFixed(2)})`);
        return row;
    } finally {
        await settle(() => server.hosts.map((h) => h.counters), 200, 15000);
        await server.stop();
        await sink.stop();
    }
}

/** Every service × the three scenarios of issue 18, on one instance and on two (`quick`: fewer messages). */
async function pacing(zip, { quick }, log) {
    const rows = [];
    for (const instances of [1, 2]) {
        for (const [name, service] of Object.entries(SERVICES)) {
            const n = quick ? 15 : MESSAGES;
            rows.push(await scenario(zip, name, service, { rooms: 1, perRoom: n, instances }, log));
            rows.push(await scenario(zip, name, service, { rooms: 1, perRoom: n, rate: 2, instances }, log));
            rows.push(await scenario(zip, name, service, { rooms: 3, perRoom: Math.min(20, n), instances }, log));
            if (service.learnsLimit) rows.push(await scenario(zip, name, service, { rooms: 1, perRoom: n, instances, again: true }, log));
        }
    }
    return { rows, limits: Object.fromEntries(Object.entries(SERVICES).map(([k, s]) => [k, s.limit])) };
}

const GOAL = { ratio: 0.95, rejectedShare: 0.01 };

function renderPacing(result) {
    const lines = [
        '## 7. Pacing by each service\'s limits',
        '',
        'Sinks that enforce each service\'s limit with its own headers and 429 bodies',
        '(test/support/limitedSinks.js); one Relay Bridge instance, then two on one database (messages sent',
        'through them in turn). *ratio* = the time the limit allows at',
        'best for these arrivals ÷ the time it took (1.00 = as fast as the service allows). Goal: ratio',
        `≥ ${GOAL.ratio}, ≤ ${GOAL.rejectedShare * 100} % of requests answered 429, nothing lost, duplicated or out of order.`,
        '',
        ...Object.entries(result.limits).map(([k, v]) => `- **${k}**: ${v}`),
        '',
        '| instances | service | scenario | delivered | 429s / requests | duplicates | out of order | time | best | ratio | goal |',
        '|---|---|---|---|---|---|---|---|---|---|---|',
    ];
    for (const r of result.rows) {
        const ok = r.delivered === r.sent && r.duplicates === 0 && r.outOfOrder === 0 && r.ratio >= GOAL.ratio && r.rejected <= GOAL.rejectedShare * r.requests;
        lines.push(`| ${r.instances || 1} | ${r.service} | ${r.scenario} | ${r.delivered}/${r.sent} | ${r.rejected} / ${r.requests} | ${r.duplicates} | ${r.outOfOrder} | ${r.seconds.toFixed(1)} s | ${r.bestSeconds.toFixed(1)} s | ${r.ratio.toFixed(2)} | ${ok ? 'met' : 'MISSED'} |`);
    }
    return lines.join('\n');
}

module.exports = { pacing, renderPacing, fixedWindow, sliding, leakyBucket, scenario, SERVICES };
