// App persistence as the engine keeps it, in memory: records by their association keys (exact match).
export function fakePersistence() {
    const records = new Map<string, object>();
    const keyOf = (associations: Array<{ getID(): string }>) => associations.map((a) => a.getID()).join('|');
    return {
        records,
        read: { getPersistenceReader: () => ({ readByAssociations: async (associations: any) => (records.has(keyOf(associations)) ? [records.get(keyOf(associations))] : []) }) },
        persistence: {
            updateByAssociations: async (associations: any, record: object) => { records.set(keyOf(associations), record); },
            removeByAssociations: async (associations: any) => { records.delete(keyOf(associations)); },
        },
    };
}
