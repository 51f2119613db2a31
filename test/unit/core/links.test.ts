import { mergeLinks, parseQuickLinks, RoomLink } from '../../../src/core/links';
import { maskUrl } from '../../../src/core/redact';

const link = (fields: Partial<RoomLink>): RoomLink => ({ id: 'abc', roomId: 'GENERAL', roomName: 'general', createdBy: 'admin', createdAt: '', ...fields });

describe('mergeLinks', () => {
    it.each([
        ['no links: the text is untouched', '{ "rules": [] }', [], '{ "rules": [] }'],
        ['invalid JSON is untouched (its error keeps its line and column)', '{ "rules": [', [link({ instance: 'dc' })], '{ "rules": ['],
        [
            'an instance link adds a forward rule from the room',
            '{"instances":{"dc":{"url":"discord://1/t"}},"rules":[]}',
            [link({ instance: 'dc' })],
            { instances: { dc: { url: 'discord://1/t' } }, rules: [{ id: 'link-abc', from: { rocketchat: { room_id: 'GENERAL' } }, to: { dc: {} } }] },
        ],
        [
            'a URL link adds its own instance; a quick link names the room',
            '{"rules":[{"id":"x"}]}',
            [link({ url: 'json://h/p', roomId: '', roomName: 'dev' })],
            { instances: { link_abc: { url: 'json://h/p' } }, rules: [{ id: 'x' }, { id: 'link-abc', from: { rocketchat: { room: 'dev' } }, to: { link_abc: {} } }] },
        ],
    ])('%s', (_label, text, links, expected) => {
        const merged = mergeLinks(text as string, links as RoomLink[]);
        expect(typeof expected === 'string' ? merged : JSON.parse(merged)).toEqual(expected);
    });
});

describe('parseQuickLinks', () => {
    it.each([
        ['', []],
        ['#general discord://1/t slack://a/b/c', [['general', 'discord://1/t'], ['general', 'slack://a/b/c']]],
        ['#general discord://1/t;\n #dev json://h/x ;', [['general', 'discord://1/t'], ['dev', 'json://h/x']]],
    ])('%j', (text, expected) => {
        expect(parseQuickLinks(text as string).map((l) => [l.roomName, l.url])).toEqual(expected);
    });

    it.each([
        ['general discord://1/t', /group 1: starts with "general", not a #room/],
        ['#general', /group 1: #general has no URL after it/],
        ['#a json://h/x; #b not-a-url', /group 2: "\*\*\*" after #b is not a URL/],
    ])('%j is refused: %s', (text, error) => {
        expect(() => parseQuickLinks(text)).toThrow(error);
    });

    it('masks URLs', () => {
        expect(maskUrl('discord://123/secret-token')).toBe('discord://123/***');
        expect(maskUrl('rockets://user:pass@chat.example.com/#x')).toBe('rockets://***@chat.example.com/***');
    });
});
