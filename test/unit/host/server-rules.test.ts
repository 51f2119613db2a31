// The local host's copy of the rules a real Rocket.Chat server applies to app posts and uploads.
// One row per rule; each names the Rocket.Chat source it follows (docs/HOST-FIDELITY.md lists them).
/* eslint-disable @typescript-eslint/no-var-requires */
const { ServerRules, SERVER_SETTING_DEFAULTS, determineFileType } = require('../../../host/server-rules');
const { HostState } = require('../../../host/state');

function makeHost(settings: Record<string, unknown> = {}) {
    const host: any = { serverSettings: { ...SERVER_SETTING_DEFAULTS, ...settings } };
    host.state = new HostState({ siteUrl: 'http://localhost:1' });
    const s = host.state;
    host.admin = s.createUser({ id: 'admin', username: 'admin', roles: ['admin', 'user'] });
    host.alice = s.createUser({ id: 'alice', username: 'alice' });
    host.app = s.createUser({ id: 'appuser', username: 'relay.bot', type: 'app', roles: ['app'], appId: 'APP' });
    s.createRoom({ id: 'GENERAL', name: 'general', kind: 'channel', creatorId: 'admin', memberIds: ['alice'] });
    s.createRoom({ id: 'STAFF', name: 'staff', kind: 'private', creatorId: 'admin' });
    s.createRoom({ id: 'DM', name: '', kind: 'direct', creatorId: 'alice', memberIds: ['admin'] });
    host.rules = new ServerRules(host);
    return host;
}

/** The app's message after the runtime (no id) and the converter, sent by the app user. */
function send(host: any, message: Record<string, unknown>) {
    const converted = host.rules.convertAppMessage({ room: { id: 'GENERAL' }, sender: { id: 'appuser' }, text: 'hi', ...message }, host.app);
    return host.rules.executeSendMessage(converted);
}

