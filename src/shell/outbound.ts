import { IHttp, ILogger, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { IMessage } from '@rocket.chat/apps-engine/definition/messages';

import { OutboxEntry } from '../core/outbox';
import { RelayEvent, RelayMessage } from '../core/message';
import { DeliveryPlan, OutboundGuard, planDeliveries } from '../core/relay';
import { loopRefusal, markerFromMessageId } from '../core/relayMarker';
import { afterFailure, RetryPolicy } from '../core/retry';
import { OutboundFile } from '../core/adapter';
import { ConfigStore } from './configStore';
import { attemptDelivery, FileRules, fileRulesOf, loadFiles } from './delivery';
import { hostedAvatarFor } from './hostedAvatar';
import { toRelayMessage } from './normalize';
import { Outbox } from './outbox';
import { MessageMapRecord, readMessageMap, removeMessageMap, saveMessageMap } from './records/messageMap';
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

interface DeliveryOutcome {
    key: string;
    remoteIds: string[];
    /** Set when the delivery went to the outbox instead. */
    queued?: OutboxEntry;
}

/**
 * Relays one Rocket.Chat message event to every target its rules name: all targets at once, one
 * failing target never holding up or failing the others. A target that fails with a retryable
 * error, or that still has older deliveries waiting, gets the delivery through the outbox.
 * Remote ids are recorded so edits, deletes and thread replies find the same remote messages.
 *
 * Bridge calls per new message: one HTTP request per target part plus one persistence write
 * (the id map, skipped when no target tracks edits); settings and the outbox state are cached
 * briefly.
 */
export class OutboundRelay {
    /** Resolves when the previous event has taken its places in the target lines. */
    private arrival: Promise<void> = Promise.resolve();
    /** New messages whose deliveries are under way here: an edit or delete waits for their id map. */
    private readonly sending = new Map<string, Promise<void>>();
    /** Per destination (instance + channel), its line: deliveries in flight and those waiting for a slot, in arrival order. */
    private readonly lines = new Map<string, { inFlight: number; waiting: Array<() => void> }>();

    constructor(private readonly configStore: ConfigStore, private readonly outbox: Outbox) {}

    public async handle(event: RelayEvent, message: IMessage, acc: OutboundAccessors): Promise<void> {
        // Events are planned one at a time in arrival order, so each target sees them in the order
        // they happened; the deliveries themselves run concurrently across targets.
        const previous = this.arrival;
        let planned!: () => void;
        this.arrival = new Promise<void>((resolve) => (planned = resolve));
        let deliveries: Array<Promise<DeliveryOutcome>>;
        let context: { relayMessage: RelayMessage; existing?: MessageMapRecord };
        let sent: (() => void) | undefined;
        try {
            await previous;
            const prepared = await this.prepare(event, message, acc);
            if (!prepared) {
                return;
            }
            context = prepared;
            const { relayMessage, plans, existing, parent, policy, fileRules, guard } = prepared;
            if (event === 'sent') {
                this.sending.set(relayMessage.id, new Promise<void>((resolve) => (sent = resolve)));
            }
            const files = new Map<string, OutboundFile>();
            deliveries = plans.map((plan) => this.inLine(plan.key, plan.instance.maxInFlight || 1, () => this.deliver(plan, relayMessage, existing, parent, files, policy, fileRules, guard, acc)));
        } finally {
            planned();
        }
        try {
            await this.finish(event, context.relayMessage, await Promise.all(deliveries), context.existing, acc);
        } finally {
            if (sent) {
                this.sending.delete(context.relayMessage.id);
                sent();
            }
        }
    }

    private async finish(event: RelayEvent, relayMessage: RelayMessage, outcomes: DeliveryOutcome[], existing: MessageMapRecord | undefined, acc: OutboundAccessors): Promise<void> {
        const queued = outcomes.filter((o) => o.queued).map((o) => o.queued!);
        if (queued.length > 0) {
            await this.outbox.enqueue(queued, acc.read, acc.persistence, acc.modify);
        }
        await this.recordOutcomes(event, relayMessage, outcomes, existing, acc.persistence);
        await this.outbox.counters.flush(acc.persistence);
    }

    private async prepare(event: RelayEvent, message: IMessage, acc: OutboundAccessors) {
        const { active, siteUrl, policy, limits, server } = await this.configStore.current(acc.read);
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
        // An edit or delete right after the send: wait until the send has recorded its remote ids.
        await this.sending.get(relayMessage.id);
        if (relayMessage.threadId) {
            await this.sending.get(relayMessage.threadId);
        }
        // Only targets that track edits have ids to look up (the others get new messages only).
        const tracked = plans.some((plan) => plan.instance.trackEdits);
        const [existing, parent] = await Promise.all([
            event === 'sent' || !tracked ? undefined : readMessageMap(reader, relayMessage.id),
            relayMessage.threadId && tracked ? readMessageMap(reader, relayMessage.threadId) : undefined,
            this.outbox.pendingTargets(acc.read),
        ]);
        return { relayMessage, plans, existing, parent, policy, fileRules: fileRulesOf(limits.maxFileSize, server), guard: active as OutboundGuard };
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
        const account = await readRelayAccount(reader, relayMessage.sender.id);
        return account ? { server: account.server, hops: 1 } : undefined;
    }

    /**
     * Runs `work` when the target has a free slot (`limit` at a time; 1 = strictly one after
     * another). Must be entered in arrival order: a freed slot goes straight to the next waiter,
     * so a later arrival can never overtake.
     */
    private async inLine<T>(key: string, limit: number, work: () => Promise<T>): Promise<T> {
        let line = this.lines.get(key);
        if (!line) {
            line = { inFlight: 0, waiting: [] };
            this.lines.set(key, line);
        }
        if (line.inFlight >= limit || line.waiting.length > 0) {
            await new Promise<void>((resolve) => line!.waiting.push(resolve));
        } else {
            line.inFlight += 1;
        }
        try {
            return await work();
        } finally {
            const next = line.waiting.shift();
            if (next) {
                next(); // the slot passes on as it is
            } else {
                line.inFlight -= 1;
                if (line.inFlight === 0) {
                    this.lines.delete(key);
                }
            }
        }
    }

    private async deliver(
        plan: DeliveryPlan,
        message: RelayMessage,
        existing: MessageMapRecord | undefined,
        parent: MessageMapRecord | undefined,
        files: Map<string, OutboundFile>,
        policy: RetryPolicy,
        fileRules: FileRules,
        guard: OutboundGuard,
        acc: OutboundAccessors,
    ): Promise<DeliveryOutcome> {
        if (message.event !== 'sent' && !plan.instance.trackEdits) {
            return { key: plan.key, remoteIds: [] }; // new messages only (track_edits: false)
        }
        const existingIds = existing ? existing.targets[plan.key] || [] : [];
        const entryFields = {
            targetKey: plan.key,
            instance: plan.instance.name,
            channel: plan.channel,
            event: message.event,
            message,
            rendered: plan.rendered,
            partsDone: 0,
            remoteIds: [],
        };
        if (this.outbox.isPending(plan.key)) {
            // Older deliveries to this target are waiting: queue behind them to keep the order
            // (an edit or delete of a message still in the outbox waits for it the same way).
            this.outbox.markPending(plan.key);
            return { key: plan.key, remoteIds: [], queued: this.outbox.newEntry(entryFields) };
        }
        if (message.event !== 'sent' && existingIds.length === 0) {
            return { key: plan.key, remoteIds: [] }; // never reached this target: nothing to edit or delete
        }
        const parentIds = parent ? parent.targets[plan.key] : undefined;
        const result = await attemptDelivery(
            {
                instance: plan.instance.name,
                adapter: plan.adapter,
                config: plan.instance.adapterConfig,
                channel: plan.channel,
                message,
                rendered: plan.rendered,
                partsDone: 0,
                remoteIds: [],
                carried: {},
                existingIds,
                parentId: parentIds && parentIds.length ? parentIds[0] : undefined,
                files: await loadFiles(message, plan.instance, acc.read, acc.logger, files, fileRules),
                hostedAvatarUrl: message.event === 'deleted' ? undefined : await hostedAvatarFor(plan.adapter, plan.instance.adapterConfig, plan.rendered, guard, acc),
                timeoutMs: plan.instance.timeoutMs,
                guard,
                sessions: { read: acc.read, persistence: acc.persistence },
            },
            acc.http,
        );
        if (result.ok) {
            this.outbox.counters.count(plan.key, plan.instance.name, 'sent');
            return { key: plan.key, remoteIds: plan.instance.trackEdits ? result.remoteIds : [] };
        }
        const what = `${message.event} ${message.id} → ${plan.instance.name} ${result.error}`;
        const now = Date.now();
        const decision = afterFailure(result, 1, now, now, policy);
        if (decision.action === 'retry') {
            acc.logger.warn(`${what}; retrying from the outbox`);
            this.outbox.counters.count(plan.key, plan.instance.name, 'retried', result.error);
            const entry = this.outbox.newEntry({ ...entryFields, partsDone: result.partsDone, remoteIds: result.remoteIds, carried: result.carried, attempts: 1, nextAttemptAt: decision.at, lastError: result.error });
            this.outbox.markPending(plan.key); // later deliveries to this target now queue behind it
            return { key: plan.key, remoteIds: plan.instance.trackEdits ? result.remoteIds : [], queued: entry };
        }
        acc.logger.error(`${what}; not retried: ${decision.reason}`);
        this.outbox.counters.count(plan.key, plan.instance.name, 'failed', result.error);
        return { key: plan.key, remoteIds: plan.instance.trackEdits ? result.remoteIds : [] };
    }

    private async recordOutcomes(
        event: RelayEvent,
        message: RelayMessage,
        outcomes: DeliveryOutcome[],
        existing: MessageMapRecord | undefined,
        persistence: IPersistence,
    ): Promise<void> {
        if (event === 'deleted') {
            // Keep the record while a queued delete still needs the remote ids.
            if (existing && !outcomes.some((o) => o.queued)) {
                await removeMessageMap(persistence, message.id);
            }
            return;
        }
        const targets: Record<string, string[]> = existing ? { ...existing.targets } : {};
        let changed = false;
        for (const outcome of outcomes) {
            if (outcome.remoteIds.length > 0 && JSON.stringify(targets[outcome.key]) !== JSON.stringify(outcome.remoteIds)) {
                targets[outcome.key] = outcome.remoteIds;
                changed = true;
            }
        }
        if (changed) {
            await saveMessageMap(persistence, { messageId: message.id, roomId: message.room.id, targets, createdAt: existing ? existing.createdAt : message.timestamp });
        }
    }
}
