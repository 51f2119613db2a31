// Turns the raw results into the summary tables: printed to the console and written as
// docs/BENCHMARKS.md, with the goals checked against the numbers.
'use strict';

const { median } = require('./stats');
const { perMessage, sum } = require('./calls');

const GOALS = { latencyRatio: 1.2, throughputRatio: 0.85, matchUs: 20 };

function fixed(value, digits = 2) {
    return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/** What each set-up of section 1 keeps, for the throughput table. */
const SETUPS = {
    baseline: { label: 'baseline (floor)', keeps: 'nothing: every message is one request, all at once', rooms: 1 },
    relay: { label: 'Relay Bridge as installed', keeps: 'order per destination, id map for edits/deletes/threads', rooms: 1 },
    'relay-rooms': { label: 'Relay Bridge as installed, load over 8 rooms', keeps: 'same; 8 destinations', rooms: 8 },
    'relay-unordered': { label: 'Relay Bridge doing the floor\'s work (`max_in_flight: 32`, `track_edits: false`)', keeps: 'edits/deletes wait for their message; no order between messages, no id map', rooms: 1 },
};

/** Throughput, CPU and ordering of one set-up over its repetitions. */
function throughputOf(reps) {
    const pick = (get) => median(reps.map(get));
    return {
        reps: reps.length,
        throughput: pick((r) => r.throughput),
        throughputs: reps.map((r) => r.throughput),
        nodeUs: pick((r) => r.cpu.nodeUs),
        denoUs: pick((r) => r.cpu.denoUs),
        maxHttpInFlight: Math.max(...reps.map((r) => r.maxHttpInFlight)),
        outOfOrder: reps.reduce((n, r) => n + (r.outOfOrder || 0), 0),
        steps: reps.map((r) => r.steps),
        errors: reps.reduce((n, r) => n + r.errors, 0),
    };
}

function floorSummary(runs) {
    const of = (kind) => {
        const reps = runs[kind];
        const pick = (get) => median(reps.map(get));
        return {
            reps: reps.length,
            out: { p50: pick((r) => r.outbound.p50), p95: pick((r) => r.outbound.p95), p99: pick((r) => r.outbound.p99) },
            in: { p50: pick((r) => r.inbound.p50), p95: pick((r) => r.inbound.p95), p99: pick((r) => r.inbound.p99) },
            throughput: pick((r) => r.throughput),
            throughputs: reps.map((r) => r.throughput),
            nodeUs: pick((r) => r.cpu.nodeUs),
            denoUs: pick((r) => r.cpu.denoUs),
            outRoundTrips: pick((r) => sum(perMessage(r.outboundCalls.rpc, r.outboundCalls.messages).calls)),
            inRoundTrips: pick((r) => sum(perMessage(r.inboundCalls.rpc, r.inboundCalls.messages).calls)),
            outCalls: reps[reps.length - 1].outboundCalls,
            inCalls: reps[reps.length - 1].inboundCalls,
            errors: reps.reduce((n, r) => n + r.errors, 0),
            maxHttpInFlight: Math.max(...reps.map((r) => r.maxHttpInFlight)),
            steps: reps.map((r) => r.steps),
        };
    };
    const baseline = of('baseline');
    const relay = of('relay');
    const ratio = (get) => get(relay) / get(baseline);
    const setups = Object.keys(SETUPS).filter((kind) => runs[kind] && runs[kind].length).map((kind) => {
        const t = throughputOf(runs[kind]);
        return { kind, ...SETUPS[kind], ...t, ratio: t.throughput / baseline.throughput };
    });
    // The goal compares like with like: the set-up doing the floor's work (no order, no id map).
    const likeForLike = setups.find((row) => row.kind === 'relay-unordered') || setups.find((row) => row.kind === 'relay');
    return {
        baseline,
        relay,
        setups,
        likeForLike,
        ratios: {
            out: { p50: ratio((s) => s.out.p50), p95: ratio((s) => s.out.p95), p99: ratio((s) => s.out.p99) },
            in: { p50: ratio((s) => s.in.p50), p95: ratio((s) => s.in.p95), p99: ratio((s) => s.in.p99) },
            throughput: ratio((s) => s.throughput),
            nodeUs: ratio((s) => s.nodeUs),
            denoUs: ratio((s) => s.denoUs),
            cpu: (relay.nodeUs + relay.denoUs) / (baseline.nodeUs + baseline.denoUs),
        },
    };
}

function summarize(results) {
    return { ...results, floorSummary: floorSummary(results.floor) };
}

/** Rows of cells → aligned text (console) or a Markdown table. */
function table(header, rows, markdown) {
    const all = [header, ...rows].map((row) => row.map(String));
    if (markdown) {
        return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...all.slice(1).map((row) => `| ${row.join(' | ')} |`)].join('\n');
    }
    const widths = header.map((_, i) => Math.max(...all.map((row) => row[i].length)));
    return all.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ')).join('\n');
}

