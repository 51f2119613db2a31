import { checkUpload, classifyServerRefusal, isCustomFieldsRefusal, SERVER_DEFAULTS, serverFileType, serverPostRules, smallerLimit, typeAllowed } from '../../../src/inbound/serverRules';

describe('server post rules from settings', () => {
    it('reads the settings and keeps a fresh server’s value for anything missing or malformed', () => {
        expect(serverPostRules({})).toEqual(SERVER_DEFAULTS);
        expect(serverPostRules({ maxMessageLength: '800', threadsEnabled: false, maxUploadBytes: -1, typeWhiteList: 'image/*' })).toMatchObject({ maxMessageLength: 800, threadsEnabled: false, maxUploadBytes: -1, typeWhiteList: 'image/*' });
        expect(serverPostRules({ maxMessageLength: 'lots', threadsEnabled: 'yes', maxUploadBytes: '' })).toEqual(SERVER_DEFAULTS);
        expect(serverPostRules({ maxMessageLength: 0 }).maxMessageLength).toBe(5000);
    });
});

describe('upload checks (FileUpload.ts validateFileUpload, restrictions.ts)', () => {
    it.each<[string, string | undefined, string]>([
        ['logo.svg', 'image/png', 'image/svg+xml'],
        ['photo.JPG', undefined, 'image/jpeg'],
        ['noext', 'text/csv', 'text/csv'],
        ['noext', undefined, 'application/octet-stream'],
    ])('types %s (declared %s) as the server will: %s', (name, declared, type) => expect(serverFileType(name, declared)).toBe(type));

    it.each<[string, string, string, boolean]>([
        ['image/svg+xml', '', 'image/svg+xml', false],
        ['image/png', '', 'image/svg+xml', true],
        ['image/png', 'image/*', '', true],
        ['text/plain', 'image/*, application/pdf', '', false],
        ['application/pdf', 'image/*, application/pdf', '', true],
        ['image/png', '*', 'image/*', false],
    ])('%s with white list "%s" and black list "%s" → %s', (type, white, black, allowed) => {
        expect(typeAllowed(type, { ...SERVER_DEFAULTS, typeWhiteList: white, typeBlackList: black })).toBe(allowed);
    });

    it.each<[string, Partial<typeof SERVER_DEFAULTS>, { name: string; size: number }, string, number, number | undefined]>([
        ['fits', {}, { name: 'a.txt', size: 10 }, 'c', 100, undefined],
        ['uploads off', { uploadsEnabled: false }, { name: 'a.txt', size: 10 }, 'c', 100, 403],
        ['direct room with direct uploads off', { uploadsInDirectRooms: false }, { name: 'a.txt', size: 10 }, 'd', 100, 403],
        ['empty', {}, { name: 'a.txt', size: 0 }, 'c', 100, 400],
        ['too large', {}, { name: 'a.txt', size: 101 }, 'c', 100, 413],
        ['svg', {}, { name: 'a.svg', size: 10 }, 'c', 100, 415],
    ])('%s', (_what, rules, file, roomType, max, status) => {
        const run = () => checkUpload(file, { ...SERVER_DEFAULTS, ...rules }, roomType, max, 'attachments[0]');
        if (status === undefined) {
            expect(run).not.toThrow();
        } else {
            expect(run).toThrow(expect.objectContaining({ status, field: 'attachments[0]' }));
        }
    });

    it('takes the smaller limit, -1 meaning none', () => {
        expect([smallerLimit(50, 100), smallerLimit(50, 10), smallerLimit(50, -1)]).toEqual([50, 10, 50]);
    });
});

describe('the server’s refusals, as the app sees them, become answers for the sender', () => {
    it.each<[string, number | undefined]>([
        ["You can't send messages because the room is readonly.", 403],
        ['You_have_been_muted', 403],
        ['room_is_archived', 403],
        ['Not allowed to send un-encrypted messages in an encrypted room [error-not-allowed]', 403],
        ['not-allowed [error-not-allowed]', 400],
        ['Message size exceeds Message_MaxAllowedSize [error-message-size-exceeded]', 413],
        ['Not enough permission', 403],
        ['Notify all in this room not allowed [error-action-not-allowed]', 403],
        ['Invalid href value provided', 400],
        ['Match error: Expected string, got number in field title', 400],
        ['File type is not accepted [error-invalid-file-type]', 415],
        ['File exceeds allowed size of 4 bytes [error-file-too-large]', 413],
        ['File upload is disabled [error-file-upload-disabled]', 403],
        ['File size (size = 0) is too small (min = 1) [file-too-small]', 400],
        // Not refusals: the server could not do it now; the sender should retry.
        ['MongoNetworkError: connection reset', undefined],
        ['[appId] Request "9" for method "bridges:getMessageBridge:doCreate" timed out after 30000ms', undefined],
    ])('%s', (message, status) => {
        const refusal = classifyServerRefusal(message);
        expect(refusal && refusal.status).toBe(status);
        if (refusal) {
            expect(refusal.message).not.toContain(message); // said in the sender's terms
        }
    });

    it('recognises the custom-field refusals (the post is retried without them)', () => {
        expect(['Custom fields not enabled', 'Invalid custom fields', 'something else'].map(isCustomFieldsRefusal)).toEqual([true, true, false]);
    });
});
