import { decodeRemoteId, encodeRemoteId, RocketChatRemoteId, rocketChatTarget } from '../../../src/targets/rocketchat';
import { KEPT_LOOKUP, LOOKED_UP, TargetError } from '../../../src/core/adapter';
import { file, makeInput, outcome, response, runScripted, view } from './harness';

const SERVER = 'https://remote.example.net';
const tokenRaw = { server_url: `${SERVER}/`, user_id: 'BOTID', auth_token: 'PAT', room_id: 'DEFROOM' };
const loginRaw = { server_url: SERVER, username: 'relay', password: 'pw', channel: 'lobby' };
const webhookRaw = { send_method: 'webhook', webhook_url: `${SERVER}/hooks/HID/HTOKEN` };
const AUTH = { 'Content-Type': 'application/json', 'X-User-Id': 'BOTID', 'X-Auth-Token': 'PAT' };
const SESSION = { 'X-User-Id': 'S-UID', 'X-Auth-Token': 'S-TOKEN' };
const who = { alias: 'Alice', avatar: 'https://cdn.example.com/alice.png' };
const postMessage = (json: Record<string, unknown>, headers: Record<string, string> = AUTH) =>
    ({ method: 'POST', url: `${SERVER}/api/v1/chat.postMessage`, headers, json });
const api = (endpoint: string, json: Record<string, unknown>) => ({ method: 'POST', url: `${SERVER}/api/v1/${endpoint}`, headers: AUTH, json });
const long = `${'a'.repeat(4000)}\n\n${'b'.repeat(4000)}`;