const verdict = (ok) => (ok ? 'met' : 'MISSED');
const ms3 = (s) => `${fixed(s.p50)} / ${fixed(s.p95)} / ${fixed(s.p99)}`;
const ratio3 = (s) => `${fixed(s.p50)} / ${fixed(s.p95)} / ${fixed(s.p99)}`;
/** Goals are judged on the ratios as printed (two decimals), so the verdict matches the table. */
const shown = (value) => Number(value.toFixed(2));
const latencyOk = (s) => shown(s.p50) <= GOALS.latencyRatio && shown(s.p95) <= GOALS.latencyRatio;

function breakdown(rpc, digits = 2) {
    return Object.entries(rpc).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${fixed(v, digits)}`).join(', ');
}

/** Per-message calls of the last repetition's counting phase, by short name. */
function perMessageCalls(calls) {
    return perMessage(calls.rpc, calls.messages).calls;
}

function tables(summary, markdown) {
    const f = summary.floorSummary;
    const sections = [];
    sections.push({
        title: `1. Floor (baseline app) vs Relay Bridge — medians of ${f.relay.reps} interleaved repetitions`,
        body: table(['metric', 'baseline', 'Relay Bridge', 'ratio', 'goal'], [
            ['outbound latency p50 / p95 / p99 (ms)', ms3(f.baseline.out), ms3(f.relay.out), ratio3(f.ratios.out), `≤ ${GOALS.latencyRatio} (p50, p95): ${verdict(latencyOk(f.ratios.out))}`],
            ['inbound latency p50 / p95 / p99 (ms)', ms3(f.baseline.in), ms3(f.relay.in), ratio3(f.ratios.in), `≤ ${GOALS.latencyRatio} (p50, p95): ${verdict(latencyOk(f.ratios.in))}`],
            ['sustained throughput (msg/s), as installed: strict order, id map', `${fixed(f.baseline.throughput, 0)} (${f.baseline.throughputs.map((t) => fixed(t, 0)).join(', ')})`, `${fixed(f.relay.throughput, 0)} (${f.relay.throughputs.map((t) => fixed(t, 0)).join(', ')})`, fixed(f.ratios.throughput), 'see 1b'],
            ['CPU per message, Node host (µs)', fixed(f.baseline.nodeUs, 0), fixed(f.relay.nodeUs, 0), fixed(f.ratios.nodeUs), ''],
            ['CPU per message, Deno app (µs)', fixed(f.baseline.denoUs, 0), fixed(f.relay.denoUs, 0), fixed(f.ratios.denoUs), ''],
            ['most HTTP requests in flight at once (ramp)', f.baseline.maxHttpInFlight, f.relay.maxHttpInFlight, '', ''],
            ['round trips per outbound message', fixed(f.baseline.outRoundTrips), fixed(f.relay.outRoundTrips), '', ''],
            ['round trips per inbound request', fixed(f.baseline.inRoundTrips), fixed(f.relay.inRoundTrips), '', ''],
        ], markdown),
    });
    sections.push({
        title: `1b. Sustained throughput by set-up — medians of ${f.relay.reps} interleaved repetitions (msg/s until the sink rate stops rising)`,
        body: table(['set-up', 'keeps', 'throughput (each repetition)', 'ratio to the floor', 'goal', 'most requests in flight', 'messages out of order at the sink', 'CPU µs/msg Node + Deno'], f.setups.map((row) => [
            row.label,
            row.keeps,
            `${fixed(row.throughput, 0)} (${row.throughputs.map((t) => fixed(t, 0)).join(', ')})`,
            row.kind === 'baseline' ? '' : fixed(row.ratio),
            row === f.likeForLike ? `≥ ${GOALS.throughputRatio}: ${verdict(shown(row.ratio) >= GOALS.throughputRatio)}` : '',
            row.maxHttpInFlight,
            row.outOfOrder,
            `${fixed(row.nodeUs, 0)} + ${fixed(row.denoUs, 0)}`,
        ]), markdown),
    });
    sections.push({
        title: '2. Round trips (app → host RPCs) per relayed message, webhook targets',
        body: table(['targets', 'edit tracking', 'event', 'requests per target', 'round trips', 'goal', 'by bridge [record kind]', 'timer-driven, in this phase', 'host bridge calls', 'engine → app calls'], summary.roundTrips.map((row) => [
            row.targets,
            row.trackEdits === false ? 'off (`track_edits: false`)' : 'on (default)',
            row.event,
            row.relayed === undefined ? 'n/a' : fixed(row.relayed),
            fixed(row.roundTrips),
            // Per target at most: the request, the write-ahead entry, the read of the destination's backlog (alone: until it is known clean), its removal; one id map per message.
            row.event === 'sent' ? `≤ ${4 * row.targets + 1}: ${verdict(row.roundTrips <= 4 * row.targets + 1 + 0.01)}` : '',
            breakdown(row.calls),
            row.periodicTrips ? `${fixed(row.periodicTrips)} (${breakdown(row.periodic)})` : '0',
            fixed(row.bridgeCalls),
            fixed(row.intoApp),
        ]), markdown),
    });
    sections.push({
        title: `3. Core at scale: ${summary.scale.length ? '5 000 rooms' : ''}, rule matching and configuration load (Node, transpiled core)`,
        body: table(['rules', 'routes', 'config size', 'load: parse + index (ms)', 'match (µs/msg)', 'plan incl. templates (µs/msg)', 'targets/msg', 'goal'], summary.scale.map((row) => [
            row.rules,
            row.routes,
            `${fixed(row.configKiB, 0)} KiB`,
            `${fixed(row.parseMs + row.indexMs, 1)} (${fixed(row.parseMs, 1)} + ${fixed(row.indexMs, 1)})`,
            fixed(row.matchUs),
            fixed(row.planUs),
            fixed(row.targetsPerMessage),
            `< ${GOALS.matchUs} µs: ${verdict(row.matchUs < GOALS.matchUs)}`,
        ]), markdown),
    });
    sections.push({
        title: '4. Fan-out: one message, time until the first and the last target received it (ms)',
        body: table(['targets', 'first p50', 'last p50', 'last p95', 'last p99'], summary.fanOut.map((row) => [row.targets, fixed(row.first.p50), fixed(row.last.p50), fixed(row.last.p95), fixed(row.last.p99)]), markdown),
    });
    if (summary.deadBacklog) {
        sections.push({
            title: '4b. A dead target\'s backlog beside a healthy target: the healthy target\'s delay (ms), one message at a time',
            body: table(['dead target\'s entries in the outbox', 'p50', 'p95', 'p99'], summary.deadBacklog.map((row) => [row.backlog, fixed(row.delay.p50), fixed(row.delay.p95), fixed(row.delay.p99)]), markdown),
        });
    }
    sections.push({
        title: `5. Memory of the app's Deno runtime, ${summary.memory[0].messages} relayed messages`,
        body: table(['app', 'RSS after start → after (MiB)', 'peak RSS (VmHWM)', 'live JS heap after GC: start → after (MiB)', 'heap growth per message (bytes)', 'round trips made', 'leftover runtime listener entries (`response:<id>`)', 'heap growth per round trip (bytes)', 'along the way (messages: RSS / heap MiB)'], summary.memory.map((m) => [
            m.kind === 'relay' ? 'Relay Bridge' : m.kind,
            `${fixed(m.startMiB, 1)} → ${fixed(m.afterMiB, 1)}`,
            fixed(m.peakMiB, 1),
            `${fixed(m.heapStartMiB, 2)} → ${fixed(m.heapAfterMiB, 2)}`,
            fixed(((m.heapAfterMiB - m.heapStartMiB) * 2 ** 20) / m.messages, 0),
            m.roundTrips,
            m.responseKeys,
            fixed(((m.heapAfterMiB - m.heapStartMiB) * 2 ** 20) / m.roundTrips, 0),
            m.series.map((p) => `${p.messages}: ${fixed(p.rssMiB, 0)} / ${fixed(p.heapMiB, 1)}`).join(', '),
        ]), markdown),
    });
    const s = summary.sustained;
    const lossless = s.missing === 0 && s.duplicates === 0 && s.delivered === s.expected;
    sections.push({
        title: `6. Sustained load: ${s.rate} msg/s for ${s.seconds} s through ${s.targets} targets`,
        body: table(['sent', 'expected deliveries', 'delivered', 'missing', 'duplicates', 'zero loss', 'last-target latency p50 / p99 / max (ms)', 'drained after load (s)', 'deliveries/s overall', 'app errors', 'engine listener errors'], [[
            s.sent, s.expected, s.delivered, s.missing, s.duplicates, verdict(lossless), `${fixed(s.latency.p50, 1)} / ${fixed(s.latency.p99, 1)} / ${fixed(s.maxLatency, 0)}`, fixed(s.drainSeconds, 1), fixed(s.deliveryRate, 0), s.errors, s.listenerErrors,
        ]], markdown),
    });
    return sections;
}

