// A message's id map as two server instances store it at once: each store is a part of its own,
// and a read merges them (src/shell/records/messageMap.ts).
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

import { readMessageMap, removeMessageMap, saveRemoteIds } from '../../../src/shell/records/messageMap';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** App persistence as the server keeps it: a read finds the records carrying all its keys; each call takes `latencyMs`. */
function store(latencyMs: number) {
    const records: Array<{ keys: string[]; data: any }> = [];
    const keysOf = (assocs: RocketChatAssociationRecord[]) => assocs.map((a) => `${a.getModel()}:${a.getID()}`);
    const find = (keys: string[]) => records.filter((r) => keys.every((k) => r.keys.indexOf(k) >= 0));
    const reader = {
        readByAssociations: async (assocs: RocketChatAssociationRecord[]) => {
            const found = find(keysOf(assocs)).map((r) => JSON.parse(JSON.stringify(r.data)));
            await sleep(latencyMs);
            return found;
        },
    };
    const persistence = {
        updateByAssociations: async (assocs: RocketChatAssociationRecord[], data: any, upsert: boolean) => {
            await sleep(latencyMs);
            const keys = keysOf(assocs);
            const found = find(keys);
            if (found.length) found.forEach((r) => (r.data = JSON.parse(JSON.stringify(data))));
            else if (upsert) records.push({ keys, data: JSON.parse(JSON.stringify(data)) });
        },
        removeByAssociations: async (assocs: RocketChatAssociationRecord[]) => {
            await sleep(latencyMs);
            const keys = keysOf(assocs);
            for (let i = records.length - 1; i >= 0; i--) if (keys.every((k) => records[i].keys.indexOf(k) >= 0)) records.splice(i, 1);
        },
    };
    return { records, reader: reader as any, persistence: persistence as any };
}

const message = { id: 'm1', room: { id: 'GENERAL' }, timestamp: '2026-12-06T10:00:00.000Z' };

describe('message id map in parts', () => {
    it("two instances storing one message's ids for different destinations at once both keep theirs", async () => {
        const { reader, persistence } = store(20);
        // A line on one instance stores what it delivered while the job on the other stores its destination.
        await Promise.all([
            saveRemoteIds(persistence, message, 'entry-a', { 'one#general': ['r1'] }, { 'one#general': 1000 }),
            saveRemoteIds(persistence, message, 'entry-b', { 'two#general': ['r2'] }, { 'two#general': 1001 }),
        ]);
        // Before (one record per message, read, merged, written by each): the later write dropped the other's destination.
        expect((await readMessageMap(reader, 'm1'))!.targets).toEqual({ 'one#general': ['r1'], 'two#general': ['r2'] });
    });

    it("a later event's ids win whatever order the parts were written in; a delete leaves the destination out", async () => {
        const { reader, persistence } = store(0);
        await saveRemoteIds(persistence, message, 'edit', { 'one#general': ['r1-edited'] }, { 'one#general': 2000 }); // the edit's store landed first
        await saveRemoteIds(persistence, message, 'send', { 'one#general': ['r1'], 'two#general': ['r2'] }, { 'one#general': 1000, 'two#general': 1000 });
        expect((await readMessageMap(reader, 'm1'))!.targets).toEqual({ 'one#general': ['r1-edited'], 'two#general': ['r2'] });
        await saveRemoteIds(persistence, message, 'delete', { 'two#general': [] }, { 'two#general': 3000 });
        expect((await readMessageMap(reader, 'm1'))!.targets).toEqual({ 'one#general': ['r1-edited'] });
        await saveRemoteIds(persistence, message, 'delete-one', { 'one#general': [] }, { 'one#general': 3001 });
        expect(await readMessageMap(reader, 'm1')).toBeUndefined();
    });

    it('a map stored before parts (one record per message) is read, and a newer part wins over it; removal takes every part', async () => {
        const { records, reader, persistence } = store(0);
        const old = { messageId: 'm1', roomId: 'GENERAL', targets: { 'one#general': ['r1'], 'two#general': ['r2'] }, createdAt: message.timestamp };
        const kind = new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, 'relay-bridge:message-map');
        await persistence.updateByAssociations([kind, new RocketChatAssociationRecord(RocketChatAssociationModel.MESSAGE, 'm1')], old, true);
        expect((await readMessageMap(reader, 'm1'))!.targets).toEqual(old.targets);
        await saveRemoteIds(persistence, message, 'edit', { 'two#general': ['r2-edited'] }, { 'two#general': 2000 });
        expect((await readMessageMap(reader, 'm1'))!.targets).toEqual({ 'one#general': ['r1'], 'two#general': ['r2-edited'] });
        expect(records).toHaveLength(2); // the old record was not overwritten by the part
        await removeMessageMap(persistence, 'm1');
        expect(records).toHaveLength(0);
        expect(await readMessageMap(reader, 'm1')).toBeUndefined();
    });
});
