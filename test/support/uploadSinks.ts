// Local servers speaking each upload-capable target's file protocol (with the dependent steps:
// Rocket.Chat rooms.media → rooms.mediaConfirm, Slack's upload URL, Matrix's mxc:// URI, Zulip's
// upload path, Mattermost's file ids), and the relay instances pointing at them. Shared by the
// upload suite and the fault suite's large-file rows.
import { LocalHost, startHostWithApp } from './host';
import { multipartParts } from './multipart';
import { RecordedRequest, Sink } from './sink';

export const MX_ROOM = '!relay:example.org';
export const MM_CHANNEL = 'c4nnelid0000000000000000ab';
const TG_TOKEN = '123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11';

export interface UploadSinks {
    discord: Sink;
    telegram: Sink;
    rc8: Sink;
    rc7: Sink;
    slack: Sink;
    matrix: Sink;
    zulip: Sink;
    ntfy: Sink;
    mattermost: Sink;
}

export async function startUploadSinks(): Promise<UploadSinks> {
    let next = 0;
    const sinks = {} as UploadSinks;
    sinks.discord = await new Sink(() => ({ body: { id: String(++next) } })).start();
    sinks.telegram = await new Sink((req) => (req.path.indexOf(`/bot${TG_TOKEN}/`) === 0
        ? { body: { ok: true, result: { message_id: ++next, chat: { id: -100123, type: 'supergroup' }, date: 1714557600 } } }
        : { status: 404, body: { ok: false, error_code: 404, description: 'Not Found' } })).start();
    // Rocket.Chat 8: rooms.media stores, rooms.mediaConfirm posts; no rooms.upload.
    sinks.rc8 = await new Sink((req) => {
        if (req.path === '/api/v1/chat.sendMessage') return { body: { success: true, message: { ...req.json.message, rid: 'REMOTE' } } };
        if (req.path === '/api/v1/chat.postMessage') return { body: { success: true, message: { _id: `R${++next}`, rid: 'REMOTE' } } };
        if (req.path === '/api/v1/rooms.media/REMOTE') return { body: { success: true, file: { _id: `F${++next}`, url: `/file-upload/F${next}/x` } } };
        if (req.path.startsWith('/api/v1/rooms.mediaConfirm/REMOTE/F')) return { body: { success: true, message: { _id: `M${++next}`, rid: 'REMOTE' } } };
        return { status: 404, body: { success: false, error: 'API endpoint not found' } };
    }).start();
    // Rocket.Chat 7.x without rooms.media: rooms.upload.
    sinks.rc7 = await new Sink((req) => {
        if (req.path === '/api/v1/chat.sendMessage') return { body: { success: true, message: { ...req.json.message, rid: 'REMOTE' } } };
        if (req.path === '/api/v1/chat.postMessage') return { body: { success: true, message: { _id: `R${++next}`, rid: 'REMOTE' } } };
        if (req.path === '/api/v1/rooms.upload/REMOTE') return { body: { success: true, message: { _id: `M${++next}`, rid: 'REMOTE' } } };
        return { status: 404, body: { success: false, error: 'API endpoint not found' } };
    }).start();
    sinks.slack = await new Sink((req) => {
        if (req.path === '/api/chat.postMessage') return { body: { ok: true, channel: 'C0123GENERAL', ts: `1.${++next}` } };
        if (req.path === '/api/files.getUploadURLExternal') return { body: { ok: true, upload_url: `${sinks.slack.url}/upload/U${++next}`, file_id: `F${next}` } };
        if (req.path.startsWith('/upload/')) return { headers: { 'Content-Type': 'text/plain' }, body: `OK - ${req.body.length}` };
        return { body: { ok: true, files: [] } };
    }).start();
    sinks.matrix = await new Sink((req) => (req.path === '/_matrix/media/v3/upload'
        ? { body: { content_uri: `mxc://example.org/m${++next}` } }
        : { body: { event_id: `$ev${++next}` } })).start();
    sinks.zulip = await new Sink((req) => (req.path === '/api/v1/user_uploads'
        ? { body: { result: 'success', msg: '', uri: `/user_uploads/2/ab/${++next}/f`, url: `/user_uploads/2/ab/${next}/f` } }
        : { body: { result: 'success', msg: '', id: ++next } })).start();
    sinks.ntfy = await new Sink(() => ({ body: { id: `n${++next}`, event: 'message', topic: 'relay_files' } })).start();
    // Mattermost's REST API: /api/v4/files answers the file's id, /api/v4/posts the post.
    sinks.mattermost = await new Sink((req) => {
        if (req.headers.authorization !== 'Bearer mmbottoken') return { status: 401, body: { id: 'api.context.session_expired.app_error', message: 'Invalid or expired session' } };
        if (req.path === '/api/v4/files') return { status: 201, body: { file_infos: [{ id: `mmfile${++next}`, channel_id: MM_CHANNEL }], client_ids: [] } };
        if (req.path === '/api/v4/posts') return { status: 201, body: { id: `mmpost${++next}`, channel_id: MM_CHANNEL, file_ids: req.json.file_ids || [] } };
        return { status: 404, body: { id: 'api.context.404.app_error', message: 'Sorry, we could not find the page.' } };
    }).start();
    return sinks;
}