function renderConsole(summary) {
    const warning = busyWarning(summary).replace(/^> /, '').replace(/\*\*/g, '');
    return `${warning}${tables(summary, false).map((section) => `${section.title}\n${section.body}`).join('\n\n')}`;
}

function machineLine(m) {
    return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.os}; Node ${m.node}, Deno ${m.deno}, Apps-Engine ${m.engine} (local host)`;
}

function notes(summary) {
    const f = summary.floorSummary;
    const like = f.likeForLike;
    const out = [];
    const relayOut = perMessageCalls(f.relay.outCalls);
    const baseOut = perMessageCalls(f.baseline.outCalls);
    const relayIn = perMessageCalls(f.relay.inCalls);
    const baseIn = perMessageCalls(f.baseline.inCalls);
    out.push(`- **Where an outbound message goes.** The engine makes ${fixed(sum(f.relay.outCalls.appCalls) / f.relay.outCalls.messages, 0)} calls into the app per message (check + execute) for both apps. Then the baseline makes ${fixed(f.baseline.outRoundTrips)} round trip(s) back (${breakdown(baseOut)}), Relay Bridge ${fixed(f.relay.outRoundTrips)} (${breakdown(relayOut)}): the outbox entry written before the request (write-ahead: a runtime killed mid-stream loses nothing), a read after the write for order across Rocket.Chat instances (the destination's backlog; once a lone instance has found it holding nothing of anyone else's, just the few presence records that show it is still alone), the entry's removal, and the message-map write that lets edits, deletes and thread replies find the remote message later (none with \`track_edits: false\`, see section 2).`);
    const avoidable = [];
    if (relayIn['settings.getValueById']) avoidable.push(`${fixed(relayIn['settings.getValueById'], 0)} settings read(s) (max file size, inbound rate limit) that the configuration cache could hold`);
    if (relayIn['userReader.getAppUser']) avoidable.push('the app user lookup, which the outbound path already caches');
    out.push(`- **Inbound.** Baseline: ${breakdown(baseIn)} (the engine looks the app user up itself when a message has no sender). Relay Bridge: ${breakdown(relayIn)}.${avoidable.length ? ` Per request it repeats ${avoidable.join(', and ')}.` : ''}`);
    out.push(`- **CPU.** Per relayed message the Node side (engine, bridges, HTTP client and the sink, all in one process) spends ${fixed(f.baseline.nodeUs, 0)} µs for the baseline and ${fixed(f.relay.nodeUs, 0)} µs for Relay Bridge; the app's Deno process ${fixed(f.baseline.denoUs, 0)} µs vs ${fixed(f.relay.denoUs, 0)} µs. Relay Bridge costs ${fixed(f.ratios.cpu)}× the floor's CPU per message in total${like !== f.setups.find((row) => row.kind === 'relay') ? ` (doing the floor's work, ${fixed((like.nodeUs + like.denoUs) / (f.baseline.nodeUs + f.baseline.denoUs))}×)` : ''}. Measured at ${summary.plan.floor.cpu.rate} msg/s; it is not a bound on throughput (the floor-like set-up reached ${fixed(like.ratio)} of the floor's throughput in 1b).`);
    if (shown(like.ratio) < GOALS.throughputRatio) {
        out.push(`- **Throughput goal missed** (${fixed(like.ratio)} < ${GOALS.throughputRatio} for ${like.label}): medians ${fixed(like.throughput, 0)} vs ${fixed(f.baseline.throughput, 0)} msg/s; per repetition baseline ${f.baseline.throughputs.map((t) => fixed(t, 0)).join(', ')}, Relay Bridge ${like.throughputs.map((t) => fixed(t, 0)).join(', ')}. The CPU ratio above (${fixed(f.ratios.cpu)}) is the steadier measure of the overhead; the spread between repetitions shows how much of the gap is noise.`);
    }
    const rooms = f.setups.find((row) => row.kind === 'relay-rooms');
    const baseRow = f.setups.find((row) => row.kind === 'baseline');
    out.push(`- **Order is what limits one destination, not overhead.** The floor fires every message at once (up to ${f.baseline.maxHttpInFlight} requests in flight; ${baseRow ? baseRow.outOfOrder : 'n/a'} messages reached the sink after a later one). Relay Bridge as installed gives each destination (instance + channel) one request at a time so its messages arrive in the order they were sent (${f.setups.find((row) => row.kind === 'relay').outOfOrder} out of order); one busy destination then does at most 1 / round trip — ${fixed(f.relay.throughput, 0)} msg/s here (ratio ${fixed(f.ratios.throughput)}) — and the sink rate stops rising there.${rooms ? ` Spread over ${rooms.rooms} rooms (${rooms.rooms} destinations, each in order) it reaches ${fixed(rooms.throughput, 0)} msg/s (ratio ${fixed(rooms.ratio)}), ${rooms.outOfOrder} out of order.` : ''} Doing the floor's work — no order between messages (\`max_in_flight: 32\`), no id map (\`track_edits: false\`) — it reaches ${fixed(like.throughput, 0)} msg/s, ratio ${fixed(like.ratio)} (${like.outOfOrder} out of order): that ratio is the relay's own overhead. Real services throttle one channel far below 1 / round trip (Slack incoming webhooks ≈ 1 message/s; Discord, Telegram, Matrix and Zulip answer 429 with a retry time), so order per destination costs nothing there; \`max_in_flight\` is for receivers that do not care about order, such as log collectors.`);
    const overloaded = f.setups.flatMap((row) => row.steps).some((steps) => steps.some((step) => step.delivered < step.offered * 0.6));
    if (overloaded) {
        out.push('- **Overload collapses both apps.** Past saturation the delivered rate falls well below the peak for the baseline too: the engine has no back-pressure, so every offered message becomes an in-flight request in both processes and the per-message cost rises. Throughput is therefore the best step, not the last.');
    }
    const s = summary.sustained;
    if (s.latency.p50 > 10 * f.relay.out.p50 && s.missing === 0 && s.duplicates === 0) {
        out.push(`- **Sustained load queued up, but nothing was lost.** ${s.rate} msg/s × ${s.targets} targets is ${s.rate * s.targets} deliveries/s; Relay Bridge as installed delivered ${fixed(s.deliveryRate, 0)}/s overall (${fixed(s.deliveryRate / s.targets, 0)} msg/s per target, each target taking one request at a time to keep the order), so the backlog grew for the whole run: last-target latency ${fixed(s.latency.p50 / 1000, 1)} s at p50 and ${fixed(s.maxLatency / 1000, 1)} s at worst, ${fixed(s.drainSeconds, 1)} s to drain after the load stopped. Every message still reached every target exactly once${s.listenerErrors ? `, although ${s.listenerErrors} listener calls outlived the engine's 30 s call timeout (the work continued in the runtime)` : ''}.`);
    }
    if (!(s.missing === 0 && s.duplicates === 0 && s.delivered === s.expected)) {
        out.push(`- **Sustained load lost or duplicated messages**: ${s.missing} missing, ${s.duplicates} duplicates out of ${s.expected}; app errors: ${s.errors}.`);
    }
    const scale = summary.scale;
    if (scale.length) {
        const last = scale[scale.length - 1];
        out.push(`- **Scale.** Matching looks up the room in maps (by id, by name) plus the wildcard list, so it stays at ${scale.map((r) => fixed(r.matchUs)).join(' / ')} µs for ${scale.map((r) => r.rules).join(' / ')} rules. "plan" also renders the templates of each matched target, so it grows with targets per message (${fixed(last.targetsPerMessage)} at ${last.rules} rules), not with rules. Loading ${last.rules} rules (${fixed(last.configKiB, 0)} KiB of JSON) takes ${fixed(last.parseMs + last.indexMs, 0)} ms, once per configuration change.`);
    }
    const memRelay = summary.memory.find((m) => m.kind === 'relay');
    const memBase = summary.memory.find((m) => m.kind === 'baseline');
    if (memRelay && memBase) {
        const perTrip = (m) => ((m.heapAfterMiB - m.heapStartMiB) * 2 ** 20) / m.roundTrips;
        out.push(`- **Memory: what grows is the engine's per-call residue, not the app.** After ${memRelay.messages} messages the live JS heap (after a forced full GC, read through the runtime's inspector) grew ${fixed(memRelay.heapAfterMiB - memRelay.heapStartMiB, 2)} MiB for Relay Bridge and ${fixed(memBase.heapAfterMiB - memBase.heapStartMiB, 2)} MiB for the baseline — ${fixed(perTrip(memRelay), 0)} and ${fixed(perTrip(memBase), 0)} bytes per round trip the app made (${memRelay.roundTrips} and ${memBase.roundTrips}). The heap snapshot holds ${memRelay.responseKeys} and ${memBase.responseKeys} \`response:<id>\` strings: the engine's Deno runtime (Apps-Engine 1.62, \`deno-runtime/lib/messenger.ts\`) waits for every app → server call on an EventTarget under a fresh event type, and Deno's EventTarget keeps an empty listener list per type after \`removeEventListener\`, so every call leaves its event type and an empty list behind for the life of the runtime (the per-round-trip figure in the table). Relay Bridge makes more calls per message than the baseline's one (section 2: the request, the write-ahead entry, the read of the destination's backlog, its removal and the id map), hence more growth; per round trip the growth is the baseline's, so nothing the app itself keeps grows measurably with messages (its caches are the configuration, each destination's line and counters per target). Rocket.Chat has since moved this wait to an emitter's \`once\` (RocketChat/Rocket.Chat#41125). RSS (${fixed(memRelay.startMiB, 0)} → ${fixed(memRelay.afterMiB, 0)} MiB for Relay Bridge, ${fixed(memBase.startMiB, 0)} → ${fixed(memBase.afterMiB, 0)} MiB for the baseline) is mostly heap V8 sized up under load and has not returned.`);
    }
    if (summary.idle) {
        out.push(`- **Timers.** Relay Bridge re-reads its settings every 30 s (a safety net: a change invalidates them at once), its \`/relay\` links every 5 s and flushes delivery counters at most every 5 s per target; section 2 lists these apart from the per-message calls because their share per message depends on the message rate. With no messages at all for ${summary.idle.seconds} s it made ${fixed(summary.idle.total)} round trips/s${summary.idle.total ? ` (${breakdown(summary.idle.perSecond)})` : ''}.`);
    }
    out.push(`- **Host artefacts.** The local host's persistence is indexed by association key, as Rocket.Chat's collection is; the benchmark still empties it between load steps so every step starts alike (the sustained run keeps all ${s.sent} message maps). The sink runs in the host's Node process and competes for the same ${summary.machine.cores} cores, as do any other processes on the machine (load average ${summary.loadBefore.map((l) => fixed(l)).join(' ')} before, ${summary.loadAfter.map((l) => fixed(l)).join(' ')} after the run).`);
    return out.join('\n');
}

