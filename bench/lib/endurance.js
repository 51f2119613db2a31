// Sections 5 and 6: the Deno runtime's memory before and after many relayed messages, and
// sustained load through 3 targets with every delivery accounted for (no loss, no duplicates).
'use strict';

const { performance } = require('perf_hooks');
const { rssMiB } = require('./machine');
const { offerLoad, settle, sleep } = require('./load');
const { latencySummary } = require('./stats');

/** Sends `count` messages keeping at most `window` in flight (fast, but never overloads the app). */
async function sendClosedLoop(host, sink, { count, window, targets, onDone }) {
    let sent = 0;
    let done = 0;
    let inFlight = 0;
    await new Promise((resolve, reject) => {
        const pump = () => {
            while (sent < count && inFlight < window) {
                sent += 1;
                inFlight += 1;
                const message = host.sendMessage({ roomId: 'GENERAL', text: `memory ${sent}` });
                sink.waitForMessage(message.id, targets, 60000).then(() => {
                    inFlight -= 1;
                    done += 1;
                    if (onDone) onDone(done);
                    if (sent === count && inFlight === 0) resolve();
                    else pump();
                }, reject);
            }
        };
        pump();
    });
}

async function memory(kind, host, sink, { messages, window }, log) {
    const pid = host.runtimePid();
    await sleep(500);
    const atStart = rssMiB(pid);
    const t0 = performance.now();
    const series = [{ messages: 0, rssMiB: atStart }];
    const every = Math.max(1, Math.round(messages / 5));
    await sendClosedLoop(host, sink, {
        count: messages,
        window,
        targets: 1,
        onDone: (done) => {
            if (done % every === 0) series.push({ messages: done, rssMiB: rssMiB(pid) });
        },
    });
    await settle(() => host.counters);
    const seconds = (performance.now() - t0) / 1000;
    await sleep(500);
    const result = {
        kind,
        messages,
        startMiB: atStart,
        afterMiB: rssMiB(pid),
        peakMiB: rssMiB(pid, 'VmHWM'),
        hostRssMiB: process.memoryUsage().rss / 2 ** 20,
        persistenceRecords: host.state.appPersistence(host.appId).size,
        series,
        seconds,
    };
    log(`  ${kind}: Deno RSS ${result.startMiB.toFixed(1)} MiB at start → ${result.afterMiB.toFixed(1)} MiB after ${messages} messages (peak ${result.peakMiB.toFixed(1)} MiB, ${seconds.toFixed(1)} s; ${series.map((p) => `${p.messages}: ${p.rssMiB.toFixed(0)}`).join(', ')})`);
    return result;
}

/**
 * `rate` msg/s for `durationMs` into a room relayed to `targets` webhook paths; afterwards every
 * target path must hold every message id exactly once.
 */
async function sustained(host, sink, { rate, durationMs, targets, drainMs }, log) {
    sink.reset();
    host.state.appPersistence(host.appId).clear();
    const load = await offerLoad(host, { rate, durationMs });
    const expected = load.ids.length * targets;
    const drainStart = performance.now();
    const drained = await sink.waitForTotal(expected, drainMs);
    const drainSeconds = (performance.now() - drainStart) / 1000;
    await sleep(1000); // late duplicates (retries) would arrive now
    await settle(() => host.counters);
    const perTarget = [];
    let missing = 0;
    for (let i = 0; i < targets; i++) {
        const ids = sink.byPath.get(`/t${i}`) || new Set();
        const lost = load.ids.filter((id) => !ids.has(id)).length;
        missing += lost;
        perTarget.push({ path: `/t${i}`, received: ids.size, lost });
    }
    const toLast = [];
    load.ids.forEach((id, i) => {
        const times = sink.arrivals.get(id);
        if (times && times.length >= targets) toLast.push(Math.max(...times) - load.sentAt[i]);
    });
    const result = {
        rate,
        seconds: durationMs / 1000,
        targets,
        sent: load.ids.length,
        offeredRate: (load.ids.length * 1000) / load.elapsedMs,
        expected,
        delivered: sink.total,
        missing,
        duplicates: sink.duplicates,
        drained,
        drainSeconds,
        // Deliveries per second from the first send until the sink had everything.
        deliveryRate: expected / (load.elapsedMs / 1000 + drainSeconds),
        latency: latencySummary(toLast),
        maxLatency: toLast.length ? Math.max(...toLast) : NaN,
        errors: host.benchErrors.length,
        listenerErrors: host.benchListenerErrors.length,
        perTarget,
    };
    log(`  sent ${result.sent} in ${(load.elapsedMs / 1000).toFixed(1)} s (${result.offeredRate.toFixed(0)} msg/s) × ${targets} targets: delivered ${result.delivered}/${expected}, missing ${missing}, duplicates ${result.duplicates}, last-target latency p50 ${result.latency.p50.toFixed(1)} ms p99 ${result.latency.p99.toFixed(1)} ms max ${result.maxLatency.toFixed(0)} ms, app errors ${result.errors}, engine listener errors ${result.listenerErrors}`);
    return result;
}

module.exports = { memory, sustained };
