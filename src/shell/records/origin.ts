import { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

import { RelayMarker } from '../../core/relayMarker';

// Where a message the app posted came from (the inbound source), keyed by the message's id. This
// is the loop-prevention marker: Rocket.Chat refuses customFields unless an admin enabled and
// described them, so the marker cannot travel on the message. The app chooses the id and writes
// this record before posting, so the sent event — on whichever instance — finds it.

const KIND = new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, 'relay-bridge:origin');

export interface OriginRecord {
    messageId: string;
    /** The inbound source (instance name) the message came from. */
    source: string;
    /** The relay marker it arrived with, when another Relay Bridge sent it: passed on when it is relayed again. */
    marker?: RelayMarker;
    createdAt: string;
}

function keysFor(messageId: string): RocketChatAssociationRecord[] {
    return [KIND, new RocketChatAssociationRecord(RocketChatAssociationModel.MESSAGE, messageId)];
}

export async function readOrigin(reader: IPersistenceRead, messageId: string): Promise<OriginRecord | undefined> {
    const found = (await reader.readByAssociations(keysFor(messageId))) as OriginRecord[];
    return found && found.length ? found[0] : undefined;
}

export async function saveOrigin(persistence: IPersistence, messageId: string, source: string, marker?: RelayMarker): Promise<void> {
    const record: OriginRecord = { messageId, source, createdAt: new Date().toISOString() };
    if (marker) {
        record.marker = marker;
    }
    await persistence.updateByAssociations(keysFor(messageId), record, true);
}

export async function removeOrigin(persistence: IPersistence, messageId: string): Promise<void> {
    await persistence.removeByAssociations(keysFor(messageId));
}

/** Every origin record (for expiry); the caller bounds how often this runs. */
export async function listOrigins(reader: IPersistenceRead): Promise<OriginRecord[]> {
    return ((await reader.readByAssociations([KIND])) || []) as OriginRecord[];
}