describe('rocketchat target: api mode requests', () => {
    it.each([
        ['sent to the default room, text as Rocket.Chat markdown', {}, [postMessage({ roomId: 'DEFROOM', text: 'hello *world*', ...who })]],
        ['rule channel room_id wins', { channel: { room_id: 'R2' } }, [postMessage({ roomId: 'R2', text: 'hello *world*', ...who })]],
        ['mentions neutralised', { rendered: { text: '@all @alice' } }, [postMessage({ roomId: 'DEFROOM', text: '@\u200Ball @alice', ...who })]],
        ['emoji when there is no avatar', { rendered: { avatarUrl: undefined, emoji: ':robot:' } }, [postMessage({ roomId: 'DEFROOM', text: 'hello *world*', alias: 'Alice', emoji: ':robot:' })]],
        [
            'split at 5000',
            { rendered: { text: long } },
            [postMessage({ roomId: 'DEFROOM', text: 'a'.repeat(4000), ...who }), postMessage({ roomId: 'DEFROOM', text: 'b'.repeat(4000), ...who })],
        ],
        [
            'thread reply: tmid and the parent\'s room',
            { message: { threadId: 'PARENT' }, remoteThreadId: 'R9/P9' },
            [postMessage({ roomId: 'R9', text: 'hello *world*', ...who, tmid: 'P9' })],
        ],
        [
            'edited: chat.update per text part, uploads untouched',
            { message: { event: 'edited' as const }, remoteIds: ['R1/M1', 'R1/M2/upload'] },
            [api('chat.update', { roomId: 'R1', msgId: 'M1', text: 'hello *world*' })],
        ],
        [
            'edited shorter: surplus text parts deleted',
            { message: { event: 'edited' as const }, remoteIds: ['R1/M1', 'R1/M2'] },
            [api('chat.update', { roomId: 'R1', msgId: 'M1', text: 'hello *world*' }), api('chat.delete', { roomId: 'R1', msgId: 'M2' })],
        ],
        [
            'deleted: every part, uploads too; a bare id uses the destination room',
            { message: { event: 'deleted' as const }, remoteIds: ['R1/M1', 'R1/M2/upload', 'M3'] },
            [api('chat.delete', { roomId: 'R1', msgId: 'M1' }), api('chat.delete', { roomId: 'R1', msgId: 'M2' }), api('chat.delete', { roomId: 'DEFROOM', msgId: 'M3' })],
        ],
    ])('%s', (_name, options, expected) => {
        const input = makeInput(rocketChatTarget, tokenRaw, options);
        expect(rocketChatTarget.buildRequests(input).map(view)).toEqual(expected);
    });

    describe('uploads', () => {
        const HEADERS = { 'X-User-Id': 'BOTID', 'X-Auth-Token': 'PAT' };
        const media = (room: string, name: string, type: string) => ({
            method: 'POST', url: `${SERVER}/api/v1/rooms.media/${room}`, headers: HEADERS, multipart: [{ name: 'file', filename: name, contentType: type, bytes: 'abc' }],
        });
        // A server with rooms.media (6.x and later, the only one on 8.x) and one without (404, as unknown routes answer).
        const server = (hasMedia: boolean) => {
            let next = 0;
            return (request: { url: string }) => {
                if (/rooms\.media\//.test(request.url)) {
                    return hasMedia ? response(200, { success: true, file: { _id: `F${++next}`, url: `/file-upload/F${next}/x` } }) : response(404, { success: false, error: 'API endpoint not found' });
                }
                return response(200, { success: true, message: { _id: `M${++next}`, rid: 'R9' } });
            };
        };
        const twoFiles = {
            message: { threadId: 'PARENT' }, remoteThreadId: 'R9/P9',
            files: [file('a.txt', 'text/plain', true), file('cat.png', 'image/png', true), file('big.bin', 'application/octet-stream', false)],
        };
        const textPost = postMessage({
            roomId: 'R9', text: 'hello *world*', ...who, tmid: 'P9',
            attachments: [{ title: 'big.bin', title_link: 'https://chat.example.com/file-upload/big.bin', title_link_download: true }],
        });

        it('every file with bytes: rooms.media, then rooms.mediaConfirm with its id, alias/avatar and tmid; files without bytes are linked', async () => {
            const run = await runScripted(rocketChatTarget, makeInput(rocketChatTarget, tokenRaw, twoFiles), server(true));
            expect(run.sent.map(view)).toEqual([
                textPost,
                media('R9', 'a.txt', 'text/plain'),
                api('rooms.mediaConfirm/R9/F2', { ...who, tmid: 'P9' }),
                media('R9', 'cat.png', 'image/png'),
                api('rooms.mediaConfirm/R9/F4', { ...who, tmid: 'P9' }),
            ]);
            expect(run.remoteIds).toEqual(['R9/M1', 'R9/M3/upload', 'R9/M5/upload']);
        });

        it('a server without rooms.media (404) gets rooms.upload with the same fields', async () => {
            const run = await runScripted(rocketChatTarget, makeInput(rocketChatTarget, tokenRaw, twoFiles), server(false));
            const upload = (name: string, type: string) => ({
                ...media('R9', name, type), url: `${SERVER}/api/v1/rooms.upload/R9`,
                multipart: [
                    { name: 'file', filename: name, contentType: type, bytes: 'abc' },
                    { name: 'alias', value: 'Alice' }, { name: 'avatar', value: who.avatar }, { name: 'tmid', value: 'P9' },
                ],
            });
            expect(run.sent.map(view)).toEqual([textPost, media('R9', 'a.txt', 'text/plain'), upload('a.txt', 'text/plain'), media('R9', 'cat.png', 'image/png'), upload('cat.png', 'image/png')]);
            expect(run.remoteIds).toEqual(['R9/M1', 'R9/M2/upload', 'R9/M3/upload']);
        });

        it('a file alone, without impersonation: no text message, the name as the file message\'s text', async () => {
            const input = makeInput(rocketChatTarget, { ...tokenRaw, avatar: 'no' }, { rendered: { text: '' }, files: [file('a.txt', 'text/plain', true)] });
            const run = await runScripted(rocketChatTarget, input, server(true));
            expect(run.sent.map(view)).toEqual([media('DEFROOM', 'a.txt', 'text/plain'), api('rooms.mediaConfirm/DEFROOM/F1', { msg: '*Alice*' })]);
        });

        it('a file over max_file_size is linked', async () => {
            const input = makeInput(rocketChatTarget, { ...tokenRaw, max_file_size: 2 }, { files: [file('a.txt', 'text/plain', true)] });
            expect(rocketChatTarget.buildRequests(input).map(view)).toEqual([postMessage({
                roomId: 'DEFROOM', text: 'hello *world*', ...who,
                attachments: [{ title: 'a.txt', title_link: 'https://chat.example.com/file-upload/a.txt', title_link_download: true }],
            })]);
        });
    });

    describe('relay marker in the message id (chat.sendMessage)', () => {
        const marked = { message: { id: 'SRC1', relay: { server: 'rb-home', hops: 0 } } };
        const MARKED_ID = /^rbm_1_rb-home_[A-Za-z0-9]{17}$/;
        const HEADERS = { ...AUTH, 'X-Relay-Bridge-Origin': 'rb-home', 'X-Relay-Bridge-Hops': '1' };

        it('a message with a marker and a room id goes through chat.sendMessage with a marked _id, the same on a retry', () => {
            const [request] = rocketChatTarget.buildRequests(makeInput(rocketChatTarget, tokenRaw, marked)).map(view) as any[];
            expect(request).toMatchObject({ url: `${SERVER}/api/v1/chat.sendMessage`, headers: HEADERS });
            expect(request.json).toEqual({ message: { _id: expect.stringMatching(MARKED_ID), rid: 'DEFROOM', msg: 'hello *world*', ...who } });
            const again = view(rocketChatTarget.buildRequests(makeInput(rocketChatTarget, tokenRaw, marked))[0]) as any;
            expect(again.json.message._id).toBe(request.json.message._id);
            // Another destination on the same server gets another id (the server keeps each id once).
            const elsewhere = view(rocketChatTarget.buildRequests(makeInput(rocketChatTarget, tokenRaw, { ...marked, channel: { room_id: 'R2' } }))[0]) as any;
            expect(elsewhere.json.message._id).not.toBe(request.json.message._id);
        });

        describe('a #channel or @user destination is looked up first, its room id kept (KeptLookup)', () => {
            const roomsInfo = (name: string) => ({ method: 'GET', url: `${SERVER}/api/v1/rooms.info?roomName=${name}`, headers: { 'X-User-Id': 'BOTID', 'X-Auth-Token': 'PAT', 'X-Relay-Bridge-Origin': 'rb-home', 'X-Relay-Bridge-Hops': '1' } });
            const toChannel = (channel: string, carried: Record<string, string> = {}) =>
                Object.assign(makeInput(rocketChatTarget, tokenRaw, { ...marked, channel: { channel } }), { carried });

            it('without a kept room id: the lookup alone, then the lookup and chat.sendMessage to the room it named', () => {
                expect(rocketChatTarget.buildRequests(toChannel('dev')).map(view)).toEqual([roomsInfo('dev')]);
                const [lookup, send] = rocketChatTarget.buildRequests(toChannel('dev', { [LOOKED_UP]: 'DEVROOM' })).map(view) as any[];
                expect(lookup).toEqual(roomsInfo('dev'));
                expect(send).toMatchObject({ url: `${SERVER}/api/v1/chat.sendMessage`, headers: HEADERS });
                expect(send.json.message).toEqual({ _id: expect.stringMatching(MARKED_ID), rid: 'DEVROOM', msg: 'hello *world*', ...who });
            });

            it('with a kept room id: no lookup, the same marked id as after a lookup', () => {
                const kept = rocketChatTarget.buildRequests(toChannel('#dev', { [KEPT_LOOKUP]: 'DEVROOM' })).map(view) as any[];
                const lookedUp = rocketChatTarget.buildRequests(toChannel('#dev', { [LOOKED_UP]: 'DEVROOM' })).map(view) as any[];
                expect(kept).toEqual([lookedUp[1]]);
            });

            it('@user: im.create opens (or finds) the direct message room', () => {
                expect(rocketChatTarget.buildRequests(toChannel('@bob')).map(view)).toEqual([
                    { method: 'POST', url: `${SERVER}/api/v1/im.create`, headers: HEADERS, json: { username: 'bob' } },
                ]);
            });

            it('run: the answer\'s room id is carried for the shell to keep, files are uploaded to that room', async () => {
                const input = Object.assign(toChannel('dev'), { files: [file('a.txt', 'text/plain', true)] });
                const run = await runScripted(rocketChatTarget, input, (request) => {
                    if (request.url.includes('rooms.info')) return response(200, { success: true, room: { _id: 'DEVROOM', name: 'dev', t: 'c' } });
                    if (request.url.includes('chat.sendMessage')) return response(200, { success: true, message: { ...JSON.parse(String(request.body)).message } });
                    if (request.url.includes('rooms.media/')) return response(200, { success: true, file: { _id: 'F1', url: '/file-upload/F1/a.txt' } });
                    return response(200, { success: true, message: { _id: 'M1', rid: 'DEVROOM' } });
                });
                expect(run.sent.map((r) => r.url.replace(SERVER, ''))).toEqual([
                    '/api/v1/rooms.info?roomName=dev', '/api/v1/chat.sendMessage', '/api/v1/rooms.media/DEVROOM', '/api/v1/rooms.mediaConfirm/DEVROOM/F1',
                ]);
                expect(run.carried[LOOKED_UP]).toBe('DEVROOM');
                expect(run.remoteIds).toEqual([expect.stringMatching(/^DEVROOM\/rbm_1_rb-home_/), 'DEVROOM/M1/upload']);
            });

            it('a name the account cannot see is a refusal, not retried', async () => {
                const notFound = response(400, { success: false, error: 'The required "roomId" or "roomName" param provided does not match any channel [error-room-not-found]', errorType: 'error-room-not-found' });
                const thrown = await runScripted(rocketChatTarget, toChannel('nowhere'), () => notFound).catch((e) => e);
                expect(thrown).toBeInstanceOf(TargetError);
                expect(thrown).toMatchObject({ status: 400, retryable: false });
                const noRoom = await runScripted(rocketChatTarget, toChannel('nowhere'), () => response(200, { success: true })).catch((e) => e);
                expect(noRoom).toMatchObject({ retryable: false, message: expect.stringContaining('without a room id') });
            });

            it('scope: per server, account and destination; none for room ids, thread replies, edits and webhook mode', () => {
                const scope = (input: any) => rocketChatTarget.keptLookup!.scope(input);
                expect(scope(toChannel('dev'))).toBe(`rocketchat\n${SERVER}\nBOTID\n#dev`);
                expect(scope(toChannel('@bob'))).toBe(`rocketchat\n${SERVER}\nBOTID\n@bob`);
                expect(scope(makeInput(rocketChatTarget, loginRaw))).toBe(`rocketchat\n${SERVER}\nrelay\n#lobby`);
                expect(scope(makeInput(rocketChatTarget, tokenRaw, marked))).toBeUndefined();
                expect(scope(Object.assign(toChannel('dev'), { remoteThreadId: 'R9/P9' }))).toBeUndefined();
                expect(scope(makeInput(rocketChatTarget, tokenRaw, { message: { event: 'edited' as const }, channel: { channel: 'dev' }, remoteIds: ['R1/M1'] }))).toBeUndefined();
                expect(scope(makeInput(rocketChatTarget, { ...webhookRaw, channel: '#dev' }))).toBeUndefined();
            });
        });

        const stored = (id: string) => response(200, { success: true, message: { _id: id, rid: 'DEFROOM' } });
        const nothing = response(400, { success: false, error: "Cannot read properties of undefined (reading 'starred')" });

        it('stored: the message id is kept', async () => {
            const run = await runScripted(rocketChatTarget, makeInput(rocketChatTarget, tokenRaw, marked), (request) => stored(JSON.parse(String(request.body)).message._id));
            expect(run.remoteIds).toEqual([expect.stringMatching(/^DEFROOM\/rbm_1_rb-home_/)]);
        });

        it('answered without a message, and there (a retry after a lost answer): chat.getMessage, its id kept', async () => {
            let id = '';
            const run = await runScripted(rocketChatTarget, makeInput(rocketChatTarget, tokenRaw, marked), (request, index) => {
                if (index === 0) {
                    id = JSON.parse(String(request.body)).message._id;
                    return nothing;
                }
                expect(request).toMatchObject({ method: 'GET', url: `${SERVER}/api/v1/chat.getMessage?msgId=${id}` });
                return stored(id);
            });
            expect(run.sent).toHaveLength(2);
            expect(run.remoteIds).toEqual([`DEFROOM/${id}`]);
        });

        it('answered without a message, and not there (the Relay Bridge there refused a loop): done, nothing to keep', async () => {
            const run = await runScripted(rocketChatTarget, makeInput(rocketChatTarget, tokenRaw, marked), (_request, index) => (index === 0 ? nothing : response(400, { success: false })));
            expect(run.sent).toHaveLength(2);
            expect(run.remoteIds).toEqual([]);
        });

        it('an older server answers success without a message for an id it did not store: checked the same way', async () => {
            const run = await runScripted(rocketChatTarget, makeInput(rocketChatTarget, tokenRaw, marked), (_request, index) => (index === 0 ? response(200, { success: true }) : response(400, { success: false })));
            expect(run.sent.map((request) => request.method)).toEqual(['POST', 'GET']);
            expect(run.remoteIds).toEqual([]);
        });

        it('another error without an error type (an app failing on the server) stays a refusal', () => {
            const failed = response(400, { success: false, error: 'Error: Failed to call the method as the app lacks the following permissions: ["persistence"]. reason: undefined' });
            const result = outcome(() => rocketChatTarget.readResponse(makeInput(rocketChatTarget, tokenRaw, marked), { method: 'POST', url: `${SERVER}/api/v1/chat.sendMessage`, headers: {}, tag: 'send.0' }, failed));
            expect(result).toMatchObject({ error: 'TargetError', status: 400 });
        });

        it('a refusal with an error type stays a refusal', async () => {
            const refused = response(400, { success: false, error: 'Not allowed [error-not-allowed]', errorType: 'error-not-allowed' });
            const result = outcome(() => rocketChatTarget.readResponse(makeInput(rocketChatTarget, tokenRaw, marked), { method: 'POST', url: `${SERVER}/api/v1/chat.sendMessage`, headers: {}, tag: 'send.0' }, refused));
            expect(result).toMatchObject({ error: 'TargetError', status: 400, retryable: false });
        });
    });

    it('login mode uses the session headers; a channel name takes uploads once its room id is known', () => {
        const input = Object.assign(makeInput(rocketChatTarget, loginRaw, { session: SESSION, files: [file('a.txt', 'text/plain', true)] }), { carried: { [KEPT_LOOKUP]: 'LOBBY' } });
        const [text, media] = rocketChatTarget.buildRequests(input).map(view) as any[];
        expect(text).toEqual(postMessage({ roomId: 'LOBBY', text: 'hello *world*', ...who }, { 'Content-Type': 'application/json', ...SESSION }));
        expect(media).toMatchObject({ url: `${SERVER}/api/v1/rooms.media/LOBBY`, headers: SESSION });
    });

    it('upload_files: false links files even with bytes and a room id', () => {
        const input = makeInput(rocketChatTarget, { ...tokenRaw, upload_files: false }, { files: [file('a.txt', 'text/plain', true)] });
        expect(rocketChatTarget.buildRequests(input).map(view)).toEqual([
            postMessage({
                roomId: 'DEFROOM', text: 'hello *world*', ...who,
                attachments: [{ title: 'a.txt', title_link: 'https://chat.example.com/file-upload/a.txt', title_link_download: true }],
            }),
        ]);
    });

    it('avatar: no puts the name in the text instead of alias/avatar', () => {
        const input = makeInput(rocketChatTarget, { ...tokenRaw, avatar: 'no' });
        expect(rocketChatTarget.buildRequests(input).map(view)).toEqual([postMessage({ roomId: 'DEFROOM', text: '*Alice*: hello *world*' })]);
    });

    it('no destination anywhere is a non-retryable TargetError', () => {
        const input = makeInput(rocketChatTarget, { ...tokenRaw, room_id: undefined });
        let thrown: unknown;
        try {
            rocketChatTarget.buildRequests(input);
        } catch (error) {
            thrown = error;
        }
        expect(thrown).toBeInstanceOf(TargetError);
        expect(thrown).toMatchObject({ retryable: false, message: 'Rocket.Chat: no destination; set room_id or channel in the rule channel or the instance' });
    });
});

