// Starts a local host (real AppManager + Deno runtime) with one app installed and pointed at a
// sink: Relay Bridge with a #general → webhook rule, or the baseline app. Packages both once.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { packageApp } = require('../../tools/package');
const { LocalHost } = require('../../host/host');
const { settle } = require('./load');

const BASELINE_DIR = path.join(__dirname, '..', 'baseline-app');
const INBOUND_TOKEN = 'bench-inbound-token-0123456789';
/** The room inbound posts go to: not routed outward, so posting does not also trigger a relay. */
const INBOUND_ROOM_ID = 'RANDOM';

/** Hash of everything the baseline zip is built from: its source and the packaging script. */
function baselineHash() {
    const hash = crypto.createHash('sha256');
    const add = (file) => hash.update(path.relative(BASELINE_DIR, file)).update(fs.readFileSync(file));
    const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name)).forEach((entry) => {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else add(full);
    });
    walk(BASELINE_DIR);
    add(require.resolve('../../tools/package'));
    return hash.digest('hex').slice(0, 16);
}

/**
 * Both zips, packaged in `workDir` (private: concurrent `npm test` runs restage the project's
 * .stage/). Relay Bridge is always packaged fresh; the baseline zip is reused while its source is
 * unchanged (rc-apps takes 4–20 s per app depending on how busy the machine is).
 */
function packageBoth(workDir) {
    const relay = packageApp({ workDir, quiet: true });
    const cached = path.join(os.tmpdir(), `relay-bridge-bench-baseline-${baselineHash()}.zip`);
    if (!fs.existsSync(cached)) {
        const built = packageApp({ appDir: BASELINE_DIR, workDir, quiet: true });
        fs.copyFileSync(built, `${cached}.tmp`);
        fs.renameSync(`${cached}.tmp`, cached);
    }
    return { relay, baseline: cached };
}

/** Stops a host once the app has gone quiet (a request answered into a killed runtime is an EPIPE). */
async function stopHost(host) {
    await settle(() => host.counters, 200, 15000);
    await host.stop();
}

/** Rooms the multi-room load spreads over (created in the host by `startApp`). */
const LOAD_ROOMS = Array.from({ length: 8 }, (_, i) => `LOADROOM${i}`);

/**
 * Relay configuration: #general → `targets` webhook instances at `<sink>/t<i>`.
 * `maxInFlight` / `trackEdits` set the instances' `max_in_flight` / `track_edits` (absent: the
 * defaults, strict order and edit tracking). `rooms: true` adds one rule per LOAD_ROOMS room to
 * hook0 with its own channel, so each room is its own destination line.
 */
function relayConfig(sinkUrl, targets = 1, { maxInFlight, trackEdits, rooms } = {}) {
    const instances = { bench_in: { type: 'inbound', token: INBOUND_TOKEN, rooms: ['#random'] } };
    const to = {};
    for (let i = 0; i < targets; i++) {
        instances[`hook${i}`] = { type: 'webhook', url: `${sinkUrl}/t${i}` };
        if (maxInFlight !== undefined) instances[`hook${i}`].max_in_flight = maxInFlight;
        if (trackEdits !== undefined) instances[`hook${i}`].track_edits = trackEdits;
        to[`hook${i}`] = {};
    }
    const rules = [{ from: { rocketchat: { room: '#general' } }, to }];
    if (rooms) {
        LOAD_ROOMS.forEach((roomId, i) => rules.push({ from: { rocketchat: { room_id: roomId } }, to: { hook0: { line: String(i) } } }));
    }
    return { instances, rules };
}

/**
 * The Relay Bridge set-ups section 1 compares with the floor: `relay` as installed (strict order
 * per destination, edit tracking), `relay-rooms` the same with the load spread over 8 rooms (8
 * destinations), `relay-unordered` doing the floor's work (no order kept, no id map).
 */
const RELAY_VARIANTS = {
    relay: {},
    'relay-rooms': { rooms: true },
    'relay-unordered': { maxInFlight: 32, trackEdits: false },
};

/** A started host with the app installed and configured; `host.benchErrors` counts app error logs. */
async function startApp(kind, zips, sinkUrl, { targets = 1, trackEdits } = {}) {
    const errors = [];
    const host = new LocalHost({
        onLog: (entry) => {
            for (const line of entry.entries || []) {
                if (line.severity === 'error') errors.push(line.args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
            }
        },
    });
    host.benchErrors = errors;
    // Engine-side failures of a listener call, e.g. the 30 s runtime timeout under a long backlog.
    host.benchListenerErrors = [];
    host.on('listenerError', (e) => host.benchListenerErrors.push(e && e.message ? e.message : String(e)));
    await host.start();
    for (const roomId of LOAD_ROOMS) {
        host.state.createRoom({ id: roomId, name: roomId.toLowerCase(), kind: 'channel', creatorId: host.admin.id, memberIds: [host.alice.id] });
    }
    if (kind !== 'baseline') {
        await host.installApp(zips.relay);
        // The benchmark posts far faster than a real source: lift the inbound rate limit (to a
        // rate it never reaches, so the limiter still runs) where the app has one.
        if (host.getSetting('inbound_rate_per_minute')) await host.updateSetting('inbound_rate_per_minute', 100000000);
        // The sink listens on loopback, which outbound requests may reach only when the admin allows it.
        if (host.getSetting('private_hosts_allowed') !== undefined) await host.updateSetting('private_hosts_allowed', '127.0.0.1');
        const variant = RELAY_VARIANTS[kind];
        if (!variant) throw new Error(`unknown app set-up "${kind}"`);
        const stored = await host.updateSetting('relay_config', JSON.stringify(relayConfig(sinkUrl, targets, { trackEdits, ...variant })));
        if (!/hook0/.test(stored)) throw new Error(`relay configuration refused: ${errors.join('; ')}`);
    } else {
        await host.installApp(zips.baseline);
        await host.updateSetting('sink_url', `${sinkUrl}/t0`);
    }
    return host;
}

/** What the app's inbound endpoint expects, for the same "post into #random" request. */
function inboundRequest(kind, host, text) {
    const url = `${host.siteUrl}/api/apps/public/${host.appId}/inbound`;
    if (kind !== 'baseline') {
        return { url, headers: { Authorization: `Bearer ${INBOUND_TOKEN}` }, body: { channel: '#random', text } };
    }
    return { url, headers: {}, body: { room_id: INBOUND_ROOM_ID, text } };
}

module.exports = { packageBoth, relayConfig, startApp, stopHost, inboundRequest, INBOUND_TOKEN, LOAD_ROOMS, RELAY_VARIANTS };
