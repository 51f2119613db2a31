#!/usr/bin/env node
// `npm run bench`: Relay Bridge against the runtime floor, round trips, core scale, fan-out,
// memory and sustained load, in one run on this machine. Prints the tables and writes
// docs/BENCHMARKS.md. BENCH_QUICK=1 shortens every phase (a smoke run: 1–2 minutes, most of it
// packaging when the machine is busy) and writes its report to the temp folder instead.
// `node bench/run.js --render <results.json>` rewrites the report from the raw results a
// previous run saved, without measuring.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const { packageBoth, startApp, stopHost } = require('./lib/apps');
const { BenchSink } = require('./lib/sink');
const { machineFacts } = require('./lib/machine');
const { runFloor } = require('./lib/floor');
const { roundTrips, fanOut, idleRoundTrips, deadBacklog } = require('./lib/targets');
const { runScale } = require('./lib/core');
const { memory, sustained } = require('./lib/endurance');
const { inspectNextRuntime, undoShim, connectInspector } = require('./lib/heap');
const { renderConsole, renderMarkdown, summarize } = require('./lib/report');
const { pacing, renderPacing } = require('./lib/pacing');
const { instances, renderInstances } = require('./lib/instances');
const { orderSettle, renderSettle } = require('./lib/settle');
const { packageApp } = require('../tools/package');

const QUICK = process.env.BENCH_QUICK === '1';

const PLAN = QUICK
    ? {
        floor: { repetitions: 3, latencySamples: 30, cpu: { rate: 100, durationMs: 1000 }, ramp: { startRate: 200, factor: 1.6, stepMs: 700, maxRate: 5000, flatSteps: 1 } },
        roundTrips: { targetCounts: [1, 3, 10], messages: 5, idleMs: 1000 },
        scale: { ruleCounts: [10, 1000, 10000], iterations: 20000, loadRepetitions: 2 },
        fanOut: { targetCounts: [1, 10, 50], messages: 8 },
        deadBacklog: { entries: 10000, messages: 20 },
        memory: { messages: 1000, window: 16 },
        sustained: { rate: 300, durationMs: 8000, targets: 3, drainMs: 60000 },
        instances: { repetitions: 1, ramp: { startRate: 200, factor: 1.6, stepMs: 1000, maxRate: 3000, flatSteps: 1 }, cost: { rate: 50, durationMs: 1000 } },
        settle: { latencies: [0, 5], rates: [20, 300], durationMs: 1000 },
    }
    : {
        floor: { repetitions: 5, latencySamples: 300, cpu: { rate: 100, durationMs: 5000 }, ramp: { startRate: 150, factor: 1.2, stepMs: 3000, maxRate: 5000, flatSteps: 2 } },
        roundTrips: { targetCounts: [1, 3, 10], messages: 50, idleMs: 10000 },
        scale: { ruleCounts: [10, 1000, 10000], iterations: 200000, loadRepetitions: 5 },
        fanOut: { targetCounts: [1, 10, 50], messages: 50 },
        deadBacklog: { entries: 10000, messages: 50 },
        memory: { messages: 10000, window: 16 },
        sustained: { rate: 300, durationMs: 60000, targets: 3, drainMs: 180000 },
        instances: { repetitions: 3, ramp: { startRate: 150, factor: 1.2, stepMs: 3000, maxRate: 5000, flatSteps: 2 }, cost: { rate: 100, durationMs: 5000 } },
        settle: { latencies: [0, 5, 20], rates: [20, 100, 300, 600], durationMs: 3000 },
    };

const runStart = performance.now();
const log = (line) => console.log(`[${((performance.now() - runStart) / 1000).toFixed(0).padStart(4)} s] ${line}`);

