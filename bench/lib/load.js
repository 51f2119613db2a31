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
 * through them in turn, each in a millisecond of its own (see nextMillisecond).
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
            if (hosts.length > 1) nextMillisecond(roomIds[i % roomIds.length]); // only a room's own previous message must be in another millisecond
            const message = hosts[Math.floor(i / roomIds.length) % hosts.length].sendMessage({ roomId: roomIds[i % roomIds.length], text: `load ${prefix}${i}` });
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
 * Waits (busy, under a millisecond) until the clock has left the millisecond of the previous call:
 * Rocket.Chat stamps messages in milliseconds, so two posted on different instances in one
 * millisecond have no order to keep, and the benchmark must not count them as reordered.
 */
function nextMillisecond(key = '') {
    const last = lastSendMs.get(key) || 0;
    while (Date.now() <= last) {
        // spin: the next millisecond is at most one away
    }
    lastSendMs.set(key, Date.now());
}

module.exports = { offerLoad, settle, sleep, nextMillisecond };
