// Sections 2 and 4, on one Relay Bridge host whose configuration changes between runs:
// round trips per relayed message for 1, 3 and 10 webhook targets (counted at the host, by bridge),
// and fan-out: one message to 1, 10 and 50 targets, time until the last target has it.
'use strict';

const { performance } = require('perf_hooks');
const { relayConfig } = require('./apps');
const { perMessage, shortName, sum } = require('./calls');
const { latencySummary } = require('./stats');
const { settle, sleep } = require('./load');

async function configure(host, sink, targets, options = {}) {
    const stored = await host.updateSetting('relay_config', JSON.stringify(relayConfig(sink.url, targets, options)));
    if (!stored.includes(`hook${targets - 1}`)) throw new Error(`relay configuration with ${targets} targets refused: ${host.benchErrors.join('; ')}`);
}

const describe = (counts) => Object.entries(counts).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ') || 'none';

/**
 * For each target count, with edit tracking (the default) and without (`track_edits: false`):
 * `messages` new messages, then an edit and a delete of each, one at a time (each waits until
 * every target has the request; without tracking, edits and deletes send nothing, so each waits
 * until the app is quiet), counting the app's round trips per event.
 */
async function roundTrips(host, sink, { targetCounts, messages }, log) {
    const rows = [];
    for (const trackEdits of [true, false]) {
        for (const targets of targetCounts) {
            await configure(host, sink, targets, trackEdits ? {} : { trackEdits: false });
            sink.reset();
            for (let i = 0; i < 5; i++) {
                const warm = host.sendMessage({ roomId: 'GENERAL', text: `warm ${i}` });
                await sink.waitForMessage(warm.id, targets);
            }
            const ids = [];
            const phases = [
                { event: 'sent', arrivals: targets, act: (i) => ids.push(host.sendMessage({ roomId: 'GENERAL', text: `count ${i}` }).id) },
                { event: 'edited', arrivals: 2 * targets, act: (i) => host.editMessage(ids[i], 'edited text') },
                { event: 'deleted', arrivals: 3 * targets, act: (i) => host.deleteMessage(ids[i]) },
            ];
            for (const phase of phases) {
                await settle(() => host.counters);
                host.resetCounters();
                const totalBefore = sink.total;
                for (let i = 0; i < messages; i++) {
                    phase.act(i);
                    if (trackEdits || phase.event === 'sent') await sink.waitForMessage(ids[i], phase.arrivals);
                    else await settle(() => host.counters, 20);
                    await sleep(2);
                }
                await settle(() => host.counters);
                const relayed = (sink.total - totalBefore) / messages / targets;
                const { calls, periodic } = perMessage(host.counters.rpc, messages);
                const row = {
                    targets,
                    trackEdits,
                    event: phase.event,
                    relayed,
                    calls,
                    periodic,
                    roundTrips: sum(calls),
                    periodicTrips: sum(periodic),
                    intoApp: sum(host.counters.appCalls) / messages,
                    bridgeCalls: sum(host.counters.bridges) / messages, // cross-check: what reached the host's bridges
                };
                rows.push(row);
                log(`  ${String(targets).padStart(2)} target(s), edits ${trackEdits ? 'tracked' : 'not tracked'}, ${phase.event.padEnd(7)}: ${row.roundTrips.toFixed(2)} round trips/message (${describe(calls)}); timer-driven ${row.periodicTrips.toFixed(2)} (${describe(periodic)})`);
            }
        }
    }
    return rows;
}

/** Round trips with no messages at all (scheduled jobs, timers), per second. */
async function idleRoundTrips(host, idleMs, log) {
    await settle(() => host.counters);
    host.resetCounters();
    await sleep(idleMs);
    const perSecond = {};
    for (const [key, count] of Object.entries(host.counters.rpc)) perSecond[shortName(key)] = (count * 1000) / idleMs;
    const result = { seconds: idleMs / 1000, perSecond, total: sum(perSecond) };
    log(`  idle for ${result.seconds} s: ${result.total.toFixed(2)} round trips/s (${describe(perSecond)})`);
    return result;
}

async function fanOut(host, sink, { targetCounts, messages }, log) {
    const rows = [];
    for (const targets of targetCounts) {
        await configure(host, sink, targets);
        sink.reset();
        host.state.appPersistence(host.appId).clear();
        const toLast = [];
        const toFirst = [];
        for (let i = 0; i < messages + 5; i++) {
            const t0 = performance.now();
            const message = host.sendMessage({ roomId: 'GENERAL', text: `fan-out ${i}` });
            const times = await sink.waitForMessage(message.id, targets);
            if (i >= 5) { // the first few open connections to the new target URLs
                toLast.push(Math.max(...times) - t0);
                toFirst.push(Math.min(...times) - t0);
            }
            await settle(() => host.counters, 20);
        }
        const row = { targets, last: latencySummary(toLast), first: latencySummary(toFirst) };
        rows.push(row);
        log(`  ${String(targets).padStart(2)} target(s): last target p50 ${row.last.p50.toFixed(2)} ms, p95 ${row.last.p95.toFixed(2)} ms (first p50 ${row.first.p50.toFixed(2)} ms)`);
    }
    return rows;
}

/**
 * A dead target's backlog next to a healthy one: `entries` outbox entries for a destination in
 * backoff (written straight into the host's persistence, the way a long outage leaves them, next
 * attempt far away), then `messages` messages to a healthy webhook one at a time: the healthy
 * target's delay with an empty outbox and with the dead one's backlog. A destination's work should
 * not depend on another destination's backlog.
 */
async function deadBacklog(host, sink, { entries, messages }, log) {
    await configure(host, sink, 1);
    const rows = [];
    for (const backlog of [0, entries]) {
        sink.reset();
        const store = host.state.appPersistence(host.appId);
        store.clear();
        const now = Date.now();
        for (let i = 0; i < backlog; i++) {
            const id = `tdead-${now * 1000 + i}`;
            const entry = {
                id, targetKey: 'dead\n{}', instance: 'dead', channel: {}, seq: now * 1000 + i, event: 'sent',
                message: { id: `M${i}`, text: `stuck ${i}`, room: { id: 'GENERAL', name: 'general' }, files: [], timestamp: new Date(now).toISOString() },
                rendered: { text: `stuck ${i}`, alias: 'someone' }, partsDone: 0, remoteIds: [], attempts: 12, firstAttemptAt: now, nextAttemptAt: now + 3600000, keyed: true,
            };
            store.set(id, { data: entry, keys: ['misc:relay-bridge:outbox', 'misc:outbox-destination:tdead', `misc:outbox:${id}`] });
        }
        const delays = [];
        for (let i = 0; i < messages + 5; i++) {
            const t0 = performance.now();
            const message = host.sendMessage({ roomId: 'GENERAL', text: `beside a dead target ${i}` });
            const times = await sink.waitForMessage(message.id, 1);
            if (i >= 5) delays.push(Math.max(...times) - t0);
            await sleep(20); // about 40 messages a second: the old outbox state was re-read once a second
        }
        const row = { backlog, delay: latencySummary(delays) };
        rows.push(row);
        log(`  healthy target beside ${backlog} dead-target entries: p50 ${row.delay.p50.toFixed(2)} ms, p95 ${row.delay.p95.toFixed(2)} ms`);
    }
    host.state.appPersistence(host.appId).clear();
    return rows;
}

module.exports = { roundTrips, fanOut, idleRoundTrips, deadBacklog };