describe('rocketchat target: webhook mode requests', () => {
    const hook = (json: Record<string, unknown>) => ({ method: 'POST', url: `${SERVER}/hooks/HID/HTOKEN`, headers: { 'Content-Type': 'application/json' }, json });
    it.each([
        ['sent to the webhook\'s own channel', {}, [hook({ text: 'hello *world*', ...who })]],
        ['rule channel overrides', { channel: { channel: '@bob' } }, [hook({ channel: '@bob', text: 'hello *world*', ...who })]],
        [
            'bytes cannot be uploaded: linked',
            { files: [file('a.txt', 'text/plain', true)] },
            [hook({ text: 'hello *world*', ...who, attachments: [{ title: 'a.txt', title_link: 'https://chat.example.com/file-upload/a.txt', title_link_download: true }] })],
        ],
        ['edited: nothing (webhooks cannot edit)', { message: { event: 'edited' as const }, remoteIds: ['R/M'] }, []],
        ['deleted: nothing', { message: { event: 'deleted' as const }, remoteIds: ['R/M'] }, []],
    ])('%s', (_name, options, expected) => {
        const input = makeInput(rocketChatTarget, webhookRaw, options);
        expect(rocketChatTarget.buildRequests(input).map(view)).toEqual(expected);
    });
});

