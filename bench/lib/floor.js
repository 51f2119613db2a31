// Section 1: Relay Bridge against the runtime floor (the baseline app), same run, same machine.
// Each repetition starts a fresh host with one app, measures outbound latency (host.sendMessage →
// sink received), inbound latency (endpoint request → response) and sustained throughput (offered
// rate raised until the sink rate stops rising), then stops the host. Apps alternate A, B, A, B….
'use strict';

const fs = require('fs');
const http = require('http');
const { performance } = require('perf_hooks');
const { startApp, stopHost, inboundRequest, LOAD_ROOMS, RELAY_VARIANTS } = require('./apps');
const { latencySummary } = require('./stats');
const { offerLoad, settle, sleep } = require('./load');

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function postJson(url, headers, body) {
    return new Promise((resolve, reject) => {
        const payload = JSON.stringify(body);
        const req = http.request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload), ...headers } }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
        });
        req.on('error', reject);
        req.end(payload);
    });
}

/** Sequential messages, one at a time: latency without queueing. */
async function outboundLatency(host, sink, count) {
    const samples = [];
    for (let i = 0; i < count; i++) {
        const t0 = performance.now();
        const message = host.sendMessage({ roomId: 'GENERAL', text: `latency ${i}` });
        const [arrived] = await sink.waitForMessage(message.id);
        samples.push(arrived - t0);
        await sleep(2); // let the app finish the message (Relay Bridge records it after delivery)
    }
    return samples;
}

async function inboundLatency(kind, host, count) {
    const samples = [];
    for (let i = 0; i < count; i++) {
        const request = inboundRequest(kind, host, `inbound ${i}`);
        const t0 = performance.now();
        const response = await postJson(request.url, request.headers, request.body);
        samples.push(performance.now() - t0);
        if (response.status !== 200) throw new Error(`${kind} inbound answered ${response.status}: ${response.body}`);
    }
    return samples;
}

/**
 * Raises the offered rate step by step; each step's delivered rate is what the sink received
 * during the step (after a short ramp-in). Stops after `flatSteps` saturated steps that do not
 * raise the best rate by 5 %.
 * Between steps the backlog drains and the host's in-memory persistence is emptied (it scans every
 * record on each association lookup, which Rocket.Chat's indexed collection does not).
 */
async function throughputRamp(host, sink, { startRate, factor, stepMs, maxRate, flatSteps }, roomIds) {
    const steps = [];
    let best = 0;
    let flat = 0;
    for (let rate = startRate; rate <= maxRate; rate = Math.round(rate * factor)) {
        host.state.appPersistence(host.appId).clear();
        const before = sink.total;
        let windowStart;
        const rampInMs = Math.min(500, stepMs / 4);
        const load = await offerLoad(host, {
            rate,
            durationMs: stepMs,
            roomIds,
            onTick: (elapsed) => {
                if (windowStart === undefined && elapsed >= rampInMs) windowStart = { at: performance.now(), total: sink.total };
            },
        });
        const windowEnd = { at: performance.now(), total: sink.total };
        const delivered = ((windowEnd.total - windowStart.total) * 1000) / (windowEnd.at - windowStart.at);
        const drained = await sink.waitForTotal(before + load.ids.length, 60000);
        const sendIndex = new Map(load.ids.map((id, i) => [id, i]));
        steps.push({ offered: rate, delivered, drained, lost: drained ? 0 : before + load.ids.length - sink.total, outOfOrder: sink.outOfOrder(sendIndex) });
        if (!drained) break;
        // Saturated (the sink falls behind the offered rate) and no better than the best step so far.
        flat = delivered < rate * 0.95 && delivered < best * 1.05 ? flat + 1 : 0;
        best = Math.max(best, delivered);
        if (flat >= flatSteps) break;
    }
    host.state.appPersistence(host.appId).clear();
    return { throughput: Math.max(...steps.map((s) => s.delivered)), steps };
}

