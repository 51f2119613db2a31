import { IHttp, ILogger, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { IMessage } from '@rocket.chat/apps-engine/definition/messages';

import { RelayEvent, RelayMessage } from '../core/message';
import { DeliveryPlan, planDeliveries } from '../core/relay';
import { DeliveryInput, OutboundFile, TargetError } from '../targets/types';
import { ConfigStore } from './configStore';
import { executeRequest, hostOf } from './httpExecutor';
import { MessageMapRecord, readMessageMap, removeMessageMap, saveMessageMap } from './records/messageMap';
import { DEFAULT_MAX_FILE_SIZE, SettingId } from './settings';
import { toRelayMessage } from './normalize';

export interface OutboundAccessors {
    read: IRead;
    http: IHttp;
    persistence: IPersistence;
    logger: ILogger;
    /** The app's own user id: its messages are relayed only when they carry an origin. */
    appUserId?: string;
}

interface DeliveryOutcome {
    key: string;
    remoteIds: string[];
    error?: string;
}

/**
 * Relays one Rocket.Chat message event to every target its rules name: all targets at once, one
 * failing target never holding up or failing the others. Remote ids are recorded so edits,
 * deletes and thread replies find the same remote messages.
 */
export class OutboundRelay {
    constructor(private readonly configStore: ConfigStore) {}

    public async handle(event: RelayEvent, message: IMessage, acc: OutboundAccessors): Promise<void> {
        const { active, siteUrl } = await this.configStore.current(acc.read);
        if (!active || active.config.routes.length === 0 || !message.id) {
            return;
        }
        const relayMessage = toRelayMessage(event, message, siteUrl);
        if (acc.appUserId && relayMessage.sender.id === acc.appUserId && !relayMessage.origin) {
            return; // the app's own messages (replies, notices) are never relayed
        }
        const plans = planDeliveries(active, relayMessage);
        if (plans.length === 0) {
            return;
        }

        const persistenceReader = acc.read.getPersistenceReader();
        const existing = event === 'sent' ? undefined : await readMessageMap(persistenceReader, relayMessage.id);
        if (event !== 'sent' && !existing) {
            return; // never relayed (filtered, or sent before the rule existed): nothing to edit or delete
        }
        const parent = relayMessage.threadId ? await readMessageMap(persistenceReader, relayMessage.threadId) : undefined;
        const files = event === 'sent' ? await this.loadFiles(relayMessage, plans, acc) : new Map<string, OutboundFile>();

        const outcomes = await Promise.all(
            plans.map((plan) => this.deliver(plan, relayMessage, files, existing, parent, acc)),
        );
        await this.recordOutcomes(event, relayMessage, outcomes, existing, acc.persistence);
    }

    private async deliver(
        plan: DeliveryPlan,
        message: RelayMessage,
        files: Map<string, OutboundFile>,
        existing: MessageMapRecord | undefined,
        parent: MessageMapRecord | undefined,
        acc: OutboundAccessors,
    ): Promise<DeliveryOutcome> {
        const previousIds = existing ? existing.targets[plan.key] || [] : [];
        const parentIds = parent ? parent.targets[plan.key] : undefined;
        const input: DeliveryInput<unknown> = {
            config: plan.instance.adapterConfig,
            channel: plan.channel,
            message,
            rendered: plan.rendered,
            files: message.files.map((f) => (plan.adapter.capabilities.upload && files.get(f.url)) || { url: f.url, name: f.name, mimeType: f.mimeType, size: f.size }),
            remoteIds: previousIds,
            remoteThreadId: parentIds && parentIds.length ? parentIds[0] : undefined,
        };
        if (message.event !== 'sent' && previousIds.length === 0) {
            return { key: plan.key, remoteIds: [] };
        }
        const remoteIds: string[] = [];
        let request;
        try {
            if (plan.adapter.login && plan.adapter.readLogin) {
                const login = plan.adapter.login(input.config);
                if (login) {
                    input.session = plan.adapter.readLogin(input.config, await executeRequest(acc.http, login));
                }
            }
            for (request of plan.adapter.buildRequests(input)) {
                const response = await executeRequest(acc.http, request);
                const { remoteId } = plan.adapter.readResponse(input, request, response);
                if (remoteId) {
                    remoteIds.push(remoteId);
                }
            }
            return { key: plan.key, remoteIds };
        } catch (e) {
            const status = e instanceof TargetError ? ` (HTTP ${e.status})` : '';
            const where = request ? `${request.method} ${hostOf(request.url)}` : plan.adapter.describe(input.config);
            const error = `${message.event} ${message.id} → ${plan.instance.name} [${where}] failed${status}: ${e instanceof Error ? e.message : String(e)}`;
            acc.logger.error(error);
            return { key: plan.key, remoteIds, error };
        }
    }

    /** Reads file bytes only for targets that upload, and only files within the size limit. */
    private async loadFiles(message: RelayMessage, plans: DeliveryPlan[], acc: OutboundAccessors): Promise<Map<string, OutboundFile>> {
        const loaded = new Map<string, OutboundFile>();
        if (message.files.length === 0 || !plans.some((p) => p.adapter.capabilities.upload)) {
            return loaded;
        }
        const limit = Number(await acc.read.getEnvironmentReader().getSettings().getValueById(SettingId.MaxFileSize)) || DEFAULT_MAX_FILE_SIZE;
        for (const file of message.files) {
            if (!file.uploadId || file.size > limit) {
                continue; // over the limit: adapters send a link instead
            }
            try {
                const bytes = await acc.read.getUploadReader().getBufferById(file.uploadId);
                loaded.set(file.url, { url: file.url, name: file.name, mimeType: file.mimeType, size: file.size, bytes: new Uint8Array(bytes) });
            } catch (e) {
                acc.logger.warn(`file ${file.name} of message ${message.id} could not be read; sending a link: ${e instanceof Error ? e.message : e}`);
            }
        }
        return loaded;
    }

    private async recordOutcomes(
        event: RelayEvent,
        message: RelayMessage,
        outcomes: DeliveryOutcome[],
        existing: MessageMapRecord | undefined,
        persistence: IPersistence,
    ): Promise<void> {
        if (event === 'deleted') {
            await removeMessageMap(persistence, message.id);
            return;
        }
        const targets: Record<string, string[]> = existing ? { ...existing.targets } : {};
        let changed = !existing;
        for (const outcome of outcomes) {
            if (outcome.remoteIds.length > 0 && JSON.stringify(targets[outcome.key]) !== JSON.stringify(outcome.remoteIds)) {
                targets[outcome.key] = outcome.remoteIds;
                changed = true;
            }
        }
        if (changed && Object.keys(targets).length > 0) {
            await saveMessageMap(persistence, { messageId: message.id, roomId: message.room.id, targets, createdAt: existing ? existing.createdAt : message.timestamp });
        }
    }
}
