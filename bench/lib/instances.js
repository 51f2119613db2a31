// Section 8, several instances: one and two Rocket.Chat instances on one database (host/cluster.js:
// each its own engine and Deno runtime, persistence and scheduler shared) relaying the same 8-room
// load (8 destinations, order kept per destination). Each room's messages are posted on the
// instances in turn, as users of one room connected to different instances would. Per set-up: the best sustained aggregate rate
// (same ramp as section 1b), messages lost / doubled / out of order, round trips per message
// (all instances' runtimes together) and CPU per message (Node host process, every Deno runtime).
'use strict';

const fs = require('fs');
const { performance } = require('perf_hooks');
const { HostCluster } = require('../../host/cluster');
const { relayConfig, LOAD_ROOMS } = require('./apps');
const { offerLoad, settle, sleep } = require('./load');
const { median } = require('./stats');
const { BenchSink } = require('./sink');


async function startCluster(count, zip, sinkUrl, latencyMs) {
    const cluster = new HostCluster({ persistenceLatencyMs: latencyMs });
    await cluster.start(count);
    for (const roomId of LOAD_ROOMS) {
        const host = cluster.hosts[0];
        host.state.createRoom({ id: roomId, name: roomId.toLowerCase(), kind: 'channel', creatorId: host.admin.id, memberIds: [host.alice.id] });
    }
    await cluster.installApp(zip);
    await cluster.updateSetting('private_hosts_allowed', '127.0.0.1');
    const stored = await cluster.updateSetting('relay_config', JSON.stringify(relayConfig(sinkUrl, 1, { rooms: true })));
    if (!/hook0/.test(stored)) throw new Error('relay configuration refused');
    cluster.errors = [];
    for (const host of cluster.hosts) host.on('listenerError', (e) => cluster.errors.push(e && e.message ? e.message : String(e)));
    return cluster;
}

/** Each room's messages through the instances in turn: every destination gets messages from both, one after the other. */
async function offerOnInstances(hosts, { rate, durationMs, onTick }) {
    return (await offerLoad(hosts, { rate, durationMs, roomIds: LOAD_ROOMS, onTick })).ids;
}

/**
 * Empties the shared app persistence between steps, all but the runtimes' presence records: the
 * instances go on knowing each other as they would on a server (cleared, each runtime believed
 * itself alone for the next minute and skipped the order wait).
 */
function clearAppRecords(cluster) {
    const store = cluster.hosts[0].state.appPersistence(cluster.appId);
    for (const [id, record] of [...store]) {
        if (!record.keys.some((key) => key.startsWith('misc:runtime:'))) store.delete(id);
    }
}

function processCpuMs(pid) {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
}

function sumCounters(hosts, field) {
    const out = {};
    for (const host of hosts) for (const [k, v] of Object.entries(host.counters[field])) out[k] = (out[k] || 0) + v;
    return out;
}

/** Round trips and CPU per message at a fixed rate well below saturation. */
async function costPerMessage(cluster, sink, { rate, durationMs }) {
    const { hosts } = cluster;
    clearAppRecords(cluster);
    await sleep(300);
    hosts.forEach((h) => h.resetCounters());
    const pids = hosts.map((h) => h.runtimePid());
    const deno0 = pids.map(processCpuMs);
    const node0 = process.cpuUsage();
    const before = sink.total;
    const ids = await offerOnInstances(hosts, { rate, durationMs });
    await sink.waitForTotal(before + ids.length, 60000);
    await settle(() => hosts.map((h) => h.counters), 300, 15000);
    const node = process.cpuUsage(node0);
    const denoMs = pids.reduce((sum, pid, i) => sum + processCpuMs(pid) - deno0[i], 0);
    const rpc = sumCounters(hosts, 'rpc');
    const roundTrips = Object.values(rpc).reduce((a, b) => a + b, 0) / ids.length;
    const byBridge = Object.fromEntries(Object.entries(rpc).map(([k, v]) => [k, v / ids.length]).sort((a, b) => b[1] - a[1]));
    return { roundTrips, byBridge, nodeUs: (node.user + node.system) / ids.length, denoUs: (denoMs * 1000) / ids.length };
}

