// The app's JS heap as V8 sees it after a full garbage collection, read through the Deno
// runtime's inspector. RSS alone cannot tell a leak from heap V8 simply has not handed back;
// the live heap after a forced GC can. The engine starts `deno` from PATH, so a shim placed
// first on PATH adds `--inspect` on a port chosen per host start.
'use strict';

const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');
const { denoBinary } = require('../../host/paths');

const shimDir = path.join(os.tmpdir(), `relay-bridge-bench-deno-shim-${process.pid}`);

function freePort() {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
    });
}

/**
 * Makes the next Deno runtime the engine spawns listen for an inspector on a fresh local port;
 * returns the port. `undo()` takes the shim off PATH again.
 */
async function inspectNextRuntime() {
    const port = await freePort();
    fs.mkdirSync(shimDir, { recursive: true });
    const shim = path.join(shimDir, 'deno');
    fs.writeFileSync(shim, `#!/bin/sh\nif [ "$1" = run ]; then shift; exec "${denoBinary()}" run --inspect=127.0.0.1:${port} "$@"; fi\nexec "${denoBinary()}" "$@"\n`, { mode: 0o755 });
    const parts = process.env.PATH.split(path.delimiter).filter((p) => p !== shimDir);
    // The real Deno's folder goes right behind the shim, so the host does not put it in front.
    process.env.PATH = [shimDir, path.dirname(denoBinary()), ...parts].join(path.delimiter);
    return port;
}

function undoShim() {
    process.env.PATH = process.env.PATH.split(path.delimiter).filter((p) => p !== shimDir).join(path.delimiter);
    fs.rmSync(shimDir, { recursive: true, force: true });
}

function getJson(url) {
    return new Promise((resolve, reject) => {
        http.get(url, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                try {
                    resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
                } catch (e) {
                    reject(e);
                }
            });
        }).on('error', reject);
    });
}

/** A minimal Chrome DevTools Protocol session over Node's WebSocket (node --experimental-websocket on Node 20). */
async function connectInspector(port) {
    if (typeof WebSocket !== 'function') {
        throw new Error('WebSocket is not available: run Node 22+, or Node 20 with --experimental-websocket');
    }
    const targets = await getJson(`http://127.0.0.1:${port}/json/list`);
    if (!targets.length) throw new Error(`no inspector target on port ${port}`);
    const socket = new WebSocket(targets[0].webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
        socket.addEventListener('open', resolve, { once: true });
        socket.addEventListener('error', () => reject(new Error(`inspector on port ${port} refused the connection`)), { once: true });
    });
    let nextId = 1;
    const waiting = new Map();
    let snapshotChunks = [];
    socket.addEventListener('message', (event) => {
        const reply = JSON.parse(typeof event.data === 'string' ? event.data : Buffer.from(event.data).toString('utf8'));
        if (reply.method === 'HeapProfiler.addHeapSnapshotChunk') {
            snapshotChunks.push(reply.params.chunk);
            return;
        }
        const entry = reply.id !== undefined && waiting.get(reply.id);
        if (!entry) return;
        waiting.delete(reply.id);
        if (reply.error) entry.reject(new Error(`${entry.method}: ${reply.error.message}`));
        else entry.resolve(reply.result);
    });
    const send = (method, params = {}) => new Promise((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { method, resolve, reject });
        socket.send(JSON.stringify({ id, method, params }));
    });
    return {
        /** Live JS heap in MiB after two full collections (the second catches what finalizers freed). */
        async liveHeapMiB() {
            await send('HeapProfiler.collectGarbage');
            await send('HeapProfiler.collectGarbage');
            const usage = await send('Runtime.getHeapUsage');
            return { usedMiB: usage.usedSize / 2 ** 20, totalMiB: usage.totalSize / 2 ** 20 };
        },
        /**
         * Strings in a heap snapshot that start with `prefix`. The engine's Deno runtime (1.62) waits
         * for each of the app's calls on an EventTarget under the type `response:<call id>`; Deno's
         * EventTarget keeps an (empty) listener list per type after removeEventListener, so these
         * strings count the calls whose residue is still on the heap.
         */
        async countHeapStrings(prefix) {
            snapshotChunks = [];
            await send('HeapProfiler.collectGarbage');
            await send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
            const snapshot = JSON.parse(snapshotChunks.join(''));
            snapshotChunks = [];
            return snapshot.strings.filter((text) => text.startsWith(prefix)).length;
        },
        close() {
            socket.close();
        },
    };
}

module.exports = { inspectNextRuntime, undoShim, connectInspector };
