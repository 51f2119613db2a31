import { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

import { recordKind } from './recordKind';

// A target session an adapter keeps (KeptSession: a Matrix access token from a password login),
// keyed by the adapter's scope, so every server instance and restart reuses it instead of logging
// in again. The scope names the server and account, never the password.

const SESSIONS = recordKind<SessionRecord>('relay-bridge:target-session');

export interface SessionRecord {
    scope: string;
    values: Record<string, string>;
    createdAt: string;
}

function keyFor(scope: string): RocketChatAssociationRecord {
    return new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `target-session\n${scope}`);
}

export async function readSession(reader: IPersistenceRead, scope: string): Promise<Record<string, string> | undefined> {
    const record = await SESSIONS.read(reader, keyFor(scope));
    return record ? record.values : undefined;
}

export function saveSession(persistence: IPersistence, scope: string, values: Record<string, string>): Promise<void> {
    return SESSIONS.save(persistence, keyFor(scope), { scope, values, createdAt: new Date().toISOString() });
}

export function removeSession(persistence: IPersistence, scope: string): Promise<void> {
    return SESSIONS.remove(persistence, keyFor(scope));
}
