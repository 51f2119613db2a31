import { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

import { DeadLetter, OutboxEntry, targetHash } from '../../core/outbox';

// Outbox entries and dead letters in app persistence: they survive restarts and are shared by
// every Rocket.Chat instance of the cluster. Association keys live here and nowhere else.
// Each entry carries its destination's association too, so a destination's backlog is read on
// its own: the work per message is proportional to that destination's backlog, not to the whole
// outbox (a dead target's 10 000 entries cost a healthy one nothing).

const OUTBOX = new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, 'relay-bridge:outbox');
const DEAD = new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, 'relay-bridge:dead-letter');

function destinationKey(targetKey: string): RocketChatAssociationRecord {
    return new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `outbox-destination:${targetHash(targetKey)}`);
}

function entryKeys(entry: { id: string; targetKey: string }): RocketChatAssociationRecord[] {
    return [OUTBOX, destinationKey(entry.targetKey), new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `outbox:${entry.id}`)];
}

/** Keys of an entry written before entries carried their destination. */
function legacyKeys(id: string): RocketChatAssociationRecord[] {
    return [OUTBOX, new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `outbox:${id}`)];
}

function deadKeys(id: string): RocketChatAssociationRecord[] {
    return [DEAD, new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `dead:${id}`)];
}

export async function listOutbox(reader: IPersistenceRead): Promise<OutboxEntry[]> {
    return ((await reader.readByAssociations([OUTBOX])) || []) as OutboxEntry[];
}

/** One destination's backlog (any order; core/outbox.ts sorts). */
export async function listDestination(reader: IPersistenceRead, targetKey: string): Promise<OutboxEntry[]> {
    return ((await reader.readByAssociations([OUTBOX, destinationKey(targetKey)])) || []) as OutboxEntry[];
}

/** Writes an entry, creating it if need be (written ahead, left for a retry, released, put back from the dead letters). */
export async function saveOutboxEntry(persistence: IPersistence, entry: OutboxEntry): Promise<void> {
    await persistence.updateByAssociations(entryKeys(entry), { ...entry, keyed: true }, true);
}

/**
 * Rewrites an entry that is stored (a claim, its renewal, its release by a job run); writes
 * nothing when it is gone. A stale claim — one whose outbox read predates another runtime's
 * delivery and removal — must not write the entry back to be delivered again. Rocket.Chat 6+
 * updates without upserting when asked (`updateOne` with `upsert: false`).
 */
export async function updateOutboxEntry(persistence: IPersistence, entry: OutboxEntry): Promise<void> {
    await persistence.updateByAssociations(entryKeys(entry), { ...entry, keyed: true }, false);
}

export async function removeOutboxEntry(persistence: IPersistence, entry: { id: string; targetKey: string }): Promise<void> {
    await persistence.removeByAssociations(entryKeys(entry));
}

/** Moves an entry stored before entries carried their destination under the current keys. */
export async function rekeyOutboxEntry(persistence: IPersistence, entry: OutboxEntry): Promise<OutboxEntry> {
    await persistence.removeByAssociations(legacyKeys(entry.id));
    const keyed = { ...entry, keyed: true };
    await saveOutboxEntry(persistence, keyed);
    return keyed;
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
