// Relay accounts and files sent (records/unmarkedRelays.ts): what lets a server recognise its own
// uploaded file coming back from another Relay Bridge, whose server picked the file message's id.
import { FILE_ECHO_WINDOW_MS, isOwnFilesBack, learnRelayAccount, noteFilesSent, readRelayAccount } from '../../../src/shell/records/unmarkedRelays';

function fakePersistence() {
    const records = new Map<string, object>();
    let writes = 0;
    const keyOf = (associations: Array<{ getID(): string }>) => associations.map((a) => a.getID()).join('|');
    return {
        writes: () => writes,
        reader: { readByAssociations: async (associations: any) => (records.has(keyOf(associations)) ? [records.get(keyOf(associations))] : []) } as any,
        persistence: { updateByAssociations: async (associations: any, record: object) => { writes++; records.set(keyOf(associations), record); } } as any,
    };
}

describe('relay accounts and files sent', () => {
    const photo = { name: 'photo.png', size: 19 };
    const now = Date.parse('2026-12-05T12:00:00Z');

    it('a relay account is written once, and again only when it posts for another server', async () => {
        const store = fakePersistence();
        await learnRelayAccount(store.reader, store.persistence, 'U1', 'rb-b');
        await learnRelayAccount(store.reader, store.persistence, 'U1', 'rb-b');
        expect(store.writes()).toBe(1);
        await learnRelayAccount(store.reader, store.persistence, 'U1', 'rb-c');
        expect(await readRelayAccount(store.reader, 'U1')).toMatchObject({ userId: 'U1', server: 'rb-c' });
        expect(await readRelayAccount(store.reader, 'U2')).toBeUndefined();
    });

    it('own files back: a relay account, every file sent from here within the window', async () => {
        const store = fakePersistence();
        await learnRelayAccount(store.reader, store.persistence, 'RELAY', 'rb-b');
        await noteFilesSent(store.persistence, [photo], new Date(now));
        expect(await isOwnFilesBack(store.reader, 'RELAY', [photo], now + 1000)).toBe(true);
        // Another user (a person re-posting the same file), another file, a second file not sent, or too late: not ours.
        expect(await isOwnFilesBack(store.reader, 'ALICE', [photo], now + 1000)).toBe(false);
        expect(await isOwnFilesBack(store.reader, 'RELAY', [{ name: 'photo.png', size: 20 }], now + 1000)).toBe(false);
        expect(await isOwnFilesBack(store.reader, 'RELAY', [photo, { name: 'other.txt', size: 3 }], now + 1000)).toBe(false);
        expect(await isOwnFilesBack(store.reader, 'RELAY', [photo], now + FILE_ECHO_WINDOW_MS + 1)).toBe(false);
        expect(await isOwnFilesBack(store.reader, 'RELAY', [], now)).toBe(false);
    });
});
