import { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

import { recordKind } from './recordKind';

// Rocket.Chat message id → the ids it got at each target, so edits, deletes and thread replies
// reach the same remote messages. One record per relayed message (read once, written once), kept
// in persistence so a restart or another server instance finds it.

const MESSAGE_MAPS = recordKind<MessageMapRecord>('relay-bridge:message-map');

export interface MessageMapRecord {
    messageId: string;
    roomId: string;
    /** Delivery key (instance + channel) → remote ids in part order. */
    targets: Record<string, string[]>;
    createdAt: string;
}

function keyFor(messageId: string): RocketChatAssociationRecord {
    return new RocketChatAssociationRecord(RocketChatAssociationModel.MESSAGE, messageId);
}

export function readMessageMap(reader: IPersistenceRead, messageId: string): Promise<MessageMapRecord | undefined> {
    return MESSAGE_MAPS.read(reader, keyFor(messageId));
}

export function saveMessageMap(persistence: IPersistence, record: MessageMapRecord): Promise<void> {
    return MESSAGE_MAPS.save(persistence, keyFor(record.messageId), record);
}

export function removeMessageMap(persistence: IPersistence, messageId: string): Promise<void> {
    return MESSAGE_MAPS.remove(persistence, keyFor(messageId));
}

/**
 * Sets (or, with no ids, removes) one target's remote ids on a message's record: what the outbox
 * does when a queued delivery finally goes through. `only`: the message has no other
 * destination, so there is nothing to merge with and no read.
 */
export async function mergeRemoteIds(reader: IPersistenceRead, persistence: IPersistence, message: { id: string; room: { id: string }; timestamp: string }, targetKey: string, remoteIds: string[], only = false): Promise<void> {
    const record = (!only && (await readMessageMap(reader, message.id))) || { messageId: message.id, roomId: message.room.id, targets: {}, createdAt: message.timestamp };
    if (remoteIds.length > 0) {
        record.targets[targetKey] = remoteIds;
    } else {
        delete record.targets[targetKey];
    }
    if (Object.keys(record.targets).length === 0) {
        await removeMessageMap(persistence, message.id);
    } else {
        await saveMessageMap(persistence, record);
    }
}

/** Every id-map record (for expiry); the caller bounds how often this runs. */
export function listMessageMaps(reader: IPersistenceRead): Promise<MessageMapRecord[]> {
    return MESSAGE_MAPS.list(reader);
}
