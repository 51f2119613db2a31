// Load generation: messages sent into a host room at a fixed offered rate (open loop: the sender
// never waits for the app, as Rocket.Chat users never wait for apps).
'use strict';

const { performance } = require('perf_hooks');

const TICK_MS = 4;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends `rate` messages per second for `durationMs` into `roomIds` (in turn). Resolves with the
 * ids and send times once the last one is sent. `onTick(elapsedMs)` runs on every tick (for
 * windowed counting). `host` may be several instances (an array): each room's messages then go
 * through them in turn, each in a millisecond of its own (see inOwnMillisecond).
 */
async function offerLoad(host, { rate, durationMs, roomIds = ['GENERAL'], onTick }) {
    const hosts = Array.isArray(host) ? host : [host];
    const ids = [];
    const sentAt = [];
    const total = Math.round((rate * durationMs) / 1000);
    const start = performance.now();
    const prefix = `${Math.round(start)}-`;
    while (ids.length < total) {
        const elapsed = performance.now() - start;
        const due = Math.min(total, Math.floor((elapsed * rate) / 1000) + 1);
        while (ids.length < due) {
            const i = ids.length;
            const send = () => hosts[Math.floor(i / roomIds.length) % hosts.length].sendMessage({ roomId: roomIds[i % roomIds.length], text: `load ${prefix}${i}` });
            // Only a room's own previous message must be in another millisecond.
            const message = hosts.length > 1 ? inOwnMillisecond(roomIds[i % roomIds.length], send) : send();
            ids.push(message.id);
            sentAt.push(performance.now());
        }
        if (onTick) onTick(elapsed);
        await sleep(TICK_MS);
    }
    return { ids, sentAt, elapsedMs: performance.now() - start };
}

/** Resolves once `check()` has returned the same value for `quietMs` (counters settled). */
async function settle(check, quietMs = 150, timeoutMs = 10000) {
    const deadline = performance.now() + timeoutMs;
    let last = JSON.stringify(check());
    let since = performance.now();
    while (performance.now() < deadline) {
        await sleep(20);
        const now = JSON.stringify(check());
        if (now !== last) {
            last = now;
            since = performance.now();
        } else if (performance.now() - since >= quietMs) {
            return;
        }
    }
}

/** The millisecond of the previous call, per key. */
const lastSendMs = new Map();

/**
 * Runs `send` (posting one message) in a millisecond after the one in which the previous `send`
 * of `key` returned: Rocket.Chat stamps messages in milliseconds, so two posted on different
 * instances in one millisecond have no order to keep, and the benchmark must not count them as
 * reordered. The mark is taken after `send` returns — a post that starts in one millisecond may be
 * stamped in the next (before, the next post could share that stamp: 2–6 "reordered" per step of
 * section 8 were such ties).
 */
function inOwnMillisecond(key, send) {
    const last = lastSendMs.get(key) || 0;
    while (Date.now() <= last) {
        // spin: the next millisecond is at most one away
    }
    const result = send();
    lastSendMs.set(key, Date.now());
    return result;
}

module.exports = { offerLoad, settle, sleep, inOwnMillisecond };
