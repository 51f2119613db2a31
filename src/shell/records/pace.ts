import { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

import { targetHash } from '../../core/outbox';
import { paceFromStored, PaceState } from '../../core/pacing';
import { recordKind } from './recordKind';

// A destination's rate budget (core/pacing.ts), stored when its deliveries pass from one runtime
// to another: the backlog job may run on any server instance, and each must know what the
// service already allowed. A runtime that keeps a destination to itself paces it in memory.
// Kept by the destination's key, or by its account's where the service counts per account
// (RateLimits.sharedBy: one Matrix account's rooms share one budget).

const PACES = recordKind<PaceRecord>('relay-bridge:pace');

export interface PaceRecord {
    targetKey: string;
    state: PaceState;
}

function keyFor(targetKey: string): RocketChatAssociationRecord {
    return new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `pace:${targetHash(targetKey)}`);
}

export async function readPace(reader: IPersistenceRead, targetKey: string): Promise<PaceState | undefined> {
    const record = await PACES.read(reader, keyFor(targetKey));
    return record && record.targetKey === targetKey ? paceFromStored(record.state) : undefined;
}

export function savePace(persistence: IPersistence, targetKey: string, state: PaceState): Promise<void> {
    return PACES.save(persistence, keyFor(targetKey), { targetKey, state });
}
