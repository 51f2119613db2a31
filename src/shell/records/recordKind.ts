import { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

// One kind of persistence record: every record carries the kind's association plus its own key,
// so it can be found by key and all of them listed (for expiry). The record modules say what a
// record holds and how it is keyed; reading, writing and listing are the same for all of them.

export interface RecordKind<T> {
    read(reader: IPersistenceRead, key: RocketChatAssociationRecord): Promise<T | undefined>;
    save(persistence: IPersistence, key: RocketChatAssociationRecord, record: T): Promise<void>;
    remove(persistence: IPersistence, key: RocketChatAssociationRecord): Promise<void>;
    list(reader: IPersistenceRead): Promise<T[]>;
}

export function recordKind<T>(name: string): RecordKind<T> {
    const kind = new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, name);
    return {
        async read(reader, key) {
            const found = (await reader.readByAssociations([kind, key])) as T[];
            return found && found.length ? found[0] : undefined;
        },
        async save(persistence, key, record) {
            await persistence.updateByAssociations([kind, key], record as unknown as object, true);
        },
        async remove(persistence, key) {
            await persistence.removeByAssociations([kind, key]);
        },
        async list(reader) {
            return ((await reader.readByAssociations([kind])) || []) as T[];
        },
    };
}