/** Other processes competing for the CPU make every ratio noisier: say so next to the numbers. */
function busyWarning(summary) {
    // Only the load before the run: afterwards the average includes the benchmark itself.
    if (summary.loadBefore[0] < summary.machine.cores * 0.5) return '';
    return `> **The machine was busy when this run started** (1-minute load average ${fixed(summary.loadBefore[0])} on ${summary.machine.cores} cores): other processes competed for the CPU, so latencies and throughputs are noisier and lower than on an idle machine; the interleaved repetitions and the CPU-per-message and round-trip counts are the more reliable comparisons.\n\n`;
}

/** `separateNames`: the sections that can be measured alone (bench/run.js). */
function renderMarkdown(summary, separateNames) {
    const sections = tables(summary, true);
    const f = summary.floorSummary;
    const rawRows = Object.keys(summary.floor).flatMap((kind) => summary.floor[kind].map((r, i) => [
        kind, i + 1, r.outbound ? ms3(r.outbound) : '', r.inbound ? ms3(r.inbound) : '', fixed(r.throughput, 0), r.outOfOrder === undefined ? 'n/a' : r.outOfOrder, r.steps.map((s) => `${s.offered}→${fixed(s.delivered, 0)}`).join(' '), fixed(r.cpu.nodeUs, 0), fixed(r.cpu.denoUs, 0),
    ]));
    return `# Benchmarks

Relay Bridge against the runtime floor — a minimal app that does only what Relay Bridge must do
(one \`http.post\` per message; a room read and a message create per inbound request) — in the
same run on the same machine, plus round trips, scale, fan-out, memory and sustained load.
Generated by \`npm run bench\`${summary.quick ? ' **with BENCH_QUICK=1 (shortened smoke run: numbers are indicative only)**' : ''}; do not edit by hand.

## Reproduce

\`\`\`bash
npm ci
npm run bench                 # full run, ${summary.quick ? '10–15 minutes on 2 cores' : `about ${Math.max(1, Math.round(summary.minutes))} minutes here`}; writes this file
BENCH_QUICK=1 npm run bench   # smoke run, under 2 minutes; its report goes to the temp folder
npm run bench -- --only pacing       # one separate section (${separateNames.join(', ')}) measured again, in place
npm run bench -- --keep pacing       # everything else; that section stays as it is
BENCH_PACING_TIMES=1 npm run bench -- --only pacing   # also logs when each accepted request arrived (ms after the first post)
BENCH_PACING_ORDER=1 npm run bench -- --only pacing   # also logs each destination's arrival order
\`\`\`

Machine: ${machineLine(summary.machine)}.
Run took ${fixed(summary.minutes, 1)} minutes.

## How it measures

- Both apps run in the local host (\`host/\`: the real Apps-Engine 1.62.0 \`AppManager\` and Deno
  runtime, in-memory Rocket.Chat bridges), one host per app and repetition, stopped before the next
  starts; repetitions alternate baseline and the Relay Bridge set-ups, and the tables show medians.
- The baseline app is \`bench/baseline-app/\`, packaged by the same \`tools/package.js\`. Relay Bridge
  runs one rule: \`#general\` → a \`webhook\` instance at the same local sink (\`bench/lib/sink.js\`, a
  plain Node HTTP server answering 200). Throughput is also measured for two more set-ups (1b):
  the load spread over 8 rooms, each ruled to its own channel of that instance, and the instance
  set to \`max_in_flight: 32\`, \`track_edits: false\` (the floor's guarantees: no order, no id map).
- Order: the sink keeps each destination's arrivals (path + the rule's channel); a message counts
  as out of order when it arrives after one sent later to the same destination.
- Outbound latency: \`host.sendMessage\` (which fires IPostMessageSent) → the sink has the request,
  one message at a time. Inbound latency: HTTP request to the app's endpoint → response.
- Throughput: messages offered at a fixed rate, raised ×${summary.plan.floor.ramp.factor} per ${summary.plan.floor.ramp.stepMs / 1000} s step until the rate the
  sink receives stops rising; the best step counts. The backlog drains between steps.
- Memory: RSS from \`/proc\`, and the live JS heap after a forced full GC through the runtime's
  inspector (\`bench/lib/heap.js\` puts a \`deno\` shim on PATH that adds \`--inspect\`), plus a heap
  snapshot at the end.
- CPU per message: ${summary.plan.floor.cpu.rate} msg/s for ${summary.plan.floor.cpu.durationMs / 1000} s; Node via \`process.cpuUsage\`, Deno via \`/proc/<pid>/stat\`.
- Round trips: every request the app's Deno process makes to the host, counted host-side at the
  runtime controller (\`host.counters.rpc\`) and by bridge method (\`host.counters.bridges\`).
- Scale: \`src/core\` transpiled with \`typescript\`'s \`transpileModule\` and run in Node: 5 000 rooms,
  rules alternating room id / room name, plus one filtered \`*\` rule; "match" is
  \`RuleIndex.outboundRoutes\` + \`routeAccepts\`, "plan" is \`planDeliveries\` (matching + templates).

## Results

${busyWarning(summary)}${sections.map((section) => `### ${section.title}\n\n${section.body}`).join('\n\n')}

## Notes

${notes(summary)}

<details><summary>Every repetition of section 1</summary>

${table(['set-up', 'rep', 'outbound p50 / p95 / p99 (ms)', 'inbound p50 / p95 / p99 (ms)', 'throughput (msg/s)', 'out of order', 'steps offered→delivered (msg/s)', 'Node µs/msg', 'Deno µs/msg'], rawRows, true)}

</details>
`;
}

module.exports = { summarize, renderConsole, renderMarkdown, GOALS };