describe('rocketchat target: responses', () => {
    const input = makeInput(rocketChatTarget, tokenRaw);
    const loginInput = makeInput(rocketChatTarget, loginRaw);
    const at = (endpoint: string) => ({ method: 'POST' as const, url: `${SERVER}/api/v1/${endpoint}`, headers: {} });
    it.each([
        ['postMessage → rid/_id', input, at('chat.postMessage'), response(200, { success: true, message: { _id: 'M1', rid: 'R1' } }), { remoteId: 'R1/M1' }],
        ['rooms.upload → marked upload', input, at('rooms.upload/R1'), response(200, { success: true, message: { _id: 'M2', rid: 'R1' } }), { remoteId: 'R1/M2/upload' }],
        ['rooms.mediaConfirm → marked upload', input, at('rooms.mediaConfirm/R1/F1'), response(200, { success: true, message: { _id: 'M2', rid: 'R1' } }), { remoteId: 'R1/M2/upload' }],
        ['rooms.media → the file id, carried', input, { ...at('rooms.media/R1'), tag: 'media.3' }, response(200, { success: true, file: { _id: 'F1', url: '/file-upload/F1/a.txt' } }), { carry: { 'media.3': 'F1' } }],
        ['rooms.media 404 → rooms.upload next', input, { ...at('rooms.media/R1'), tag: 'media.0' }, response(404, { success: false, error: 'Not found' }), { carry: { 'media.0': 'rooms.upload' } }],
        [
            'rooms.media without a file id',
            input, { ...at('rooms.media/R1'), tag: 'media.0' }, response(200, { success: true }),
            { error: 'TargetError', message: 'Rocket.Chat answered 200 to rooms.media without a file id', status: 200, retryable: false },
        ],
        [
            'rooms.media refused (too large)',
            input, { ...at('rooms.media/R1'), tag: 'media.0' }, response(400, { success: false, error: 'File size exceeds allowed size of 1 MB [error-file-too-large]', errorType: 'error-file-too-large' }),
            { error: 'TargetError', message: 'Rocket.Chat answered 400: File size exceeds allowed size of 1 MB [error-file-too-large]', status: 400, retryable: false },
        ],
        ['chat.update → same id', input, at('chat.update'), response(200, { success: true, message: { _id: 'M1', rid: 'R1' } }), { remoteId: 'R1/M1' }],
        ['chat.delete → nothing', input, at('chat.delete'), response(200, { success: true, _id: 'M1' }), {}],
        ['webhook → no id', input, { method: 'POST' as const, url: `${SERVER}/hooks/a/b`, headers: {} }, response(200, { success: true }), {}],
        [
            'success false → final, with the error text',
            input, at('chat.postMessage'), response(400, { success: false, error: 'The room is archived', errorType: 'error-room-archived' }),
            { error: 'TargetError', message: 'Rocket.Chat answered 400: The room is archived [error-room-archived]', status: 400, retryable: false },
        ],
        [
            'success false with 200',
            input, at('chat.postMessage'), response(200, { success: false, error: 'nope' }),
            { error: 'TargetError', message: 'Rocket.Chat refused: nope', status: 200, retryable: false },
        ],
        [
            '401 with a token is final',
            input, at('chat.postMessage'), response(401, { status: 'error', message: 'You must be logged in to do this.' }),
            { error: 'TargetError', message: 'Rocket.Chat answered 401: You must be logged in to do this.', status: 401, retryable: false },
        ],
        [
            '401 with a login session is retried (after a new login)',
            loginInput, at('chat.postMessage'), response(401, { status: 'error', message: 'You must be logged in to do this.' }),
            { error: 'TargetError', message: 'Rocket.Chat answered 401: You must be logged in to do this.', status: 401, retryable: true },
        ],
        [
            '429 with Retry-After',
            input, at('chat.postMessage'), response(429, { success: false, error: 'too many requests' }, { 'retry-after': '12' }),
            { error: 'TargetError', message: 'Rocket.Chat answered 429: too many requests', status: 429, retryable: true, retryAfterMs: 12000 },
        ],
        [
            'rooms.upload 404 too says what to do',
            input, at('rooms.upload/R1'), response(404, { success: false, error: 'Not found' }),
            {
                error: 'TargetError', status: 404, retryable: false,
                message: 'Rocket.Chat answered 404: Not found (the server has neither rooms.media nor rooms.upload: set upload_files to false to send files as links)',
            },
        ],
        [
            '500 without a body',
            input, at('chat.postMessage'), response(500),
            { error: 'TargetError', message: 'Rocket.Chat answered 500', status: 500, retryable: true },
        ],
    ])('%s', (_name, deliveryInput, request, result, expected) => {
        expect(outcome(() => rocketChatTarget.readResponse(deliveryInput, request, result))).toEqual(expected);
    });

    it('429 with only X-RateLimit-Reset waits until the reset', () => {
        const resetAt = Date.now() + 5000;
        const result = outcome(() => rocketChatTarget.readResponse(input, at('chat.postMessage'), response(429, '', { 'x-ratelimit-reset': String(resetAt) })));
        expect(result.retryAfterMs).toBeGreaterThan(4000);
        expect(result.retryAfterMs).toBeLessThanOrEqual(5000);
    });
});