/** One relay instance per sink, keyed by the sink's name. */
export function uploadInstances(sinks: UploadSinks): Record<string, Record<string, unknown>> {
    return {
        // A boosted Discord server takes 25 MB files (10 MiB is the adapter's default).
        discord: { type: 'discord', webhook_url: `${sinks.discord.url}/api/webhooks/1/tok`, max_file_size: 25000000 },
        telegram: { type: 'telegram', api_url: sinks.telegram.url, bot_token: TG_TOKEN, chat_id: '-100123' },
        rc8: { type: 'rocketchat', server_url: sinks.rc8.url, user_id: 'bot', auth_token: 'pat8', room_id: 'REMOTE' },
        rc7: { type: 'rocketchat', server_url: sinks.rc7.url, user_id: 'bot', auth_token: 'pat7', room_id: 'REMOTE' },
        slack: { type: 'slack', bot_token: 'xoxb-1-2-abc', channel: 'C0123GENERAL', api_url: `${sinks.slack.url}/api` },
        matrix: { type: 'matrix', homeserver: sinks.matrix.url, access_token: 'syt_test', room_id: MX_ROOM },
        zulip: { type: 'zulip', site: sinks.zulip.url, bot_email: 'relay-bot@example.org', api_key: 'key', stream: 'general' },
        ntfy: { type: 'ntfy', server: sinks.ntfy.url, topic: 'relay_files' },
        mattermost: { type: 'mattermost', server_url: sinks.mattermost.url, bot_token: 'mmbottoken', channel_id: MM_CHANNEL },
    };
}

export function allSinks(sinks: UploadSinks): Sink[] {
    return Object.values(sinks);
}

/** The named multipart part of a recorded request. */
export function partOf(req: RecordedRequest, field: string) {
    return multipartParts(req).filter((part) => part.name === field)[0];
}

/** The bytes of every file each sink received, in arrival order, read the way each service reads them. */
export function receivedFiles(sinks: UploadSinks): Record<keyof UploadSinks, Buffer[]> {
    const pick = (sink: Sink, test: (req: RecordedRequest) => boolean, bytes: (req: RecordedRequest) => Buffer) => sink.requests.filter(test).map(bytes);
    return {
        discord: pick(sinks.discord, (r) => /multipart/.test(r.headers['content-type'] || ''), (r) => partOf(r, 'files[0]').body),
        telegram: pick(sinks.telegram, (r) => /\/send(Document|Photo)$/.test(r.path), (r) => (partOf(r, 'document') || partOf(r, 'photo')).body),
        rc8: pick(sinks.rc8, (r) => r.path === '/api/v1/rooms.media/REMOTE', (r) => partOf(r, 'file').body),
        rc7: pick(sinks.rc7, (r) => r.path === '/api/v1/rooms.upload/REMOTE', (r) => partOf(r, 'file').body),
        slack: pick(sinks.slack, (r) => r.path.startsWith('/upload/'), (r) => partOf(r, 'filename').body),
        matrix: pick(sinks.matrix, (r) => r.path === '/_matrix/media/v3/upload', (r) => r.body),
        zulip: pick(sinks.zulip, (r) => r.path === '/api/v1/user_uploads', (r) => partOf(r, 'filename').body),
        ntfy: pick(sinks.ntfy, (r) => r.method === 'PUT', (r) => r.body),
        mattermost: pick(sinks.mattermost, (r) => r.path === '/api/v4/files', (r) => partOf(r, 'files').body),
    };
}

/** Every upload sink, and the app installed with one rule from #general to all of them. */
export async function startUploadBridge(): Promise<{ host: LocalHost; sinks: UploadSinks }> {
    const sinks = await startUploadSinks();
    const host = await startHostWithApp();
    const instances = uploadInstances(sinks);
    const to = Object.fromEntries(Object.keys(instances).map((name) => [name, {}]));
    await host.updateSetting('relay_config', JSON.stringify({ instances, rules: [{ from: { rocketchat: { room: '#general' } }, to }] }));
    return { host, sinks };
}

export async function stopUploadBridge(bridge: { host?: LocalHost; sinks?: UploadSinks }): Promise<void> {
    await bridge.host?.stop();
    if (bridge.sinks) for (const sink of allSinks(bridge.sinks)) await sink.stop();
}
