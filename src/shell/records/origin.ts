import { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

import { recordKind } from './recordKind';

import { RelayMarker } from '../../core/relayMarker';

// Where a message the app posted came from (the inbound source), keyed by the message's id. This
// is the loop-prevention marker: Rocket.Chat refuses customFields unless an admin enabled and
// described them, so the marker cannot travel on the message. The app chooses the id and writes
// this record before posting, so the sent event — on whichever instance — finds it.

const ORIGINS = recordKind<OriginRecord>('relay-bridge:origin');

export interface OriginRecord {
    /** The message's id, or for an upload's message the uploadOriginKey. */
    messageId: string;
    /** The inbound source (instance name) the message came from. */
    source: string;
    /** The relay marker it arrived with, when another Relay Bridge sent it: passed on when it is relayed again. */
    marker?: RelayMarker;
    createdAt: string;
}

function keyFor(messageId: string): RocketChatAssociationRecord {
    return new RocketChatAssociationRecord(RocketChatAssociationModel.MESSAGE, messageId);
}

export function readOrigin(reader: IPersistenceRead, messageId: string): Promise<OriginRecord | undefined> {
    return ORIGINS.read(reader, keyFor(messageId));
}

export async function saveOrigin(persistence: IPersistence, messageId: string, source: string, marker?: RelayMarker): Promise<void> {
    const record: OriginRecord = { messageId, source, createdAt: new Date().toISOString() };
    if (marker) {
        record.marker = marker;
    }
    await ORIGINS.save(persistence, keyFor(messageId), record);
}

/**
 * The key an upload's origin is saved under. The server chooses the id of the message an upload
 * posts, and its sent event may run before the upload call returns, so the record is written first
 * under what the message will show: its room and the file's name and size.
 */
export function uploadOriginKey(roomId: string, fileName: string, size: number): string {
    return `upload:${roomId}:${size}:${fileName}`;
}

export function removeOrigin(persistence: IPersistence, messageId: string): Promise<void> {
    return ORIGINS.remove(persistence, keyFor(messageId));
}

/** Every origin record (for expiry); the caller bounds how often this runs. */
export function listOrigins(reader: IPersistenceRead): Promise<OriginRecord[]> {
    return ORIGINS.list(reader);
}
