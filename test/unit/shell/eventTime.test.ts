import { IMessage } from '@rocket.chat/apps-engine/definition/messages';

import { eventTime } from '../../../src/shell/outbound';

// The time the pipeline orders a destination's entries by: the server's own record of the event,
// the same on every instance (issue 15).
describe('eventTime', () => {
    const now = Date.parse('2026-12-05T12:00:10Z');
    const message = (fields: Partial<IMessage>) => fields as IMessage;
    it.each([
        ['a new message: its creation time', 'sent', { createdAt: new Date('2026-12-05T12:00:01Z') }, Date.parse('2026-12-05T12:00:01Z')],
        ['an edit: its edit time, not the creation time', 'edited', { createdAt: new Date('2026-12-05T12:00:01Z'), editedAt: new Date('2026-12-05T12:00:05Z') }, Date.parse('2026-12-05T12:00:05Z')],
        ['an edit without editedAt: the update time', 'edited', { createdAt: new Date('2026-12-05T12:00:01Z'), updatedAt: new Date('2026-12-05T12:00:06Z') }, Date.parse('2026-12-05T12:00:06Z')],
        ['a delete carries no time of its own: its arrival', 'deleted', { createdAt: new Date('2026-12-05T12:00:01Z'), updatedAt: new Date('2026-12-05T12:00:06Z') }, now],
        ['a time in the future (a clock ahead): now', 'sent', { createdAt: new Date('2026-12-05T12:01:00Z') }, now],
        ['no usable time: now', 'sent', { createdAt: 'not a date' as unknown as Date }, now],
        ['a date as text (as the runtime may hand it)', 'sent', { createdAt: '2026-12-05T12:00:02.500Z' as unknown as Date }, Date.parse('2026-12-05T12:00:02.500Z')],
    ])('%s', (_label, event, fields, expected) => {
        expect(eventTime(event as 'sent' | 'edited' | 'deleted', message(fields as Partial<IMessage>), now)).toBe(expected);
    });
});
