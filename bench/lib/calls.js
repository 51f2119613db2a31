// Names and classes of the app's round trips (the host counts them by JSON-RPC method).
'use strict';

/**
 * Record kinds Relay Bridge writes or reads on a timer, not per message: delivery counters are
 * flushed at most every 5 s per target (src/shell/records/counters.ts). Their per-message share
 * depends on the message rate, so they are reported apart from the per-message calls. (Outbox
 * entries are per message: every delivery is written ahead, src/shell/pipeline.ts.)
 */
const PERIODIC_KINDS = ['relay-bridge:counters'];

/** `accessor:getPersistence:updateByAssociations[relay-bridge:message-map]` → `persistence.updateByAssociations[message-map]`. */
function shortName(key) {
    const match = /^([^[]*)(?:\[(.*)\])?$/.exec(key);
    const parts = match[1].split(':');
    const owner = parts[parts.length - 2].replace(/^get/, '').replace(/Bridge$/, '');
    const kind = match[2] ? `[${match[2].replace(/^relay-bridge:/, '')}]` : '';
    return `${owner.charAt(0).toLowerCase()}${owner.slice(1)}.${parts[parts.length - 1]}${kind}`;
}

function isPeriodic(key) {
    return PERIODIC_KINDS.some((kind) => key.endsWith(`[${kind}]`));
}

/** Per-message counts by short name, split into per-message and timer-driven calls. */
function perMessage(rpc, messages) {
    const calls = {};
    const periodic = {};
    for (const [key, count] of Object.entries(rpc)) {
        (isPeriodic(key) ? periodic : calls)[shortName(key)] = count / messages;
    }
    return { calls, periodic };
}

function sum(counts) {
    return Object.values(counts).reduce((a, b) => a + b, 0);
}

module.exports = { shortName, perMessage, sum, PERIODIC_KINDS };
