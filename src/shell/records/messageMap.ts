import { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

import { recordKind } from './recordKind';

// Rocket.Chat message id → the ids it got at each target, so edits, deletes and thread replies
// reach the same remote messages. Kept in persistence so a restart or another server instance
// finds it. Written in parts: each store of an event's remote ids (a line's, for the destinations
// it delivered; the job's, for one) is a record of its own, never rewritten by another, and a
// read merges a message's parts — per destination the ids of its latest event. One record per
// message read-merged-written by two instances at once lost one destination's ids (its edits and
// deletes then skipped that destination); no part needs a read before its write either.

const MESSAGE_MAPS = recordKind<MessageMapPart>('relay-bridge:message-map');
const KIND = new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, 'relay-bridge:message-map');

/** A message's remote ids, merged from its parts. */
export interface MessageMapRecord {
    messageId: string;
    roomId: string;
    /** Delivery key (instance + channel) → remote ids in part order. */
    targets: Record<string, string[]>;
    createdAt: string;
}

/** One stored part: the ids one store set (an empty list: deleted there). */
interface MessageMapPart extends MessageMapRecord {
    /** Which store this is (unique per store); absent in a record written before parts (one per message). */
    part?: string;
    /** Per destination, the time of the event whose delivery set its ids (`OutboxEntry.seq`): a later event's win. Absent: before parts (oldest). */
    at?: Record<string, number>;
}

function keyFor(messageId: string): RocketChatAssociationRecord {
    return new RocketChatAssociationRecord(RocketChatAssociationModel.MESSAGE, messageId);
}

/** The message's ids: its parts merged (undefined when none, or every destination's was deleted). */
export async function readMessageMap(reader: IPersistenceRead, messageId: string): Promise<MessageMapRecord | undefined> {
    const parts = ((await reader.readByAssociations([KIND, keyFor(messageId)])) || []) as MessageMapPart[];
    return mergeParts(parts.filter((p) => p && p.messageId === messageId && p.targets));
}

function mergeParts(parts: MessageMapPart[]): MessageMapRecord | undefined {
    if (parts.length === 0) {
        return undefined;
    }
    const latest: Record<string, { at: number; ids: string[] }> = {};
    for (const part of parts) {
        for (const [key, ids] of Object.entries(part.targets)) {
            const at = (part.at && part.at[key]) || 0;
            if (!latest[key] || at >= latest[key].at) {
                latest[key] = { at, ids };
            }
        }
    }
    const targets: Record<string, string[]> = {};
    Object.entries(latest)
        .filter(([, value]) => value.ids.length > 0)
        .forEach(([key, value]) => (targets[key] = value.ids));
    if (Object.keys(targets).length === 0) {
        return undefined;
    }
    const first = parts.reduce((a, b) => (Date.parse(a.createdAt) <= Date.parse(b.createdAt) ? a : b));
    return { messageId: first.messageId, roomId: first.roomId, targets, createdAt: first.createdAt };
}

/**
 * Stores what one event's deliveries set: per destination its ids (none: deleted there) and the
 * event's time there (`at`, the delivery's `OutboxEntry.seq`). `part` names this store (unique: a
 * delivery's entry id).
 */
export async function saveRemoteIds(persistence: IPersistence, message: { id: string; room: { id: string }; timestamp: string }, part: string, targets: Record<string, string[]>, at: Record<string, number>): Promise<void> {
    const record: MessageMapPart = { messageId: message.id, roomId: message.room.id, targets, createdAt: message.timestamp, part, at };
    await persistence.updateByAssociations([KIND, keyFor(message.id), new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `message-map-part:${part}`)], record, true);
}

/** Removes a message's ids, every part. */
export function removeMessageMap(persistence: IPersistence, messageId: string): Promise<void> {
    return MESSAGE_MAPS.remove(persistence, keyFor(messageId));
}

/** Every id-map part (for expiry); the caller bounds how often this runs. */
export function listMessageMaps(reader: IPersistenceRead): Promise<MessageMapRecord[]> {
    return MESSAGE_MAPS.list(reader);
}