/** Section 1's ramp over the cluster: the best step's delivered rate, and every message checked once at the sink. */
async function ramp(cluster, sink, { startRate, factor, stepMs, maxRate, flatSteps }) {
    const { hosts } = cluster;
    const steps = [];
    let best = 0;
    let flat = 0;
    for (let rate = startRate; rate <= maxRate; rate = Math.round(rate * factor)) {
        clearAppRecords(cluster);
        sink.reset();
        const rampInMs = Math.min(500, stepMs / 4);
        hosts.forEach((h) => h.resetCounters());
        const pids = hosts.map((h) => h.runtimePid());
        const deno0 = pids.map(processCpuMs);
        const node0 = process.cpuUsage();
        const offeredAt = performance.now();
        const ids = await offerOnInstances(hosts, { rate, durationMs: stepMs });
        const offerMs = performance.now() - offeredAt;
        const drained = await sink.waitForTotal(ids.length, 90000);
        // Cores in use while the step was offered and drained: the Node process runs all its JavaScript on one thread.
        const busyMs = performance.now() - offeredAt;
        const nodeUsage = process.cpuUsage(node0);
        const nodeCores = (nodeUsage.user + nodeUsage.system) / 1000 / busyMs;
        const denoCores = pids.reduce((sum, pid, i) => sum + processCpuMs(pid) - deno0[i], 0) / busyMs;
        // Delivered rate: the step's messages over the span from its first delivery to its last (at
        // least the offer's length), so a fixed delay does not count against it: with several
        // instances each delivery leaves at the earliest ORDER_SETTLE_MS (750 ms) after its message,
        // and a window on the offer's own clock (`onTime`, as section 1b counts) sees only the
        // messages of the step's first quarter in a 1 s step.
        const arrivals = [...sink.arrivals.values()].map((times) => times[0]).sort((a, b) => a - b);
        const delivered = (arrivals.length * 1000) / Math.max(offerMs, arrivals[arrivals.length - 1] - arrivals[0]);
        const onTime = (arrivals.filter((at) => at >= offeredAt + rampInMs && at < offeredAt + offerMs).length * 1000) / (offerMs - rampInMs);
        await settle(() => sink.total, 500, 5000); // anything doubled arrives too
        const sendIndex = new Map(ids.map((id, i) => [id, i]));
        const lost = ids.filter((id) => !sink.arrivals.has(id)).length;
        const roundTrips = Object.values(sumCounters(hosts, 'rpc')).reduce((a, b) => a + b, 0) / ids.length;
        steps.push({ offered: rate, delivered, onTime, lost, duplicates: sink.duplicates, outOfOrder: sink.outOfOrder(sendIndex), roundTrips, nodeCores, denoCores });
        if (!drained) break;
        flat = delivered < rate * 0.95 && delivered < best * 1.05 ? flat + 1 : 0;
        best = Math.max(best, delivered);
        if (flat >= flatSteps) break;
    }
    clearAppRecords(cluster);
    const top = steps.reduce((a, b) => (b.delivered > a.delivered ? b : a));
    return { throughput: top.delivered, roundTripsAtBest: top.roundTrips, coresAtBest: { node: top.nodeCores, deno: top.denoCores }, steps };
}

/**
 * Interleaved repetitions of one and two instances, each in a fresh cluster. `latencyMs`: the
 * database round trip of each instance (0 = in-process store).
 */
async function instances(zip, plan, log) {
    const sink = await new BenchSink().start();
    try {
        const runs = { 1: [], 2: [] };
        for (let rep = 1; rep <= plan.repetitions; rep++) {
            for (const count of [1, 2]) {
                const run = await measureCluster(count, zip, sink, plan);
                runs[count].push(run);
                log(`  rep ${rep} ${count} instance(s): ${run.throughput.toFixed(0)} msg/s, lost ${run.lost}, doubled ${run.duplicates}, out of order ${run.outOfOrder}, ${run.roundTrips.toFixed(2)} round trips/msg (steps offered→delivered [within the offer's window] ${run.steps.map((s) => `${s.offered}→${s.delivered.toFixed(0)} [${s.onTime.toFixed(0)}]`).join(' ')})`);
            }
        }
        return { runs, costRate: plan.cost.rate };
    } finally {
        await sink.stop();
    }
}

async function measureCluster(count, zip, sink, { ramp: rampPlan, cost, latencyMs = 0 }) {
    sink.reset();
    const cluster = await startCluster(count, zip, sink.url, latencyMs);
    try {
        await sleep(500);
        const warm = await offerOnInstances(cluster.hosts, { rate: 100, durationMs: 1000 });
        await sink.waitForTotal(warm.length, 30000);
        const perMessage = await costPerMessage(cluster, sink, cost);
        const result = await ramp(cluster, sink, rampPlan);
        const sum = (field) => result.steps.reduce((n, s) => n + s[field], 0);
        return { instances: count, ...perMessage, throughput: result.throughput, roundTripsAtBest: result.roundTripsAtBest, nodeCoresAtBest: result.coresAtBest.node, denoCoresAtBest: result.coresAtBest.deno, steps: result.steps, lost: sum('lost'), duplicates: sum('duplicates'), outOfOrder: sum('outOfOrder'), listenerErrors: cluster.errors.length };
    } finally {
        await settle(() => cluster.hosts.map((h) => h.counters), 200, 15000);
        await cluster.stop();
    }
}