describe('rocketchat target: login', () => {
    const loginConfig = rocketChatTarget.parseConfig(loginRaw);
    it('basic mode logs in with a form post', () => {
        expect(rocketChatTarget.login!(rocketChatTarget.parseConfig({ ...loginRaw, password: 'p&w d' }))).toEqual({
            method: 'POST', url: `${SERVER}/api/v1/login`,
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'username=relay&password=p%26w%20d',
        });
    });
    it('token mode needs no login', () => {
        expect(rocketChatTarget.login!(rocketChatTarget.parseConfig(tokenRaw))).toBeUndefined();
    });
    it.each([
        ['success', response(200, { status: 'success', data: { authToken: 'T', userId: 'U' } }), { 'X-User-Id': 'U', 'X-Auth-Token': 'T' }],
        ['wrong password', response(401, { status: 'error', error: 'Unauthorized', message: 'Unauthorized' }), { error: 'TargetError', message: 'Rocket.Chat login as relay failed (401): Unauthorized', status: 401, retryable: false }],
        ['server down', response(503), { error: 'TargetError', message: 'Rocket.Chat login as relay failed (503)', status: 503, retryable: true }],
    ])('readLogin: %s', (_name, result, expected) => {
        expect(outcome(() => rocketChatTarget.readLogin!(loginConfig, result) as { remoteId?: string })).toEqual(expected);
    });
});

