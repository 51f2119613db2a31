import { IHttp, ILogger, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { IMessage } from '@rocket.chat/apps-engine/definition/messages';

import { RelayEvent, RelayMessage } from '../core/message';
import { planDeliveries } from '../core/relay';
import { loopRefusal, markerFromMessageId } from '../core/relayMarker';
import { ConfigStore } from './configStore';
import { toRelayMessage } from './normalize';
import { DeliveryPipeline } from './pipeline';
import { readMessageMap } from './records/messageMap';
import { readOrigin, uploadOriginKey } from './records/origin';
import { learnRelayAccount, noteFilesSent, readRelayAccount } from './records/unmarkedRelays';

export interface OutboundAccessors {
    read: IRead;
    http: IHttp;
    persistence: IPersistence;
    modify: IModify;
    logger: ILogger;
    /** The app's own user id (its messages are relayed only when they have an origin record); looked up lazily. */
    appUserId: () => Promise<string | undefined>;
    /** This server's Relay Bridge id (the relay marker's origin for messages written here). */
    serverId: () => Promise<string>;
}

/**
 * Turns one Rocket.Chat message event into deliveries, one per target its rules name, and hands
 * them to the delivery pipeline (src/shell/pipeline.ts), which records, orders, attempts and
 * decides them. Events are planned one at a time in arrival order, so each destination sees them
 * in the order they happened; the deliveries run concurrently across destinations.
 */
export class OutboundRelay {
    /** Resolves when the previous event has taken its places in the destinations' lines. */
    private arrival: Promise<void> = Promise.resolve();

    constructor(private readonly configStore: ConfigStore, private readonly pipeline: DeliveryPipeline) {}

    public async handle(event: RelayEvent, message: IMessage, acc: OutboundAccessors): Promise<void> {
        const at = eventTime(event, message, Date.now());
        const previous = this.arrival;
        let planned!: () => void;
        this.arrival = new Promise<void>((resolve) => (planned = resolve));
        let delivered: Promise<void> | undefined;
        try {
            await previous;
            const submitted = await this.plan(event, message, at, acc);
            delivered = submitted && submitted.done;
        } finally {
            planned();
        }
        await delivered;
    }

    /** Plans the event and submits its deliveries (taking their places synchronously); undefined when nothing goes out. */
    private async plan(event: RelayEvent, message: IMessage, at: number, acc: OutboundAccessors): Promise<{ done: Promise<void> } | undefined> {
        const settings = await this.configStore.current(acc.read);
        const { active, siteUrl } = settings;
        if (!active || active.config.routes.length === 0 || !message.id) {
            return undefined;
        }
        const relayMessage = toRelayMessage(event, message, siteUrl);
        if (relayMessage.sender.id === (await acc.appUserId())) {
            // The app's own messages are relayed only when an inbound source posted them, and
            // then never back to that source; replies and notices have no origin record.
            const reader = acc.read.getPersistenceReader();
            const file = relayMessage.files[0];
            const origin = (await readOrigin(reader, relayMessage.id))
                || (file ? await readOrigin(reader, uploadOriginKey(relayMessage.room.id, file.name, file.size)) : undefined);
            if (!origin) {
                return undefined;
            }
            relayMessage.origin = origin.source;
            relayMessage.relay = origin.marker;
        }
        if (!relayMessage.relay) {
            // Posted here by another Relay Bridge through chat.sendMessage: the marker is in the id.
            relayMessage.relay = markerFromMessageId(relayMessage.id);
            const refusal = relayMessage.relay && loopRefusal(relayMessage.relay, await acc.serverId());
            if (refusal) {
                acc.logger.debug(`message ${relayMessage.id} not relayed: ${refusal}`);
                return undefined;
            }
            relayMessage.relay = await this.unmarkedRelays(relayMessage, acc);
        }
        const plans = planDeliveries(active, relayMessage);
        if (plans.length === 0) {
            return undefined;
        }
        // Only a message that leaves needs the marker (and the server id, written on first use).
        if (!relayMessage.relay) {
            relayMessage.relay = { server: await acc.serverId(), hops: 0 };
        }
        if (event === 'sent' && relayMessage.files.length > 0) {
            await noteFilesSent(acc.persistence, relayMessage.files);
        }
        const reader = acc.read.getPersistenceReader();
        // Only targets that track edits have ids to look up (the others get new messages only).
        // Read once per event; a delivery whose original is still under way gets its ids when its turn comes.
        const tracked = plans.some((plan) => plan.instance.trackEdits);
        const [existing, parent] = await Promise.all([
            event === 'sent' || !tracked ? undefined : readMessageMap(reader, relayMessage.id),
            relayMessage.threadId && tracked ? readMessageMap(reader, relayMessage.threadId) : undefined,
        ]);
        // Wrapped: an async function would otherwise wait for the deliveries, holding up the next event.
        return { done: this.pipeline.submit(plans, relayMessage, at, existing, parent, settings, acc) };
    }

    /**
     * A marked message one relay from its origin teaches who posts for that server; an unmarked
     * one (an uploaded file: the server picks its id) by such an account is taken as relayed from
     * that server, one hop on (records/unmarkedRelays.ts).
     */
    private async unmarkedRelays(relayMessage: RelayMessage, acc: OutboundAccessors): Promise<RelayMessage['relay']> {
        const reader = acc.read.getPersistenceReader();
        const marker = relayMessage.relay;
        if (marker) {
            if (marker.hops === 1) {
                await learnRelayAccount(reader, acc.persistence, relayMessage.sender.id, marker.server);
            }
            return marker;
        }
        // Only a file message can come from a Relay Bridge unmarked (its text always carries the
        // marker): a relay account's unmarked text is a person's and is relayed like anyone's —
        // and ordinary messages cost no read.
        const account = relayMessage.files.length > 0 ? await readRelayAccount(reader, relayMessage.sender.id) : undefined;
        return account ? { server: account.server, hops: 1 } : undefined;
    }
}

/**
 * When the event happened, by the server's own record, the same on every instance: a message's
 * creation time (`ts`), an edit's `editedAt` (else `_updatedAt`); a delete carries no time of its
 * own, so its arrival here. Never later than `now` (another instance's clock running ahead would
 * only delay the delivery) — the pipeline orders each destination's entries by it.
 */
export function eventTime(event: RelayEvent, message: IMessage, now: number): number {
    const stamp = event === 'sent' ? message.createdAt : event === 'edited' ? message.editedAt || message.updatedAt : undefined;
    const ms = stamp ? new Date(stamp).getTime() : NaN;
    return Number.isFinite(ms) ? Math.min(ms, now) : now;
}
