import { IMessage } from '@rocket.chat/apps-engine/definition/messages';

import { systemMessageText } from '../../../src/core/message';
import { toRelayMessage } from '../../../src/shell/normalize';

const SITE = 'https://chat.example.com';

function message(extra: Record<string, unknown>): IMessage {
    return {
        id: 'M1',
        text: 'hello',
        sender: { id: 'u1', username: 'alice', name: 'Alice', type: 'user', roles: ['user'] },
        room: { id: 'GENERAL', slugifiedName: 'general', type: 'c' },
        createdAt: new Date('2024-01-01T00:00:00Z'),
        ...extra,
    } as unknown as IMessage;
}

const one = { _id: 'F1', name: 'one.txt', type: 'text/plain', size: 5 };
const two = { _id: 'F2', name: 'two.png', type: 'image/png', size: 4 };
const thumb = { _id: 'F3', name: 'thumb-two.png', type: 'image/png', size: 1 };

describe('toRelayMessage: files from wherever the converter put them', () => {
    const names = (extra: Record<string, unknown>) => toRelayMessage('sent', message(extra), SITE).files.map((f) => f.name);

    it.each<[string, Record<string, unknown>, string[]]>([
        ['mapped `files` (newer converter), thumbnail marked', { file: one, files: [one, two, { ...thumb, typeGroup: 'thumb' }] }, ['one.txt', 'two.png']],
        ['`files` only in _unmappedProperties_ (7.x converter)', { file: one, _unmappedProperties_: { files: [one, two, { ...thumb, typeGroup: 'thumb' }] } }, ['one.txt', 'two.png']],
        ['an old message: the second of two files with one attachment is its thumbnail', { file: two, _unmappedProperties_: { files: [two, thumb] }, attachments: [{ title: { value: 'two.png' } }] }, ['two.png']],
        ['two files and two attachments are two files', { _unmappedProperties_: { files: [one, two] }, attachments: [{}, {}] }, ['one.txt', 'two.png']],
        ['only the single `file` of older servers', { file: one }, ['one.txt']],
        ['no files', {}, []],
    ])('%s', (_name, extra, expected) => expect(names(extra)).toEqual(expected));

    it('links each file on this server with its upload id', () => {
        const [file] = toRelayMessage('sent', message({ _unmappedProperties_: { files: [{ _id: 'F9', name: 'a b.txt', type: 'text/plain', size: 3 }] } }), SITE).files;
        expect(file).toEqual({ url: `${SITE}/file-upload/F9/a%20b.txt`, name: 'a b.txt', mimeType: 'text/plain', size: 3, uploadId: 'F9' });
    });
});

describe('toRelayMessage: message types', () => {
    it('words a system message and marks it', () => {
        const relay = toRelayMessage('sent', message({ type: 'room_changed_topic', text: 'Release day' }), SITE);
        expect(relay).toMatchObject({ isSystem: true, systemType: 'room_changed_topic', text: 'changed the topic to: Release day' });
        expect(relay.encrypted).toBeUndefined();
    });

    it('marks an e2e message encrypted, not system', () => {
        const relay = toRelayMessage('sent', message({ type: 'e2e', text: '{"ciphertext":"x"}' }), SITE);
        expect(relay).toMatchObject({ isSystem: false, encrypted: true });
    });

    it('leaves ordinary messages alone', () => {
        expect(toRelayMessage('sent', message({}), SITE)).toMatchObject({ isSystem: false, text: 'hello' });
    });

    it.each([
        ['uj', 'alice', 'joined the room'],
        ['au', 'bob', 'added bob'],
        ['r', 'new-name', 'changed the room name to new-name'],
        ['discussion-created', 'Plans', 'Plans'],
        ['constructor', '', '(constructor)'],
    ])('systemMessageText(%s, %s) → %s', (type, msg, text) => expect(systemMessageText(type, msg)).toBe(text));
});
