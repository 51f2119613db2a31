// Sections 5 and 6: the Deno runtime's memory before and after many relayed messages, and
// sustained load through 3 targets with every delivery accounted for (no loss, no duplicates).
'use strict';

const { performance } = require('perf_hooks');
const { rssMiB } = require('./machine');
const { offerLoad, settle, sleep } = require('./load');
const { latencySummary } = require('./stats');
const { sum } = require('./calls');

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

/**
 * RSS of the app's Deno runtime and, through its inspector, the live JS heap after a full GC, at
 * the start and every fifth of `messages`; at the end the leftover per-call listener entries of
 * the engine's runtime (see heap.js) against the round trips the app made.
 */
async function memory(kind, host, sink, { messages, window }, inspector, log) {
    const pid = host.runtimePid();
    await sleep(500);
    const sample = async (done) => ({ messages: done, rssMiB: rssMiB(pid), heapMiB: (await inspector.liveHeapMiB()).usedMiB });
    const series = [await sample(0)];
    const roundTrips0 = sum(host.counters.rpc);
    const t0 = performance.now();
    const every = Math.max(1, Math.round(messages / 5));
    let sent = 0;
    while (sent < messages) {
        const count = Math.min(every, messages - sent);
        await sendClosedLoop(host, sink, { count, window, targets: 1 });
        sent += count;
        await settle(() => host.counters);
        series.push(await sample(sent));
    }
    const seconds = (performance.now() - t0) / 1000;
    const roundTrips = sum(host.counters.rpc) - roundTrips0;
    const peakMiB = rssMiB(pid, 'VmHWM'); // before the snapshot, which itself takes memory
    const responseKeys = await inspector.countHeapStrings('response:');
    const first = series[0];
    const last = series[series.length - 1];
    const result = {
        kind,
        messages,
        startMiB: first.rssMiB,
        afterMiB: last.rssMiB,
        peakMiB,
        heapStartMiB: first.heapMiB,
        heapAfterMiB: last.heapMiB,
        roundTrips,
        responseKeys,
        hostRssMiB: process.memoryUsage().rss / 2 ** 20,
        persistenceRecords: host.state.appPersistence(host.appId).size,
        series,
        seconds,
    };
    log(`  ${kind}: Deno RSS ${result.startMiB.toFixed(1)} → ${result.afterMiB.toFixed(1)} MiB, live heap ${result.heapStartMiB.toFixed(1)} → ${result.heapAfterMiB.toFixed(1)} MiB after ${messages} messages (${roundTrips} round trips, ${responseKeys} leftover response listeners; ${series.map((p) => `${p.messages}: ${p.rssMiB.toFixed(0)}/${p.heapMiB.toFixed(1)}`).join(', ')})`);
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
