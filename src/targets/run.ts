// How one delivery's requests are run, without the engine: the shell passes the HTTP call, the
// unit tables pass scripted answers. Kept here so both run the exact same loop.

import type { HttpResult, OutboundRequest } from '../core/http';
import type { DeliveryInput, TargetAdapter } from '../core/adapter';

/** How far a delivery got; the shell stores it with an outbox entry so a retry resumes there. */
export interface DeliveryProgress {
    /** Requests already done. */
    partsDone: number;
    /** Remote ids of the parts already done. */
    remoteIds: string[];
    /** Values the done requests' responses carried (see DeliveryInput.carried). */
    carried: Record<string, string>;
}

/**
 * Runs `input`'s requests from `progress.partsDone` on, updating `progress` after each one, and
 * calls `onRequest` before each send (for error reports). Throws what `send` or the adapter throws.
 */
export async function runRequests<C>(
    adapter: TargetAdapter<C>,
    input: DeliveryInput<C>,
    progress: DeliveryProgress,
    send: (request: OutboundRequest) => Promise<HttpResult>,
    onRequest: (request: OutboundRequest) => void = () => undefined,
): Promise<void> {
    input.carried = progress.carried;
    let requests = adapter.buildRequests(input);
    for (let i = progress.partsDone; i < requests.length; i++) {
        const request = requests[i];
        onRequest(request);
        const result = adapter.readResponse(input, request, await send(request));
        if (result.remoteId) {
            progress.remoteIds.push(result.remoteId);
        }
        progress.partsDone = i + 1;
        if (result.carry) {
            progress.carried = Object.assign({}, progress.carried, result.carry);
            input.carried = progress.carried;
            requests = adapter.buildRequests(input);
        }
    }
}
