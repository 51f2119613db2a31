// A minimal target for the benchmarks: a plain Node HTTP server that accepts every request, answers
// 200 with a small JSON body, and records when each message id arrived on each path. Waiting is
// event-driven (no polling), so the sink adds as little as possible to the times it measures.
'use strict';

const http = require('http');
const { performance } = require('perf_hooks');

class BenchSink {
    constructor() {
        this.server = undefined;
        this.url = '';
        this.reset();
    }

    /** Forgets everything received so far. */
    reset() {
        this.total = 0;
        this.duplicates = 0;
        this.arrivals = new Map(); // messageId -> [performance.now() per arrival]
        this.byPath = new Map(); // path -> Set(messageId)
        this.lines = new Map(); // destination (path + the rule's channel) -> messageIds in arrival order
        this.waiters = new Map(); // messageId -> { count, resolve }
        this.countWaiters = [];
    }

    async start() {
        this.server = http.createServer((req, res) => {
            const chunks = [];
            req.on('data', (chunk) => chunks.push(chunk));
            req.on('end', () => {
                const at = performance.now();
                let payload;
                try {
                    payload = JSON.parse(Buffer.concat(chunks).toString('utf8'));
                } catch {
                    payload = {};
                }
                res.writeHead(200, { 'Content-Type': 'application/json' });
                res.end('{"ok":true}');
                const path = req.url.split('?')[0];
                this.record(path, payload.message_id, at, payload.channel ? `${path} ${JSON.stringify(payload.channel)}` : path);
            });
        });
        this.server.keepAliveTimeout = 60000;
        await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
        this.url = `http://127.0.0.1:${this.server.address().port}`;
        return this;
    }

    record(path, messageId, at, destination = path) {
        this.total += 1;
        if (messageId === undefined) return;
        let line = this.lines.get(destination);
        if (!line) this.lines.set(destination, (line = []));
        line.push(messageId);
        let ids = this.byPath.get(path);
        if (!ids) this.byPath.set(path, (ids = new Set()));
        if (ids.has(messageId)) this.duplicates += 1;
        ids.add(messageId);
        let times = this.arrivals.get(messageId);
        if (!times) this.arrivals.set(messageId, (times = []));
        times.push(at);
        const waiter = this.waiters.get(messageId);
        if (waiter && times.length >= waiter.count) {
            this.waiters.delete(messageId);
            waiter.resolve(times);
        }
        if (this.countWaiters.length) {
            this.countWaiters = this.countWaiters.filter((w) => {
                if (this.total < w.count) return true;
                w.resolve();
                return false;
            });
        }
    }

    /**
     * Messages that reached their destination after a message sent later to the same destination
     * (`sendIndex`: messageId → position in send order; other ids are ignored).
     */
    outOfOrder(sendIndex) {
        let late = 0;
        for (const line of this.lines.values()) {
            let newest = -1;
            for (const id of line) {
                const index = sendIndex.get(id);
                if (index === undefined) continue;
                if (index < newest) late += 1;
                else newest = index;
            }
        }
        return late;
    }

    /** Resolves with the arrival times once `count` requests carried `messageId`. */
    waitForMessage(messageId, count = 1, timeoutMs = 30000) {
        const times = this.arrivals.get(messageId);
        if (times && times.length >= count) return Promise.resolve(times);
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.waiters.delete(messageId);
                reject(new Error(`sink: message ${messageId} reached ${(this.arrivals.get(messageId) || []).length}/${count} targets in ${timeoutMs} ms`));
            }, timeoutMs);
            this.waiters.set(messageId, { count, resolve: (value) => { clearTimeout(timer); resolve(value); } });
        });
    }

    /** Resolves once `count` requests arrived in total; resolves false after `timeoutMs`. */
    waitForTotal(count, timeoutMs = 30000) {
        if (this.total >= count) return Promise.resolve(true);
        return new Promise((resolve) => {
            const timer = setTimeout(() => resolve(false), timeoutMs);
            this.countWaiters.push({ count, resolve: () => { clearTimeout(timer); resolve(true); } });
        });
    }

    async stop() {
        if (!this.server) return;
        this.server.closeAllConnections();
        await new Promise((resolve) => this.server.close(resolve));
    }
}

module.exports = { BenchSink };
