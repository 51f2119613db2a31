import { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

import { DeadLetter, OutboxEntry } from '../../core/outbox';

// Outbox entries and dead letters in app persistence: they survive restarts and are shared by
// every Rocket.Chat instance of the cluster. Association keys live here and nowhere else.

const OUTBOX = new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, 'relay-bridge:outbox');
const DEAD = new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, 'relay-bridge:dead-letter');

function entryKeys(id: string): RocketChatAssociationRecord[] {
    return [OUTBOX, new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `outbox:${id}`)];
}

function deadKeys(id: string): RocketChatAssociationRecord[] {
    return [DEAD, new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `dead:${id}`)];
}

export async function listOutbox(reader: IPersistenceRead): Promise<OutboxEntry[]> {
    return ((await reader.readByAssociations([OUTBOX])) || []) as OutboxEntry[];
}

export async function readOutboxEntry(reader: IPersistenceRead, id: string): Promise<OutboxEntry | undefined> {
    const found = (await reader.readByAssociations(entryKeys(id))) as OutboxEntry[];
    return found && found.length ? found[0] : undefined;
}

export async function saveOutboxEntry(persistence: IPersistence, entry: OutboxEntry): Promise<void> {
    await persistence.updateByAssociations(entryKeys(entry.id), entry, true);
}

export async function removeOutboxEntry(persistence: IPersistence, id: string): Promise<void> {
    await persistence.removeByAssociations(entryKeys(id));
}

export async function listDeadLetters(reader: IPersistenceRead): Promise<DeadLetter[]> {
    const found = ((await reader.readByAssociations([DEAD])) || []) as DeadLetter[];
    return found.sort((a, b) => a.deadAt - b.deadAt);
}

export async function saveDeadLetter(persistence: IPersistence, letter: DeadLetter): Promise<void> {
    await persistence.updateByAssociations(deadKeys(letter.id), letter, true);
}

export async function removeDeadLetter(persistence: IPersistence, id: string): Promise<DeadLetter | undefined> {
    const removed = (await persistence.removeByAssociations(deadKeys(id))) as DeadLetter[] | undefined;
    return removed && removed.length ? removed[0] : undefined;
}
