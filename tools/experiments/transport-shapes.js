#!/usr/bin/env node
// Experiment: what shape does a request body the app sends take when it reaches the server's HTTP
// bridge, by size? Packages the app, relays uploads of several sizes to a Discord-like sink through
// the real runtime, and prints, per request, the body's class as the bridge sees it (Buffer or
// plain Uint8Array) next to what Rocket.Chat's server-fetch would send for it.
// Run: node tools/experiments/transport-shapes.js [size …]
'use strict';

const http = require('http');
const { packageApp } = require('../package');
const { LocalHost } = require('../../host/host');

const SIZES = process.argv.slice(2).map(Number);
const sizes = SIZES.length ? SIZES : [1000, 30000, 60000, 64000, 66000, 100000, 200000, 1000000, 5000000, 20000000];

async function main() {
    const sink = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
            res.writeHead(200, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify({ id: String(Date.now()) }));
        });
    });
    await new Promise((r) => sink.listen(0, '127.0.0.1', r));
    const host = new LocalHost({});
    await host.start();
    await host.installApp(packageApp({ quiet: true }));
    const seen = [];
    const bridge = host.bridges.getHttpBridge();
    const call = bridge.call.bind(bridge);
    bridge.call = (info) => {
        const c = info.request.content;
        seen.push({ at: Date.now(), length: c && c.length, shape: c == null ? typeof c : Buffer.isBuffer(c) ? 'Buffer' : c.constructor.name });
        return call(info);
    };
    await host.updateSetting('relay_config', JSON.stringify({
        instances: { dc: { type: 'discord', webhook_url: `http://127.0.0.1:${sink.address().port}/api/webhooks/1/t`, max_file_size: 30000000 } },
        rules: [{ from: { rocketchat: { room: '#general' } }, to: { dc: {} } }],
    }));
    console.log('| file bytes | body bytes | body arrives as | upload → request |');
    console.log('|---|---|---|---|');
    for (const size of sizes) {
        const before = seen.length;
        const start = Date.now();
        host.uploadFile({ roomId: 'GENERAL', name: 'f.bin', type: 'application/octet-stream', bytes: Buffer.alloc(size, 7) });
        const deadline = Date.now() + 30000;
        while (seen.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        const s = seen[before];
        console.log(`| ${size} | ${s ? s.length : '-'} | ${s ? s.shape : 'no request'} | ${s ? s.at - start : '-'} ms |`);
    }
    await host.stop();
    sink.close();
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
