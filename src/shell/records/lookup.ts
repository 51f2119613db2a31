import { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

import { recordKind } from './recordKind';

// A value an adapter looked up on its target (KeptLookup: a remote Rocket.Chat channel name's
// room id), keyed by the adapter's scope (server, account, destination), so every server
// instance and restart asks the target once per destination instead of once per message.

const LOOKUPS = recordKind<LookupRecord>('relay-bridge:target-lookup');

export interface LookupRecord {
    scope: string;
    value: string;
    createdAt: string;
}

function keyFor(scope: string): RocketChatAssociationRecord {
    return new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `target-lookup\n${scope}`);
}

export async function readLookup(reader: IPersistenceRead, scope: string): Promise<string | undefined> {
    const record = await LOOKUPS.read(reader, keyFor(scope));
    return record ? record.value : undefined;
}

export function saveLookup(persistence: IPersistence, scope: string, value: string): Promise<void> {
    return LOOKUPS.save(persistence, keyFor(scope), { scope, value, createdAt: new Date().toISOString() });
}

export function removeLookup(persistence: IPersistence, scope: string): Promise<void> {
    return LOOKUPS.remove(persistence, keyFor(scope));
}
