import { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

// Delivery counters per target. Each runtime accumulates in memory and writes its own record at
// most every FLUSH_MS (a persistence write per message per target would double the cost of a
// relay); readers add the records of all runtimes up. A crash loses at most FLUSH_MS of counts.

const COUNTERS = new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, 'relay-bridge:counters');
const FLUSH_MS = 5000;

export interface TargetCounters {
    instance: string;
    targetKey: string;
    sent: number;
    retried: number;
    failed: number;
    deadLettered: number;
    lastError?: string;
    lastErrorAt?: number;
    lastSuccessAt?: number;
}

interface CounterRecord extends TargetCounters {
    runtimeId: string;
}

export type CounterEvent = 'sent' | 'retried' | 'failed' | 'deadLettered';

export class DeliveryCounters {
    private readonly totals = new Map<string, TargetCounters>();
    private readonly dirty = new Set<string>();
    private flushedAt = 0;

    constructor(public readonly runtimeId: string) {}

    /** This runtime's totals, including what is not written yet. */
    public live(): TargetCounters[] {
        return Array.from(this.totals.values()).map((c) => ({ ...c }));
    }

    public count(targetKey: string, instance: string, event: CounterEvent, error?: string): void {
        let counters = this.totals.get(targetKey);
        if (!counters) {
            counters = { instance, targetKey, sent: 0, retried: 0, failed: 0, deadLettered: 0 };
            this.totals.set(targetKey, counters);
        }
        counters[event] += 1;
        if (event === 'sent') {
            counters.lastSuccessAt = Date.now();
        }
        if (error) {
            counters.lastError = error;
            counters.lastErrorAt = Date.now();
        }
        this.dirty.add(targetKey);
    }

    /** Writes changed counters when FLUSH_MS has passed (or always with `force`). */
    public async flush(persistence: IPersistence, force = false): Promise<void> {
        if (this.dirty.size === 0 || (!force && Date.now() - this.flushedAt < FLUSH_MS)) {
            return;
        }
        this.flushedAt = Date.now();
        const keys = Array.from(this.dirty);
        this.dirty.clear();
        for (const key of keys) {
            const record: CounterRecord = { ...this.totals.get(key)!, runtimeId: this.runtimeId };
            await persistence.updateByAssociations(recordKeys(key, this.runtimeId), record, true);
        }
    }
}

function recordKeys(targetKey: string, runtimeId: string): RocketChatAssociationRecord[] {
    return [COUNTERS, new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `counters:${runtimeId}:${targetKey}`)];
}

/** Counters of every runtime, added up per target; `live` replaces this runtime's stored record. */
export async function readCounters(reader: IPersistenceRead, live?: DeliveryCounters): Promise<TargetCounters[]> {
    let records = ((await reader.readByAssociations([COUNTERS])) || []) as CounterRecord[];
    if (live) {
        records = records.filter((r) => r.runtimeId !== live.runtimeId).concat(live.live().map((c) => ({ ...c, runtimeId: live.runtimeId })));
    }
    const byTarget = new Map<string, TargetCounters>();
    for (const record of records) {
        const sum = byTarget.get(record.targetKey) || { instance: record.instance, targetKey: record.targetKey, sent: 0, retried: 0, failed: 0, deadLettered: 0 };
        sum.sent += record.sent;
        sum.retried += record.retried;
        sum.failed += record.failed;
        sum.deadLettered += record.deadLettered;
        if (record.lastErrorAt && (!sum.lastErrorAt || record.lastErrorAt > sum.lastErrorAt)) {
            sum.lastError = record.lastError;
            sum.lastErrorAt = record.lastErrorAt;
        }
        if (record.lastSuccessAt && (!sum.lastSuccessAt || record.lastSuccessAt > sum.lastSuccessAt)) {
            sum.lastSuccessAt = record.lastSuccessAt;
        }
        byTarget.set(record.targetKey, sum);
    }
    return Array.from(byTarget.values());
}