async function main() {
    const machine = machineFacts();
    const loadBefore = os.loadavg();
    log(`Relay Bridge benchmarks${QUICK ? ' (BENCH_QUICK=1: shortened)' : ''} on ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, Deno ${machine.deno}`);

    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-bridge-bench-'));
    const sink = await new BenchSink().start();
    const results = { quick: QUICK, plan: PLAN, machine, loadBefore };
    try {
        log('packaging Relay Bridge and the baseline app…');
        const zips = packageBoth(workDir);
        log('packaged');

        log('1. floor vs Relay Bridge (interleaved repetitions)');
        results.floor = await runFloor(zips, sink, PLAN.floor, log);

        log('3. core at scale');
        results.scale = runScale(PLAN.scale, log);

        log('5. memory (baseline, then Relay Bridge), 2. round trips, 4. fan-out (on the same Relay Bridge host)');
        results.memory = [];
        // Each host's runtime gets an inspector for the memory phase (live heap after GC).
        const inspected = async (kind) => {
            sink.reset();
            const port = await inspectNextRuntime();
            try {
                const started = await startApp(kind, zips, sink.url);
                return { host: started, inspector: await connectInspector(port) };
            } finally {
                undoShim();
            }
        };
        let { host, inspector } = await inspected('baseline');
        try {
            results.memory.push(await memory('baseline', host, sink, PLAN.memory, inspector, log));
        } finally {
            inspector.close();
            await stopHost(host);
        }
        ({ host, inspector } = await inspected('relay'));
        try {
            results.memory.push(await memory('relay', host, sink, PLAN.memory, inspector, log));
            inspector.close();
            results.idle = await idleRoundTrips(host, PLAN.roundTrips.idleMs, log);
            results.roundTrips = await roundTrips(host, sink, PLAN.roundTrips, log);
            results.fanOut = await fanOut(host, sink, PLAN.fanOut, log);
            results.deadBacklog = await deadBacklog(host, sink, PLAN.deadBacklog, log);
        } finally {
            await stopHost(host);
        }

        log(`6. sustained load: ${PLAN.sustained.rate} msg/s for ${PLAN.sustained.durationMs / 1000} s through ${PLAN.sustained.targets} targets`);
        sink.reset();
        host = await startApp('relay', zips, sink.url, { targets: PLAN.sustained.targets });
        try {
            results.sustained = await sustained(host, sink, PLAN.sustained, log);
        } finally {
            await stopHost(host);
        }

        for (const name of Object.keys(SEPARATE).filter((n) => !KEEP.includes(n))) {
            results[name] = await measureSeparate(name, zips.relay, machine);
        }
    } finally {
        await sink.stop();
        fs.rmSync(workDir, { recursive: true, force: true });
    }
    results.loadAfter = os.loadavg();
    results.minutes = (performance.now() - runStart) / 60000;

    // Raw results, so the report can be re-rendered without measuring again (`--render <file>`).
    const raw = path.join(os.tmpdir(), 'relay-bridge-bench-results.json');
    fs.writeFileSync(raw, JSON.stringify(results));
    log(`raw results: ${raw}`);
    report(results);
}

function report(results) {
    const summary = summarize(results);
    console.log('');
    console.log(renderConsole(summary));
    const docs = reportPath(results.quick);
    fs.mkdirSync(path.dirname(docs), { recursive: true });
    const before = fs.existsSync(docs) ? fs.readFileSync(docs, 'utf8') : '';
    const separate = Object.keys(SEPARATE).map((name) => (results[name] ? separateSection(name, results[name]) : KEEP.includes(name) ? keptSection(before, name) : '')).filter(Boolean);
    fs.writeFileSync(docs, renderMarkdown(summary, Object.keys(SEPARATE)) + separate.join(''));
    console.log(`\nwrote ${path.relative(process.cwd(), docs)} (${results.minutes.toFixed(1)} min)`);
}

/** A smoke run never replaces the full run's report. */
function reportPath(quick) {
    return quick ? path.join(os.tmpdir(), 'BENCHMARKS.quick.md') : path.join(__dirname, '..', 'docs', 'BENCHMARKS.md');
}

/**
 * Sections that can also be measured alone (`npm run bench -- --only <name>`): each sits between
 * its own markers in the report, so measuring one again replaces just that section.
 */
