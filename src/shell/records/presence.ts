import { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

import { recordKind } from './recordKind';

// Which runtimes (one per Rocket.Chat instance) handled message events lately: a runtime that
// knows it is the only one delivers at once; with others it waits for their older entries to land
// (src/shell/pipeline.ts, ORDER_SETTLE_MS).

export interface RuntimePresence {
    runtimeId: string;
    /** Handled an event within its lease: counts as present until then. */
    until: number;
}

const presence = recordKind<RuntimePresence>('relay-bridge:runtime');

const keyOf = (runtimeId: string) => new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `runtime:${runtimeId}`);

export function saveRuntimePresence(persistence: IPersistence, record: RuntimePresence): Promise<void> {
    return presence.save(persistence, keyOf(record.runtimeId), record);
}

export function listRuntimePresence(reader: IPersistenceRead): Promise<RuntimePresence[]> {
    return presence.list(reader);
}

export function removeRuntimePresence(persistence: IPersistence, runtimeId: string): Promise<void> {
    return presence.remove(persistence, keyOf(runtimeId));
}
