import { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

// What an inbound request posted, keyed by source + idempotency key (the `Idempotency-Key` header)
// and by source + external message id: a client retry returns the first result instead of posting
// twice, and later requests can edit, delete or reply to the mapped Rocket.Chat message.

const KIND = new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, 'relay-bridge:inbound');

export interface InboundResult {
    source: string;
    /** The idempotency key (header value, or `id:<external id>`). */
    key?: string;
    externalId?: string;
    posted: Array<{ message_id: string; room_id: string }>;
    createdAt: string;
    deleted?: boolean;
    /** false while the request's files are still being uploaded (a retry goes on from `uploaded`). */
    complete?: boolean;
    /** How many of the request's files are uploaded. */
    uploaded?: number;
}

function keyRecord(source: string, key: string): RocketChatAssociationRecord {
    return new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `${source}\n${key}`);
}

export async function findInboundResult(reader: IPersistenceRead, source: string, key: string): Promise<InboundResult | undefined> {
    const found = (await reader.readByAssociations([KIND, keyRecord(source, key)])) as InboundResult[];
    return found && found.length ? found[0] : undefined;
}

/** Stored under the idempotency key and, when different, under the external id as well. */
export async function saveInboundResult(persistence: IPersistence, result: InboundResult): Promise<void> {
    const keys: string[] = [];
    if (result.key) {
        keys.push(result.key);
    }
    if (result.externalId && keys.indexOf(`id:${result.externalId}`) < 0) {
        keys.push(`id:${result.externalId}`);
    }
    for (const key of keys) {
        await persistence.updateByAssociations([KIND, keyRecord(result.source, key)], result, true);
    }
}

export async function listInboundResults(reader: IPersistenceRead): Promise<InboundResult[]> {
    return ((await reader.readByAssociations([KIND])) || []) as InboundResult[];
}

export async function removeInboundResult(persistence: IPersistence, result: InboundResult): Promise<void> {
    const keys: string[] = [];
    if (result.key) {
        keys.push(result.key);
    }
    if (result.externalId) {
        keys.push(`id:${result.externalId}`);
    }
    for (const key of keys) {
        await persistence.removeByAssociations([KIND, keyRecord(result.source, key)]);
    }
}
