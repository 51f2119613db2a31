// The relay marker: every request to a webhook or Rocket.Chat target says which Relay Bridge
// server the message started on and how many relays it has passed. Our inbound endpoint refuses a
// message that started on this very server (it went round a loop) or that passed too many relays,
// so two servers relaying a room to each other, or a rule to our own endpoint, deliver it once.

export const MARKER_ORIGIN_HEADER = 'X-Relay-Bridge-Origin';
export const MARKER_HOPS_HEADER = 'X-Relay-Bridge-Hops';

/** More relays than this between Relay Bridge servers is taken for a loop. */
export const MAX_RELAY_HOPS = 4;

export interface RelayMarker {
    /** The id of the Relay Bridge server the message was first written on. */
    server: string;
    /** Relays the message has passed so far (0 on the server it was written on). */
    hops: number;
}

/** The headers of one more relay of a message that arrived with `marker`. */
export function markerHeaders(marker: RelayMarker): Record<string, string> {
    return { [MARKER_ORIGIN_HEADER]: marker.server, [MARKER_HOPS_HEADER]: String(marker.hops + 1) };
}

/** The marker on an incoming request (header names lower-cased, as the server passes them); undefined without one. */
export function readMarker(headers: Record<string, string | undefined>): RelayMarker | undefined {
    const server = headers[MARKER_ORIGIN_HEADER.toLowerCase()];
    const hops = Number(headers[MARKER_HOPS_HEADER.toLowerCase()]);
    if (typeof server !== 'string' || server === '') {
        return undefined;
    }
    return { server: server.slice(0, 64), hops: Number.isInteger(hops) && hops > 0 ? hops : 1 };
}

/** Why a message with this marker must not be posted here, or undefined when it may. */
export function loopRefusal(marker: RelayMarker | undefined, ownServer: string): string | undefined {
    if (!marker) {
        return undefined;
    }
    if (ownServer !== '' && marker.server === ownServer) {
        return 'relay loop: this message started on this server and came back (X-Relay-Bridge-Origin)';
    }
    if (marker.hops > MAX_RELAY_HOPS) {
        return `relay loop: this message passed ${marker.hops} relays, more than ${MAX_RELAY_HOPS} (X-Relay-Bridge-Hops)`;
    }
    return undefined;
}

/** The marker headers for a request relaying `message` (none for a message without a marker). */
export function relayHeadersFor(message: { relay?: RelayMarker }): Record<string, string> {
    return message.relay ? markerHeaders(message.relay) : {};
}

// A remote Rocket.Chat's chat.postMessage refuses fields it does not know, so no header or field
// can carry the marker into the message there. chat.sendMessage takes the message's `_id` from the
// client instead (any string; functions/sendMessage.ts stores it as is): the marker travels in the
// id, and the Relay Bridge on that server reads it from the message it sees.
const MESSAGE_ID_MARKER = /^rbm_(\d{1,3})_([A-Za-z0-9-]{1,40})_[A-Za-z0-9]{17}$/;
const MARKER_SERVER = /^[A-Za-z0-9-]{1,40}$/;

/**
 * The message id of one more relay of a message that arrived with `marker` (hops + 1, like the
 * headers), ending in `uniquePart` (17 letters and digits, derived from the source message and
 * the destination so a retry names the same message). Undefined for a server id the format cannot hold.
 */
export function markerMessageId(marker: RelayMarker, uniquePart: string): string | undefined {
    if (!MARKER_SERVER.test(marker.server) || marker.hops + 1 > 999) {
        return undefined;
    }
    return `rbm_${marker.hops + 1}_${marker.server}_${uniquePart}`;
}

/** The marker a message id made by markerMessageId carries; undefined for any other id. */
export function markerFromMessageId(messageId: string | undefined): RelayMarker | undefined {
    const match = MESSAGE_ID_MARKER.exec(messageId || '');
    return match ? { server: match[2], hops: Number(match[1]) } : undefined;
}
