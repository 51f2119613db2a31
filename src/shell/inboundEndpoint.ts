import { IHttp, IMessageBuilder, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { ApiEndpoint, IApiEndpointInfo, IApiRequest, IApiResponse } from '@rocket.chat/apps-engine/definition/api';
import { IApp } from '@rocket.chat/apps-engine/definition/IApp';
import { IMessage, IMessageAttachment } from '@rocket.chat/apps-engine/definition/messages';
import { IRoom } from '@rocket.chat/apps-engine/definition/rooms';
import { IUser } from '@rocket.chat/apps-engine/definition/users';

import { RelayMessage, RoomKind } from '../core/message';
import { ActiveConfig } from '../core/relay';
import { renderMessage, templateVarsFor } from '../core/template';
import { authenticate } from '../inbound/auth';
import { parseInbound } from '../inbound/dialects';
import { InboundError } from '../inbound/errors';
import { inboundRequest, InboundRequest } from '../inbound/request';
import { InboundDestination, InboundMessage } from '../inbound/types';
import { RateLimiter } from '../core/rateLimit';
import { messageIdFrom } from '../core/hash';
import { neutraliseMentions, splitText } from '../core/text';
import { checkUpload, classifyServerRefusal, isCustomFieldsRefusal, ServerPostRules, smallerLimit } from '../inbound/serverRules';
import { ConfigStore } from './configStore';
import { toAppAttachments } from './inboundAttachments';
import { findInboundResult, InboundResult, saveInboundResult } from './records/inboundMap';
import { removeOrigin, saveOrigin } from './records/origin';

const ROOM_KINDS: Record<string, RoomKind> = { c: 'channel', p: 'private', d: 'direct', l: 'livechat' };

interface Posted {
    message_id: string;
    room_id: string;
}

type Rendered = { alias: string; avatarUrl?: string; emoji?: string; text: string };

interface RoomTarget {
    room: IRoom;
    /** The rule's templates applied, when the room came from a rule. */
    rendered?: Rendered;
}

/** One destination's messages, checked against the server's rules before anything is written. */
interface PostPlan {
    target: RoomTarget;
    /** The text in parts no longer than Message_MaxAllowedSize. */
    parts: string[];
    threadId?: string;
    attachments: IMessageAttachment[];
}

/**
 * The inbound API endpoint: authenticates the source, parses whichever dialect the sender speaks,
 * and posts into the rooms the source may reach — with alias and avatar, marked with its origin so
 * the outbound relay never sends it back. Every failure is a 4xx with a clear message; nothing is
 * written for a rejected request.
 */
export class InboundEndpoint extends ApiEndpoint {
    constructor(app: IApp, private readonly configStore: ConfigStore, private readonly limiter: RateLimiter, public path: string) {
        super(app);
    }

    // Every method goes through `respond`: POST posts, PUT/PATCH edit, DELETE deletes, and the rest
    // exist only to answer 405 with a clear message instead of the engine's generic error. The
    // engine lists an endpoint's methods by what it has as functions, instance properties included.
    public post = this.handler();
    public put = this.handler();
    public patch = this.handler();
    public delete = this.handler();
    public get = this.handler();
    public head = this.handler();
    public options = this.handler();

    private handler() {
        return (request: IApiRequest, endpoint: IApiEndpointInfo, read: IRead, modify: IModify, http: IHttp, persistence: IPersistence): Promise<IApiResponse> =>
            this.respond(request, read, modify, persistence);
    }

    private async respond(request: IApiRequest, read: IRead, modify: IModify, persistence: IPersistence): Promise<IApiResponse> {
        try {
            const req = inboundRequest({ method: request.method, namedSource: request.query && request.query.source, headers: request.headers, query: request.query, body: request.content });
            const { posted, notes } = await this.handle(req, read, modify, persistence);
            return { status: 200, content: { success: true, ...posted[0], ...(posted.length > 1 ? { messages: posted } : {}), ...(notes.length ? { notes } : {}) } };
        } catch (e) {
            if (e instanceof RateLimited) {
                return { status: 429, headers: { 'Retry-After': String(e.retryAfterSeconds) }, content: { success: false, error: e.message } };
            }
            const refusal = e instanceof InboundError ? e : classifyServerRefusal(e instanceof Error ? e.message : String(e));
            if (refusal) {
                const headers: Record<string, string> = refusal.status === 405 ? { Allow: 'POST, PUT, PATCH, DELETE' } : {};
                return { status: refusal.status, headers, content: { success: false, error: refusal.message } };
            }
            // Not the sender's fault and not a refusal (e.g. the server could not write): retry later.
            this.app.getLogger().error(`inbound request failed: ${e instanceof Error ? e.stack || e.message : String(e)}`);
            return { status: 503, headers: { 'Retry-After': '5' }, content: { success: false, error: 'temporarily unable to post the message; retry later' } };
        }
    }

    private async handle(req: InboundRequest, read: IRead, modify: IModify, persistence: IPersistence): Promise<{ posted: Posted[]; notes: string[] }> {
        if (['post', 'put', 'patch', 'delete'].indexOf(req.method) < 0) {
            throw new InboundError(405, `method ${req.method.toUpperCase()} not allowed; use POST (PUT/PATCH to edit, DELETE to delete)`);
        }
        const { active, limits, server } = await this.configStore.current(read);
        if (!active) {
            throw new InboundError(404, 'no inbound sources are configured');
        }
        const sources: Array<{ name: string; token: string }> = [];
        active.config.instances.forEach((instance) => {
            if (instance.inboundToken) {
                sources.push({ name: instance.name, token: instance.inboundToken });
            }
        });
        const auth = authenticate(req, sources, req.namedSource);
        if (auth instanceof InboundError) {
            throw auth;
        }
        const source = auth.source.name;
        // After authentication: a stranger cannot use up a source's allowance.
        const perMinute = limits.inboundPerMinute;
        const rate = this.limiter.take(source, perMinute, Math.max(10, Math.ceil(perMinute / 6)));
        if (!rate.allowed) {
            throw new RateLimited(source, rate.retryAfterSeconds || 1);
        }
        const maxFileBytes = smallerLimit(limits.maxFileSize, server.maxUploadBytes);
        const message = parseInbound(req, { maxFileBytes });
        const appUser = await this.appUser(read);
        if (!appUser) {
            throw new Error('the app user is missing');
        }
        if (req.method !== 'post') {
            return { posted: await this.changeExisting(req, message, source, read, modify, persistence, appUser), notes: [] };
        }
        const idempotencyKey = req.headers['idempotency-key'] || (message.externalId ? `id:${message.externalId}` : undefined);
        if (idempotencyKey) {
            const earlier = await findInboundResult(read.getPersistenceReader(), source, idempotencyKey);
            if (earlier) {
                return { posted: earlier.posted, notes: [] };
            }
        }
        // What the parser left out (buttons, unknown blocks, …) is said in the answer, not only logged.
        const notes: string[] = message.warnings.slice();
        const targets = await this.resolveRooms(message, source, active, read);
        // Everything the server would refuse is refused here, before the first message is written.
        const plans: PostPlan[] = [];
        for (const target of targets) {
            plans.push(await this.plan(target, message, source, server, maxFileBytes, req, read, notes));
        }
        // Ids the app chooses: derived from the idempotency key, so concurrent or repeated requests
        // with one key name the same messages and the server's unique ids keep them single.
        const seed = idempotencyKey || `${Date.now()}\n${Math.random()}\n${Math.random()}`;
        const posted: Posted[] = [];
        for (const plan of plans) {
            posted.push(...(await this.postPlan(plan, message, source, seed, read, modify, persistence, appUser, server, notes)));
        }
        const result: InboundResult = { source, key: idempotencyKey, externalId: message.externalId, posted, createdAt: new Date().toISOString() };
        await saveInboundResult(persistence, result);
        return { posted, notes };
    }

    /** Checks one destination against the server's rules and splits the text to its size limit. */
    private async plan(target: RoomTarget, message: InboundMessage, source: string, server: ServerPostRules, maxFileBytes: number, req: InboundRequest, read: IRead, notes: string[]): Promise<PostPlan> {
        const { room } = target;
        const threadId = message.tmid || (message.threadExternalId ? await this.mappedMessageId(read, source, message.threadExternalId, room.id) : undefined);
        if (threadId) {
            if (!server.threadsEnabled) {
                throw new InboundError(400, 'threads are disabled on this server (Threads_enabled)', 'tmid');
            }
            const parent = await read.getMessageReader().getById(threadId);
            // On the server a reply goes into its parent's room: a parent elsewhere would move it.
            if (!parent || !parent.room || parent.room.id !== room.id) {
                throw new InboundError(400, `the thread parent must be a message in ${describeRoom(room)}`, 'tmid');
            }
        }
        message.attachments.forEach((file, i) => {
            if (file.kind === 'bytes') {
                checkUpload({ name: file.name, size: file.bytes.length, mimeType: file.mimeType }, server, room.type, maxFileBytes, `attachments[${i}]`);
            }
        });
        // The server refuses @all/@here from the app's user (mention-all); from outside they should not ping anyway.
        const text = neutraliseMentions(target.rendered ? target.rendered.text : message.text);
        if (text.length > server.maxMessageLength && /^(false|0|no)$/i.test(req.query.split || '')) {
            throw new InboundError(413, `text is ${text.length} characters; this server allows ${server.maxMessageLength} per message (Message_MaxAllowedSize)`, 'text');
        }
        const parts = splitText(text, server.maxMessageLength);
        if (parts.length > 1) {
            notes.push(`text split into ${parts.length} messages in ${describeRoom(room)} (Message_MaxAllowedSize ${server.maxMessageLength})`);
        }
        return { target, parts, threadId, attachments: toAppAttachments(message, notes) };
    }

    /** Rooms named in the payload (each must be on the source's allow-list), else the source's rules. */
    private async resolveRooms(message: InboundMessage, source: string, active: ActiveConfig, read: IRead): Promise<RoomTarget[]> {
        const out: RoomTarget[] = [];
        if (message.destinations.length > 0) {
            for (const destination of message.destinations) {
                const room = await findRoom(destination, read);
                // Same answer whether the room is missing or not allowed: no hint which rooms exist.
                if (!room || !active.index.inboundRoomAllowed(source, roomRef(room))) {
                    throw new InboundError(403, `this source may not post to ${describeDestination(destination)}`);
                }
                out.push({ room });
            }
            return out;
        }
        const routes = active.index.inboundRoutes(source);
        if (routes.length === 0) {
            throw new InboundError(400, 'no destination: name a room (channel, roomId or room_id) or add a rule from this source to a room');
        }
        const seen: Record<string, boolean> = {};
        for (const route of routes) {
            const channel = route.to.channel;
            const room = channel.room_id ? await read.getRoomReader().getById(channel.room_id) : await read.getRoomReader().getByName(channel.room || '');
            if (!room || seen[room.id]) {
                continue;
            }
            seen[room.id] = true;
            // {platform}: where the message really came from when the sender says so (NextBridge,
            // Matterbridge), else the source instance's type.
            const platform = (message.sender && message.sender.platform) || active.config.instances.get(source)!.type;
            const vars = templateVarsFor(asRelayMessage(message, source, room), { instance: source, platform });
            out.push({ room, rendered: renderMessage(route.msg, vars, { type: 'rocketchat', local: true }) });
        }
        if (out.length === 0) {
            throw new InboundError(403, 'the rooms this source is routed to do not exist');
        }
        return out;
    }

    /**
     * Posts one destination's messages in order (text parts, then files). Each text message gets
     * its id and origin record first, so the sent event — on whatever instance — knows where it
     * came from; a message that exists already (a retry, a concurrent twin) counts as posted.
     */
    private async postPlan(plan: PostPlan, message: InboundMessage, source: string, seed: string, read: IRead, modify: IModify, persistence: IPersistence, appUser: IUser, server: ServerPostRules, notes: string[]): Promise<Posted[]> {
        const { room, rendered } = plan.target;
        const posted: Posted[] = [];
        // Attachments go with the first part; a message with no text and no attachments is not posted.
        const parts = plan.parts.length > 0 ? plan.parts : plan.attachments.length > 0 ? [''] : [];
        let customFields = message.customFields && Object.keys(message.customFields).length > 0 ? message.customFields : undefined;
        if (customFields && !server.customFieldsEnabled) {
            notes.push('customFields dropped: this server does not accept them (Message_CustomFields_Enabled)');
            customFields = undefined;
        }
        for (let i = 0; i < parts.length; i++) {
            const id = messageIdFrom(`${source}\n${seed}\n${room.id}\n${i}`);
            const build = (withCustomFields: boolean) => {
                const builder = modify.getCreator().startMessage().setRoom(room).setSender(appUser).setText(parts[i]);
                const alias = (rendered && rendered.alias) || message.alias;
                if (alias) {
                    builder.setUsernameAlias(alias);
                }
                const avatarUrl = (rendered && rendered.avatarUrl) || message.avatarUrl;
                const emoji = (rendered && rendered.emoji) || message.emoji;
                if (avatarUrl) {
                    builder.setAvatarUrl(avatarUrl);
                } else if (emoji) {
                    builder.setEmojiAvatar(emoji);
                }
                if (plan.threadId) {
                    builder.setThreadId(plan.threadId);
                }
                if (i === 0 && plan.attachments.length > 0) {
                    builder.setAttachments(plan.attachments);
                }
                if (message.groupable !== undefined) {
                    builder.setGroupable(message.groupable);
                }
                if (message.parseUrls !== undefined) {
                    builder.setParseUrls(message.parseUrls);
                }
                // The engine drops an id set on the builder; the server's converter merges unmapped
                // properties last, `_id` included, and keeps an _id it is given.
                const data = { ...builder.getMessage(), _unmappedProperties_: { _id: id } } as IMessage;
                if (withCustomFields && customFields) {
                    data.customFields = customFields;
                }
                builder.setData(data);
                return builder;
            };
            await saveOrigin(persistence, id, source);
            try {
                try {
                    await this.create(modify, read, id, build(true));
                } catch (e) {
                    if (!customFields || !isCustomFieldsRefusal(e instanceof Error ? e.message : String(e))) {
                        throw e;
                    }
                    notes.push('customFields dropped: the server’s custom-fields schema refused them');
                    customFields = undefined;
                    await this.create(modify, read, id, build(false));
                }
            } catch (e) {
                await removeOrigin(persistence, id); // refused: nothing of this message stays behind
                throw e;
            }
            posted.push({ message_id: id, room_id: room.id });
        }
        for (const file of message.attachments) {
            if (file.kind === 'bytes') {
                await modify.getCreator().getUploadCreator().uploadBuffer(file.bytes as unknown as Buffer, { filename: file.name, room, user: appUser });
            }
        }
        return posted;
    }

    /** Creates the message; when the server refuses because the id exists, it was posted already. */
    private async create(modify: IModify, read: IRead, id: string, builder: IMessageBuilder): Promise<void> {
        try {
            await modify.getCreator().finish(builder);
        } catch (e) {
            const existing = await read.getMessageReader().getById(id);
            if (!existing) {
                throw e;
            }
        }
    }

    private appUserCache?: IUser;

    /** The app user never changes while the app runs: one lookup, not one per request. */
    private async appUser(read: IRead): Promise<IUser | undefined> {
        if (!this.appUserCache) {
            this.appUserCache = await read.getUserReader().getAppUser(this.app.getID());
        }
        return this.appUserCache;
    }

    /** The message posted for the sender's id in this room (a message may have gone to several). */
    private async mappedMessageId(read: IRead, source: string, externalId: string, roomId: string): Promise<string | undefined> {
        const found = await findInboundResult(read.getPersistenceReader(), source, `id:${externalId}`);
        const inRoom = found ? found.posted.filter((p) => p.room_id === roomId)[0] : undefined;
        return inRoom ? inRoom.message_id : undefined;
    }

    /** PUT/PATCH edits and DELETE deletes the message this source posted under the given id. */
    private async changeExisting(req: InboundRequest, message: InboundMessage, source: string, read: IRead, modify: IModify, persistence: IPersistence, appUser: IUser): Promise<Posted[]> {
        const externalId = message.externalId || req.query.id || req.query.message_id;
        if (!externalId) {
            throw new InboundError(400, `${req.method.toUpperCase()} needs the message's id (body id/message_id or ?id=)`);
        }
        const found = await findInboundResult(read.getPersistenceReader(), source, `id:${externalId}`);
        if (!found) {
            throw new InboundError(404, `no message from this source with id ${JSON.stringify(externalId)}`);
        }
        for (const posted of found.posted) {
            const current = await read.getMessageReader().getById(posted.message_id);
            if (!current) {
                continue;
            }
            if (req.method === 'delete') {
                await modify.getDeleter().deleteMessage(current, appUser);
            } else {
                const builder = await modify.getUpdater().message(posted.message_id, appUser);
                builder.setEditor(appUser).setText(message.text);
                await modify.getUpdater().finish(builder);
            }
        }
        if (req.method === 'delete') {
            await saveInboundResult(persistence, { ...found, deleted: true });
        }
        return found.posted;
    }
}

class RateLimited extends Error {
    constructor(source: string, public readonly retryAfterSeconds: number) {
        super(`too many requests from source "${source}"; retry after ${retryAfterSeconds} s`);
    }
}

async function findRoom(destination: InboundDestination, read: IRead): Promise<IRoom | undefined> {
    const rooms = read.getRoomReader();
    if ('roomId' in destination) {
        return rooms.getById(destination.roomId);
    }
    if ('roomName' in destination) {
        return rooms.getByName(destination.roomName);
    }
    if ('nameOrId' in destination) {
        return (await rooms.getById(destination.nameOrId)) || rooms.getByName(destination.nameOrId);
    }
    return undefined; // direct messages to @user are not supported for inbound sources
}

function describeRoom(room: IRoom): string {
    return room.type === 'd' ? 'this direct message' : `#${room.slugifiedName || room.id}`;
}

function describeDestination(destination: InboundDestination): string {
    if ('roomId' in destination) {
        return `room id ${destination.roomId}`;
    }
    if ('roomName' in destination) {
        return `#${destination.roomName}`;
    }
    if ('username' in destination) {
        return `@${destination.username}`;
    }
    return destination.nameOrId;
}

function roomRef(room: IRoom): { id: string; name: string; kind: RoomKind } {
    return { id: room.id, name: room.slugifiedName || '', kind: ROOM_KINDS[room.type] || 'channel' };
}

/** The inbound message as the template variables see it: the external sender is the user. */
function asRelayMessage(message: InboundMessage, source: string, room: IRoom): RelayMessage {
    const name = message.alias || (message.sender && message.sender.name) || source;
    return {
        event: 'sent',
        id: message.externalId || '',
        text: message.text,
        sender: { id: (message.sender && message.sender.id) || '', username: name, displayName: name, avatarUrl: message.avatarUrl || '', isBot: false },
        room: roomRef(room),
        files: [],
        timestamp: new Date().toISOString(),
        origin: source,
        isSystem: false,
        siteUrl: '',
    };
}