/** CPU time of a process in ms (Linux /proc: utime + stime, clock ticks of 10 ms). */
function processCpuMs(pid) {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * CPU spent per relayed message at a fixed rate well below saturation, split between the Node
 * process (host, engine, HTTP client, sink) and the app's Deno process.
 */
async function cpuPerMessage(host, sink, { rate, durationMs }) {
    host.state.appPersistence(host.appId).clear();
    const pid = host.runtimePid();
    const before = sink.total;
    const deno0 = processCpuMs(pid);
    const node0 = process.cpuUsage();
    const load = await offerLoad(host, { rate, durationMs });
    await sink.waitForTotal(before + load.ids.length, 60000);
    await settle(() => host.counters, 100);
    const node = process.cpuUsage(node0);
    const denoMs = processCpuMs(pid) - deno0;
    return { denoUs: (denoMs * 1000) / load.ids.length, nodeUs: (node.user + node.system) / load.ids.length };
}

/** Tracks how many of the app's HTTP requests the host has in progress at once. */
function gaugeHttpConcurrency(host) {
    const bridge = host.bridges.http;
    const call = bridge.call;
    const gauge = { now: 0, max: 0 };
    bridge.call = async function gauged(...args) {
        gauge.now += 1;
        gauge.max = Math.max(gauge.max, gauge.now);
        try {
            return await call.apply(this, args);
        } finally {
            gauge.now -= 1;
        }
    };
    return gauge;
}

/**
 * One app set-up in a fresh host. The baseline and `relay` get every measurement; the other
 * Relay Bridge set-ups (same code path for a single message) only CPU and the throughput ramp.
 */
async function measureApp(kind, zips, sink, options) {
    sink.reset();
    const host = await startApp(kind, zips, sink.url);
    const httpInFlight = gaugeHttpConcurrency(host);
    const full = kind === 'baseline' || kind === 'relay';
    const roomIds = kind === 'relay-rooms' ? LOAD_ROOMS : ['GENERAL'];
    try {
        await outboundLatency(host, sink, 30); // warm-up: JIT, connections, configuration cache
        const result = { kind, rooms: roomIds.length };
        if (full) {
            await inboundLatency(kind, host, 10);
            await settle(() => host.counters);
            host.resetCounters();
            const outbound = await outboundLatency(host, sink, options.latencySamples);
            await settle(() => host.counters);
            result.outboundCalls = { rpc: { ...host.counters.rpc }, appCalls: { ...host.counters.appCalls }, bridges: { ...host.counters.bridges }, messages: options.latencySamples };
            host.resetCounters();
            const inbound = await inboundLatency(kind, host, options.latencySamples);
            await settle(() => host.counters);
            result.inboundCalls = { rpc: { ...host.counters.rpc }, appCalls: { ...host.counters.appCalls }, bridges: { ...host.counters.bridges }, messages: options.latencySamples };
            result.outbound = latencySummary(outbound);
            result.inbound = latencySummary(inbound);
        }
        result.cpu = await cpuPerMessage(host, sink, options.cpu);
        httpInFlight.max = 0;
        const ramp = await throughputRamp(host, sink, options.ramp, roomIds);
        result.throughput = ramp.throughput;
        result.steps = ramp.steps;
        result.outOfOrder = ramp.steps.reduce((n, step) => n + step.outOfOrder, 0);
        result.maxHttpInFlight = httpInFlight.max;
        result.errors = host.benchErrors.length;
        return result;
    } finally {
        await stopHost(host);
    }
}

/** Interleaved repetitions: baseline, relay, relay-rooms, relay-unordered, baseline…; each in its own host. */
async function runFloor(zips, sink, options, log) {
    const kinds = ['baseline', ...Object.keys(RELAY_VARIANTS)];
    const runs = Object.fromEntries(kinds.map((kind) => [kind, []]));
    for (let rep = 1; rep <= options.repetitions; rep++) {
        for (const kind of kinds) {
            const result = await measureApp(kind, zips, sink, options);
            runs[kind].push(result);
            const latency = result.outbound ? `out p50 ${result.outbound.p50.toFixed(2)} ms, in p50 ${result.inbound.p50.toFixed(2)} ms, ` : '';
            log(`  rep ${rep} ${kind.padEnd(15)} ${latency}throughput ${result.throughput.toFixed(0)} msg/s, ${result.outOfOrder} out of order (steps ${result.steps.map((s) => `${s.offered}→${s.delivered.toFixed(0)}`).join(' ')})`);
        }
    }
    return runs;
}

module.exports = { runFloor, postJson, outboundLatency };
