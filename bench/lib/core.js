// Section 3: the pure core at scale, in plain Node. The core's TypeScript (src/core, plus the
// target registry it validates instances with) is transpiled file by file with `typescript`'s
// transpileModule into a temporary folder and required from there: no type check, no build step.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const ts = require('typescript');
const { median, percentile } = require('./stats');

const SRC = path.resolve(__dirname, '..', '..', 'src');
const ENTRY_POINTS = ['core/config.ts', 'core/relay.ts', 'core/rules.ts', 'targets/index.ts'];
const IMPORT = /(?:import|export)\s[^'"]*?from\s+'(\.{1,2}\/[^']+)'|require\('(\.{1,2}\/[^']+)'\)/g;

/** Transpiles the entry points and every relative import they reach; returns the output folder. */
function transpileCore() {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-bridge-core-'));
    const pending = ENTRY_POINTS.map((file) => path.join(SRC, file));
    const done = new Set();
    while (pending.length) {
        const file = pending.pop();
        if (done.has(file)) continue;
        done.add(file);
        const source = fs.readFileSync(file, 'utf8');
        const output = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2019, esModuleInterop: true }, fileName: file });
        const target = path.join(outDir, path.relative(SRC, file)).replace(/\.ts$/, '.js');
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, output.outputText);
        for (const match of source.matchAll(IMPORT)) {
            const base = path.resolve(path.dirname(file), match[1] || match[2]);
            const resolved = [`${base}.ts`, path.join(base, 'index.ts')].find((candidate) => fs.existsSync(candidate));
            if (resolved) pending.push(resolved);
        }
    }
    return outDir;
}

function loadCore() {
    const dir = transpileCore();
    const load = (name) => require(path.join(dir, name));
    const core = {
        dir,
        ...load('core/config.js'),
        ...load('core/relay.js'),
        ...load('core/rules.js'),
        targetRegistry: load('targets/index.js').targetRegistry,
    };
    return core;
}

const ROOMS = 5000;
const TARGET_INSTANCES = 10;

/**
 * `ruleCount` forward rules over ROOMS rooms (half addressed by id, half by name), each to one of
 * TARGET_INSTANCES webhook instances with its own channel, plus one filtered wildcard rule.
 */
function scaleConfigText(ruleCount) {
    const instances = {};
    for (let i = 0; i < TARGET_INSTANCES; i++) instances[`hook${i}`] = { type: 'webhook', url: `https://hooks.example.com/h${i}` };
    const rules = [{ from: { rocketchat: { room: '*' } }, to: { hook0: { all: 'yes' } }, filter: { match: '^!announce' } }];
    for (let i = 0; i < ruleCount - 1; i++) {
        const room = i % ROOMS;
        const from = i % 2 === 0 ? { room_id: `R${room}` } : { room: `#room-${room}` };
        rules.push({ from: { rocketchat: from }, to: { [`hook${i % TARGET_INSTANCES}`]: { n: String(i) } }, msg: { webhook_title: '{user} in #{room}' } });
    }
    return JSON.stringify({ instances, rules });
}

function messageIn(room) {
    return {
        event: 'sent',
        id: `M${room}`,
        text: 'hello from the benchmark',
        sender: { id: 'u1', username: 'alice', displayName: 'Alice', avatarUrl: 'https://chat.example.com/avatar/alice', isBot: false },
        room: { id: `R${room}`, name: `room-${room}`, kind: 'channel' },
        files: [],
        timestamp: new Date(0).toISOString(),
        isSystem: false,
        siteUrl: 'https://chat.example.com',
    };
}

/** µs per call of `fn(message)` over `iterations` messages cycling through every room. */
function timePerMessage(fn, messages, iterations) {
    for (let i = 0; i < Math.min(iterations, 20000); i++) fn(messages[i % messages.length]); // warm-up (JIT)
    const batches = [];
    const batch = 1000;
    let sink = 0;
    for (let done = 0; done < iterations; done += batch) {
        const t0 = performance.now();
        for (let i = done; i < done + batch; i++) sink += fn(messages[(i * 7919) % messages.length]);
        batches.push(((performance.now() - t0) * 1000) / batch);
    }
    if (sink < 0) throw new Error('unreachable'); // keeps the results alive
    return { mean: batches.reduce((a, b) => a + b, 0) / batches.length, p99Batch: percentile(batches, 99) };
}

function runScale({ ruleCounts, iterations, loadRepetitions }, log) {
    const core = loadCore();
    const messages = [];
    for (let room = 0; room < ROOMS; room++) messages.push(messageIn(room));
    const results = [];
    try {
        for (const ruleCount of ruleCounts) {
            const text = scaleConfigText(ruleCount);
            const parseTimes = [];
            const indexTimes = [];
            let config;
            let active;
            for (let rep = 0; rep < loadRepetitions; rep++) {
                const t0 = performance.now();
                config = core.parseRelayConfig(text, core.targetRegistry);
                const t1 = performance.now();
                active = core.activate(config);
                indexTimes.push(performance.now() - t1);
                parseTimes.push(t1 - t0);
            }
            const match = timePerMessage((message) => active.index.outboundRoutes(message.room).filter((route) => core.routeAccepts(route, message)).length, messages, iterations);
            const plan = timePerMessage((message) => core.planDeliveries(active, message).length, messages, iterations);
            const routesPerMessage = messages.reduce((n, m) => n + core.planDeliveries(active, m).length, 0) / messages.length;
            const result = {
                rules: ruleCount,
                routes: config.routes.length,
                configKiB: text.length / 1024,
                parseMs: median(parseTimes),
                indexMs: median(indexTimes),
                matchUs: match.mean,
                planUs: plan.mean,
                targetsPerMessage: routesPerMessage,
            };
            results.push(result);
            log(`  ${String(ruleCount).padStart(6)} rules: load ${(result.parseMs + result.indexMs).toFixed(1)} ms, match ${result.matchUs.toFixed(2)} µs, plan ${result.planUs.toFixed(2)} µs`);
        }
    } finally {
        fs.rmSync(core.dir, { recursive: true, force: true });
    }
    return results;
}

module.exports = { runScale, loadCore, scaleConfigText };