describe('messages an app posts (bridges/messages.ts create → executeSendMessage → sendMessage)', () => {
    it.each<[string, Record<string, unknown>, Record<string, unknown>, RegExp]>([
        ['customFields while Message_CustomFields_Enabled is off (validateCustomMessageFields.ts)', {}, { customFields: { origin: 'x' } }, /^Custom fields not enabled$/],
        ['customFields outside the admin’s schema (additionalProperties: false)', { Message_CustomFields_Enabled: true }, { customFields: { priority: 'high', origin: 'x' } }, /^Invalid custom fields$/],
        ['customFields missing a required property', { Message_CustomFields_Enabled: true }, { customFields: {} }, /^Invalid custom fields$/],
        ['text over Message_MaxAllowedSize (methods/sendMessage.ts)', { Message_MaxAllowedSize: 10 }, { text: 'x'.repeat(11) }, /\[error-message-size-exceeded\]$/],
        ['a thread reply while Threads_enabled is off', { Threads_enabled: false }, { threadId: 'anything' }, /^not-allowed \[error-not-allowed\]$/],
        ['an attachment link that is not absolute (validFullURLParam)', {}, { attachments: [{ imageUrl: 'img.png' }] }, /^Invalid href value provided$/],
        ['a javascript: attachment link', {}, { attachments: [{ title: { value: 't', link: 'javascript:alert(1)' } }] }, /^Invalid href value provided$/],
        ['an attachment field of the wrong type', {}, { attachments: [{ fields: [{ title: 5, value: 'v' }] }] }, /Match error.*in field title/],
        ['@all from a user without mention-all (BeforeSavePreventMention)', {}, { text: 'hey @all' }, /Notify all in this room not allowed \[error-action-not-allowed\]/],
        ['@here from a user without mention-here', {}, { text: '@here look' }, /Notify here in this room not allowed/],
        ['a string attachment timestamp (the converter calls toJSON on it)', {}, { attachments: [{ text: 'x', timestamp: '2024-01-01' }] }, /toJSON is not a function/],
    ])('refuses %s', (_rule, settings, message, error) => {
        const host = makeHost(settings);
        expect(() => send(host, message)).toThrow(error);
    });

    it('accepts customFields that match the admin’s schema', () => {
        const host = makeHost({ Message_CustomFields_Enabled: true });
        expect(send(host, { customFields: { priority: 'high' } })).toMatchObject({ customFields: { priority: 'high' } });
    });

    it('accepts text of exactly Message_MaxAllowedSize and fields without title or value', () => {
        const host = makeHost({ Message_MaxAllowedSize: 10 });
        const sent = send(host, { text: 'x'.repeat(10), attachments: [{ fields: [{ title: 'only title' }, { value: 3, short: true }] }] });
        expect(sent.attachments[0].fields).toEqual([{ title: 'only title' }, { value: '3', short: true }]);
    });

    it('moves a reply into its parent’s room, whatever room it named (no cross-room check)', () => {
        const host = makeHost();
        const parent = host.state.insertMessage({ roomId: 'STAFF', senderId: 'admin', text: 'secret thread' });
        expect(send(host, { room: { id: 'GENERAL' }, threadId: parent.id })).toMatchObject({ rid: 'STAFF', tmid: parent.id });
    });

    it('flattens nested threads to the root', () => {
        const host = makeHost();
        const root = host.state.insertMessage({ roomId: 'GENERAL', senderId: 'admin', text: 'root' });
        const reply = host.state.insertMessage({ roomId: 'GENERAL', senderId: 'admin', text: 'reply', threadId: root.id });
        expect(send(host, { threadId: reply.id })).toMatchObject({ tmid: root.id });
    });

    it.each<[string, (host: any) => void, RegExp]>([
        ['a read-only room without post-readonly (canSendMessage.ts)', (h) => (h.state.rooms.get('GENERAL').isReadOnly = true), /^You can't send messages because the room is readonly\.$/],
        ['a room where the app user is muted', (h) => (h.state.rooms.get('GENERAL').muted = ['relay.bot']), /^You_have_been_muted$/],
        ['an archived room', (h) => (h.state.rooms.get('GENERAL').archived = true), /^room_is_archived$/],
        ['an encrypted room while E2E is on and unencrypted messages are not allowed', (h) => {
            h.state.rooms.get('GENERAL').encrypted = true;
            h.serverSettings.E2E_Enable = true;
        }, /un-encrypted messages in an encrypted room \[error-not-allowed\]/],
    ])('refuses %s', (_rule, arrange, error) => {
        const host = makeHost();
        arrange(host);
        expect(() => send(host, {})).toThrow(error);
    });

    it('lets a read-only room’s owner post, and an app user that was unmuted there', () => {
        const host = makeHost();
        host.state.rooms.get('GENERAL').isReadOnly = true;
        expect(host.rules.executeSendMessage({ rid: 'GENERAL', u: { _id: 'admin' }, msg: 'owner speaks' })).toBeDefined();
        host.state.rooms.get('GENERAL').unmuted = ['relay.bot'];
        expect(send(host, {})).toBeDefined();
    });

    it('needs message-impersonate for alias and avatar (the app role has it, a plain user not)', () => {
        const host = makeHost();
        expect(send(host, { alias: 'CI', avatarUrl: 'https://x/a.png' })).toMatchObject({ alias: 'CI', avatar: 'https://x/a.png' });
        expect(() => host.rules.executeSendMessage({ rid: 'GENERAL', u: { _id: 'alice' }, msg: 'x', alias: 'Boss' })).toThrow(/^Not enough permission$/);
    });

    it('reads only the app’s attachment keys; snake_case ones are lost (converters/messages.ts)', () => {
        const host = makeHost();
        const sent = send(host, { attachments: [{ image_url: 'https://x/a.png', title: { value: 'T', link: 'https://x' }, author: { name: 'A' }, color: '#f00', _unmappedProperties_: { ts: '2024-01-01T00:00:00Z' } }] });
        expect(sent.attachments).toEqual([{ title: 'T', title_link: 'https://x', author_name: 'A', color: '#f00', ts: '2024-01-01T00:00:00Z' }]);
    });

    it('keeps an _id given through _unmappedProperties_, and returns nothing when that id exists', () => {
        const host = makeHost();
        const first = send(host, { _unmappedProperties_: { _id: 'CHOSENID000000001' } });
        expect(first._id).toBe('CHOSENID000000001');
        host.state.insertMessage({ id: first._id, roomId: 'GENERAL', senderId: 'appuser', text: 'hi' });
        expect(send(host, { _unmappedProperties_: { _id: 'CHOSENID000000001' } })).toBeUndefined();
    });

    it('checks only existence and customFields on update (functions/updateMessage.ts)', () => {
        const host = makeHost({ Message_MaxAllowedSize: 5, Threads_enabled: false });
        const stored = host.state.insertMessage({ roomId: 'GENERAL', senderId: 'appuser', text: 'x' });
        expect(() => host.rules.checkUpdate(stored.id, { text: 'far longer than five' })).not.toThrow();
        expect(() => host.rules.checkUpdate('nope', { text: 'x' })).toThrow(/^Invalid message ID\.$/);
        expect(() => host.rules.checkUpdate(stored.id, { customFields: { a: 1 } })).toThrow(/^Custom fields not enabled$/);
    });
});

describe('files an app uploads (bridges/uploads.ts → FileUpload.ts validateFileUpload)', () => {
    const upload = (host: any, overrides: Record<string, unknown> = {}) => host.rules.validateFileUpload({ size: 10, type: 'text/plain', rid: 'GENERAL', user: host.app, ...overrides });

    it.each<[string, Record<string, unknown>, Record<string, unknown>, RegExp]>([
        ['uploads while FileUpload_Enabled is off', { FileUpload_Enabled: false }, {}, /\[error-file-upload-disabled\]$/],
        ['uploads to a direct room while FileUpload_Enabled_Direct is off', { FileUpload_Enabled_Direct: false }, { rid: 'DM' }, /\[error-direct-message-file-upload-not-allowed\]$/],
        ['a file over FileUpload_MaxFileSize', { FileUpload_MaxFileSize: 9 }, {}, /\[error-file-too-large\]$/],
        ['image/svg+xml (on the default black list)', {}, { type: 'image/svg+xml' }, /\[error-invalid-file-type\]$/],
        ['a type outside a white list with wildcards', { FileUpload_MediaTypeWhiteList: 'image/*, application/pdf' }, { type: 'text/plain' }, /\[error-invalid-file-type\]$/],
        ['an empty file (ufs-filter.ts)', {}, { size: 0 }, /\[file-too-small\]$/],
    ])('refuses %s', (_rule, settings, overrides, error) => {
        expect(() => upload(makeHost(settings), overrides)).toThrow(error);
    });

    it('accepts what the lists allow, and any size with FileUpload_MaxFileSize -1', () => {
        expect(() => upload(makeHost({ FileUpload_MediaTypeWhiteList: 'image/*, application/pdf' }), { type: 'image/png' })).not.toThrow();
        expect(() => upload(makeHost({ FileUpload_MaxFileSize: -1 }), { size: 10 ** 9 })).not.toThrow();
    });

    it('types a file by its name first, then its bytes (determineFileType.ts)', () => {
        const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0]);
        expect(determineFileType(png, 'drawing.svg')).toBe('image/svg+xml');
        expect(determineFileType(png, 'noextension')).toBe('image/png');
        expect(determineFileType(Buffer.from('hello'), 'noextension')).toBe('application/octet-stream');
    });
});
