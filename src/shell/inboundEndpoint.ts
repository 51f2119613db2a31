import { IHttp, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { ApiEndpoint, IApiEndpointInfo, IApiRequest, IApiResponse } from '@rocket.chat/apps-engine/definition/api';
import { IApp } from '@rocket.chat/apps-engine/definition/IApp';
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
import { FailedAuthLimit } from '../core/failedAuth';
import { RateLimiter } from '../core/rateLimit';
import { loopRefusal, readMarker } from '../core/relayMarker';
import { classifyServerRefusal, smallerLimit } from '../inbound/serverRules';
import { ConfigStore } from './configStore';
import { postInbound, Posted, RoomTarget } from './inboundPost';
import { findInboundResult, saveInboundResult } from './records/inboundMap';
import { ServerIdentity } from './records/serverId';

const ROOM_KINDS: Record<string, RoomKind> = { c: 'channel', p: 'private', d: 'direct', l: 'livechat' };

/**
 * The inbound API endpoint: authenticates the source, parses whichever dialect the sender speaks,
 * and posts into the rooms the source may reach — with alias and avatar, marked with its origin so
 * the outbound relay never sends it back. Every failure is a 4xx with a clear message; nothing is
 * written for a rejected request.
 */
export class InboundEndpoint extends ApiEndpoint {
    private readonly failedAuth: FailedAuthLimit;

    constructor(app: IApp, private readonly configStore: ConfigStore, private readonly limiter: RateLimiter, private readonly serverIdentity: ServerIdentity, public path: string) {
        super(app);
        this.failedAuth = new FailedAuthLimit(limiter, 'inbound-auth');
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
            this.respond(request, read, modify, http, persistence);
    }

    private async respond(request: IApiRequest, read: IRead, modify: IModify, http: IHttp, persistence: IPersistence): Promise<IApiResponse> {
        try {
            const req = inboundRequest({ method: request.method, namedSource: request.query && request.query.source, headers: request.headers, query: request.query, body: request.content });
            const { posted, notes } = await this.handle(req, read, modify, http, persistence);
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

    private async handle(req: InboundRequest, read: IRead, modify: IModify, http: IHttp, persistence: IPersistence): Promise<{ posted: Posted[]; notes: string[] }> {
        if (['post', 'put', 'patch', 'delete'].indexOf(req.method) < 0) {
            throw new InboundError(405, `method ${req.method.toUpperCase()} not allowed; use POST (PUT/PATCH to edit, DELETE to delete)`);
        }
        const { active, limits, server, privateHostsAllowed } = await this.configStore.current(read);
        if (!active) {
            throw new InboundError(404, 'no inbound sources are configured');
        }
        const sources: Array<{ name: string; token: string }> = [];
        active.config.instances.forEach((instance) => {
            if (instance.inboundToken) {
                sources.push({ name: instance.name, token: instance.inboundToken });
            }
        });
        const failureKeys = this.failedAuth.keys(req.headers, req.namedSource);
        const wait = this.failedAuth.blocked(failureKeys);
        if (wait !== undefined) {
            throw new RateLimited('too many failed authentications', wait);
        }
        const auth = authenticate(req, sources, req.namedSource);
        if (auth instanceof InboundError) {
            this.failedAuth.failed(failureKeys);
            throw auth;
        }
        const source = auth.source.name;
        const marker = readMarker(req.headers);
        // Read only: the endpoint writes nothing for a request it refuses.
        const loop = loopRefusal(marker, (await this.serverIdentity.existing(read.getPersistenceReader())) || '');
        if (loop) {
            throw new InboundError(409, loop);
        }
        // After authentication: a stranger cannot use up a source's allowance.
        const perMinute = limits.inboundPerMinute;
        const rate = this.limiter.take(source, perMinute, Math.max(10, Math.ceil(perMinute / 6)));
        if (!rate.allowed) {
            throw new RateLimited(`too many requests from source "${source}"`, rate.retryAfterSeconds || 1);
        }
        const maxFileBytes = smallerLimit(limits.maxFileSize, server.maxUploadBytes);
        const message = parseInbound(req, { maxFileBytes });
        const appUser = await this.appUser(read);
        if (!appUser) {
            throw new Error('the app user is missing');
        }
        // Our generic webhook POSTs edits and deletes too, saying so in `event`.
        const change = req.method !== 'post' ? req.method : message.event === 'edited' ? 'put' : message.event === 'deleted' ? 'delete' : undefined;
        if (change) {
            return { posted: await this.changeExisting(change, req, message, source, read, modify, persistence, appUser), notes: [] };
        }
        const idempotencyKey = req.headers['idempotency-key'] || (message.externalId ? `id:${message.externalId}` : undefined);
        const earlier = idempotencyKey ? await findInboundResult(read.getPersistenceReader(), source, idempotencyKey) : undefined;
        if (earlier && earlier.complete !== false) {
            return { posted: earlier.posted, notes: [] };
        }
        const targets = await this.resolveRooms(message, source, active, read);
        const context = { req, message, source, marker, idempotencyKey, unfinished: earlier, server, maxFileBytes, privateHostsAllowed, appUser, read, modify, http, persistence };
        return postInbound(context, targets);
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
            out.push({ room, rendered: renderMessage(route.msg, vars, { templates: 'rocketchat', local: true }) });
        }
        if (out.length === 0) {
            throw new InboundError(403, 'the rooms this source is routed to do not exist');
        }
        return out;
    }

    private appUserCache?: IUser;

    /** The app user never changes while the app runs: one lookup, not one per request. */
    private async appUser(read: IRead): Promise<IUser | undefined> {
        if (!this.appUserCache) {
            this.appUserCache = await read.getUserReader().getAppUser(this.app.getID());
        }
        return this.appUserCache;
    }

    /** PUT/PATCH edits and DELETE deletes the message this source posted under the given id. */
    private async changeExisting(method: string, req: InboundRequest, message: InboundMessage, source: string, read: IRead, modify: IModify, persistence: IPersistence, appUser: IUser): Promise<Posted[]> {
        const externalId = message.externalId || req.query.id || req.query.message_id;
        if (!externalId) {
            throw new InboundError(400, `${req.method === 'post' ? `event ${message.event}` : req.method.toUpperCase()} needs the message's id (body id/message_id or ?id=)`);
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
            if (method === 'delete') {
                await modify.getDeleter().deleteMessage(current, appUser);
            } else {
                const builder = await modify.getUpdater().message(posted.message_id, appUser);
                builder.setEditor(appUser).setText(message.text);
                await modify.getUpdater().finish(builder);
            }
        }
        if (method === 'delete') {
            await saveInboundResult(persistence, { ...found, deleted: true });
        }
        return found.posted;
    }
}

class RateLimited extends Error {
    constructor(what: string, public readonly retryAfterSeconds: number) {
        super(`${what}; retry after ${retryAfterSeconds} s`);
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