/** The section's Markdown (median of the repetitions per set-up). */
function renderInstances(runs, machine, costRate) {
    const row = (count) => {
        const list = runs[count];
        const m = (field) => median(list.map((r) => r[field]));
        return { count, list, throughput: m('throughput'), roundTrips: m('roundTrips'), roundTripsAtBest: m('roundTripsAtBest'), nodeCoresAtBest: m('nodeCoresAtBest'), denoCoresAtBest: m('denoCoresAtBest'), nodeUs: m('nodeUs'), denoUs: m('denoUs'), lost: list.reduce((n, r) => n + r.lost, 0), duplicates: list.reduce((n, r) => n + r.duplicates, 0), outOfOrder: list.reduce((n, r) => n + r.outOfOrder, 0), byBridge: list[0].byBridge };
    };
    const one = row(1);
    const two = row(2);
    const ratio = two.throughput / one.throughput;
    const lines = [
        '## 8. Several instances on one database — one vs two, 8 destinations (medians of the repetitions)',
        '',
        `| instances | aggregate throughput (msg/s, each repetition) | ratio to one instance | goal | lost | doubled | out of order | round trips per message at ${costRate} msg/s | at the best step | CPU µs/msg Node + Deno (all runtimes) |`,
        '|---|---|---|---|---|---|---|---|---|---|',
        `| 1 | ${one.throughput.toFixed(0)} (${one.list.map((r) => r.throughput.toFixed(0)).join(', ')}) |  |  | ${one.lost} | ${one.duplicates} | ${one.outOfOrder} | ${one.roundTrips.toFixed(2)} | ${one.roundTripsAtBest.toFixed(2)} | ${one.nodeUs.toFixed(0)} + ${one.denoUs.toFixed(0)} |`,
        `| 2 | ${two.throughput.toFixed(0)} (${two.list.map((r) => r.throughput.toFixed(0)).join(', ')}) | ${ratio.toFixed(2)} | ≥ 1.8: ${ratio >= 1.8 ? 'met' : 'not met'} | ${two.lost} | ${two.duplicates} | ${two.outOfOrder} | ${two.roundTrips.toFixed(2)} | ${two.roundTripsAtBest.toFixed(2)} | ${two.nodeUs.toFixed(0)} + ${two.denoUs.toFixed(0)} |`,
        '',
        `Round trips per message by bridge, one instance: ${formatBridges(one.byBridge)}; two instances: ${formatBridges(two.byBridge)}.`,
        '',
        `- **What limits the ratio here.** Both instances run in one Node process (the local host's engines, bridges, persistence, HTTP client, the load and the sink) on the same ${machine.cores} cores, so a second instance adds a Deno runtime but no CPU. At the best step the Node process used ${one.nodeCoresAtBest.toFixed(2)} cores with one instance and ${two.nodeCoresAtBest.toFixed(2)} with two (its JavaScript runs on one thread), the Deno runtimes ${one.denoCoresAtBest.toFixed(2)} and ${two.denoCoresAtBest.toFixed(2)} together: the aggregate is bounded by that one thread, not by the app's runtimes. On a real cluster each instance has its own server process and CPU; the figure that carries over is the cost per message, which a second instance must not raise (round trips per message, below saturation and at the best step, one vs two instances).`,
        "- With two instances a destination's messages come from both: once a line finds the other instance's entry ahead of its own, the next deliveries there go straight to the backlog job for a while (written unclaimed, once: the job that holds the destination delivers them without a claim on each), so past a few hundred messages a second most deliveries take the job's path — the round trips at the best step count it.",
        "- Each room's messages are posted on the instances in turn (every destination gets entries of both) and relayed in order per destination across them; every step of the ramp checks each message once at the sink (lost, doubled, out of order summed over all steps and repetitions).",
        "- A step's delivered rate is its messages over the span from their first delivery to their last (at least the offer's length): with several instances every delivery leaves at the earliest 750 ms after its message (`ORDER_SETTLE_MS`), a delay a window on the offer's own clock would count as lost throughput.",
    ];
    return lines.join('\n');
}

function formatBridges(byBridge) {
    return Object.entries(byBridge).filter(([, v]) => v >= 0.01).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
}

module.exports = { instances, renderInstances, startCluster };