const SEPARATE = {
    pacing: {
        title: "7. pacing by each service's limits",
        measure: (zip, log) => pacing(zip, { quick: QUICK }, log),
        render: (result) => renderPacing(result),
    },
    instances: {
        title: '8. several instances: one vs two',
        measure: (zip, log) => instances(zip, PLAN.instances, log),
        render: (result) => renderInstances(result.runs, result.machineFacts, result.costRate),
    },
    settle: {
        title: '9. the order wait across instances: how late an entry lands',
        measure: (zip, log) => orderSettle(zip, PLAN.settle, log),
        render: (result) => renderSettle(result),
    },
};

function markers(name) {
    return [`<!-- ${name}: written by \`npm run bench\` or \`npm run bench -- --only ${name}\` -->`, `<!-- ${name} end -->`];
}

/** A section as the report has it now (`--keep <name>`), markers included; empty if it has none. */
function keptSection(report, name) {
    const [start, end] = markers(name);
    const from = report.indexOf(start);
    const to = report.indexOf(end);
    return from >= 0 && to > from ? `\n${report.slice(from, to + end.length)}\n` : '';
}

function separateSection(name, result) {
    const [start, end] = markers(name);
    return `\n${start}\n${SEPARATE[name].render(result)}\n\nReproduce: \`npm run bench -- --only ${name}\` (${result.minutes ? `${result.minutes.toFixed(1)} min, ` : ''}${result.machine || ''}).\n${end}\n`;
}

/** Measures one separate section; `minutes` is the section's own time. */
async function measureSeparate(name, zip, machine) {
    const began = performance.now();
    log(SEPARATE[name].title);
    const result = await SEPARATE[name].measure(zip, log);
    result.minutes = (performance.now() - began) / 60000;
    result.machine = `${machine.cpu}, ${machine.cores} cores`;
    result.machineFacts = machine;
    return result;
}

/** `--only <name>`: measures one separate section and replaces it in the report. */
async function onlySection(name) {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-bridge-bench-'));
    try {
        const machine = machineFacts();
        log('packaging Relay Bridge…');
        const zip = packageApp({ workDir, quiet: true });
        const result = await measureSeparate(name, zip, machine);
        console.log(`\n${SEPARATE[name].render(result)}`);
        const docs = reportPath(QUICK);
        const before = fs.existsSync(docs) ? fs.readFileSync(docs, 'utf8') : '';
        const [startMark, endMark] = markers(name);
        const start = before.indexOf(startMark);
        const end = before.indexOf(endMark);
        const kept = start >= 0 && end > start ? before.slice(0, start).replace(/\n+$/, '\n') + before.slice(end + endMark.length).replace(/^\n+/, '') : before;
        fs.writeFileSync(docs, kept.replace(/\n*$/, '\n') + separateSection(name, result));
        console.log(`\nwrote ${path.relative(process.cwd(), docs)}`);
    } finally {
        fs.rmSync(workDir, { recursive: true, force: true });
    }
}

/** `--keep <name>` (repeatable): a full run that leaves that separate section as the report has it. */
const KEEP = process.argv.flatMap((arg, i) => (arg === '--keep' ? [process.argv[i + 1]] : []));
const renderIndex = process.argv.indexOf('--render');
const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex > 0 ? process.argv[onlyIndex + 1] : undefined;
if ((only !== undefined && !SEPARATE[only]) || KEEP.some((name) => !SEPARATE[name])) {
    console.error(`--only / --keep: the separate sections are ${Object.keys(SEPARATE).map((n) => `"${n}"`).join(', ')}`);
    process.exit(2);
}
const run = renderIndex > 0 ? async () => report(JSON.parse(fs.readFileSync(process.argv[renderIndex + 1], 'utf8'))) : only ? () => onlySection(only) : main;

run().then(
    () => process.exit(0), // the engine leaves timers behind; the run is complete
    (e) => {
        console.error(e && e.stack ? e.stack : e);
        process.exit(1);
    },
);
