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

// Which runtime's backlog job works a destination — or every destination of a budget several
// share (one Matrix account's rooms) — now: one at a time, by the budget's key (the destination's
// own where it has its own budget). Each runtime keeps its own hold record for the key (a runtime
// never overwrites another's); the live hold taken first wins (src/shell/pipeline.ts, holdBudget).

const HOLDS = new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, 'relay-bridge:pace-hold');

export interface PaceHold {
    runtimeId: string;
    /** When this runtime took the hold (kept while it renews): the earliest live one wins. */
    since: number;
    /** Lapses then unless renewed (a runtime that dies holding it blocks no one longer). */
    until: number;
    /** The budget's hash (in its association too), so upkeep can remove exactly this hold. */
    budget?: string;
}

function holdKeys(budgetKey: string, runtimeId?: string): RocketChatAssociationRecord[] {
    const budget = new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `pace-hold:${targetHash(budgetKey)}`);
    return runtimeId === undefined ? [HOLDS, budget] : [HOLDS, budget, new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `pace-hold-by:${runtimeId}`)];
}

export async function listPaceHolds(reader: IPersistenceRead, budgetKey: string): Promise<PaceHold[]> {
    const found = ((await reader.readByAssociations(holdKeys(budgetKey))) || []) as unknown[];
    return found.filter((h): h is PaceHold => !!h && typeof (h as PaceHold).runtimeId === 'string' && typeof (h as PaceHold).since === 'number' && typeof (h as PaceHold).until === 'number');
}

export async function savePaceHold(persistence: IPersistence, budgetKey: string, hold: PaceHold): Promise<void> {
    await persistence.updateByAssociations(holdKeys(budgetKey, hold.runtimeId), { ...hold, budget: targetHash(budgetKey) }, true);
}

export async function removePaceHold(persistence: IPersistence, budgetKey: string, runtimeId: string): Promise<void> {
    await persistence.removeByAssociations(holdKeys(budgetKey, runtimeId));
}

/**
 * Removes holds that lapsed `graceMs` ago or more: a runtime that died holding a budget nobody
 * takes again leaves its record for good otherwise (taking a budget clears only its own key's).
 */
export async function expirePaceHolds(reader: IPersistenceRead, persistence: IPersistence, now: number, graceMs: number): Promise<number> {
    const all = ((await reader.readByAssociations([HOLDS])) || []) as Array<Partial<PaceHold>>;
    const lapsed = all.filter((h) => typeof h.runtimeId === 'string' && typeof h.budget === 'string' && typeof h.until === 'number' && h.until < now - graceMs);
    for (const hold of lapsed) {
        const keys = [HOLDS, new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `pace-hold:${hold.budget}`), new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `pace-hold-by:${hold.runtimeId}`)];
        await persistence.removeByAssociations(keys);
    }
    return lapsed.length;
}