describe('rocketchat target: config', () => {
    it.each([
        [{}, 'server_url: is required (send_method "api" calls the REST API)'],
        [{ server_url: SERVER }, 'auth_token: is required with user_id (or give username and password)'],
        [{ server_url: SERVER, user_id: 'U' }, 'auth_token: is required (the personal access token of user_id)'],
        [{ server_url: SERVER, username: 'u' }, 'password: is required (the password of username)'],
        [{ send_method: 'smtp' }, 'send_method: must be "api" or "webhook", got "smtp"'],
        [{ send_method: 'webhook' }, 'webhook_url: is required (send_method "webhook" posts to an incoming webhook)'],
        [{ ...tokenRaw, max_file_size: 'big' }, 'max_file_size: must be a positive whole number, got "big"'],
        [{ ...tokenRaw, avatar: 'maybe' }, 'avatar: must be true or false, got "maybe"'],
    ])('%j → %s', (config, message) => {
        expect(() => rocketChatTarget.parseConfig(config)).toThrow(message);
    });

    it.each([
        [tokenRaw, { sendMethod: 'api', serverUrl: SERVER, auth: { kind: 'token', userId: 'BOTID', authToken: 'PAT' }, roomId: 'DEFROOM', maxFileSize: 52428800, uploadFiles: true, impersonate: true }],
        [{ webhook_url: `${SERVER}/hooks/a/b` }, { sendMethod: 'webhook', webhookUrl: `${SERVER}/hooks/a/b`, maxFileSize: 52428800, uploadFiles: true, impersonate: true }],
    ])('%j parses', (config, expected) => {
        expect(rocketChatTarget.parseConfig(config)).toEqual(expected);
    });

    it.each([
        [tokenRaw, 'rocketchat api https://remote.example.net as BOTID'],
        [loginRaw, 'rocketchat api https://remote.example.net as relay'],
        [webhookRaw, 'rocketchat webhook https://remote.example.net'],
    ])('describe %j', (config, expected) => {
        expect(rocketChatTarget.describe(rocketChatTarget.parseConfig(config))).toBe(expected);
    });

    it.each<[string, RocketChatRemoteId]>([
        ['R1/M1', { roomId: 'R1', messageId: 'M1', upload: false }],
        ['R1/M1/upload', { roomId: 'R1', messageId: 'M1', upload: true }],
    ])('remote id %s round-trips', (remoteId, decoded) => {
        expect(decodeRemoteId(remoteId)).toEqual(decoded);
        expect(encodeRemoteId(decoded.roomId as string, decoded.messageId, decoded.upload)).toBe(remoteId);
    });

    it('a bare remote id has no room', () => {
        expect(decodeRemoteId('M1')).toEqual({ messageId: 'M1', upload: false });
    });
});

describe('rocketchat target: capabilities follow the configuration (issue 16)', () => {
    it.each<[string, Record<string, unknown>, object]>([
        ['api mode: everything', tokenRaw, { edit: true, delete: true, threads: true, upload: true }],
        ['api mode without uploads', { ...tokenRaw, upload_files: false }, { edit: true, delete: true, threads: true, upload: false }],
        ['webhook mode: new messages only, files as links', webhookRaw, { edit: false, delete: false, threads: false, upload: false }],
    ])('%s', (_name, config, capabilities) => {
        expect(rocketChatTarget.capabilities(rocketChatTarget.parseConfig(config))).toEqual(capabilities);
    });
});
