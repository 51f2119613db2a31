import { IHttp, IMessageBuilder, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { IMessage, IMessageAttachment } from '@rocket.chat/apps-engine/definition/messages';
import { IRoom } from '@rocket.chat/apps-engine/definition/rooms';
import { IUser } from '@rocket.chat/apps-engine/definition/users';

import { messageIdFrom } from '../core/hash';
import { RelayMarker } from '../core/relayMarker';
import { neutraliseMentions, splitText } from '../core/text';
import { InboundError } from '../inbound/errors';
import { InboundRequest } from '../inbound/request';
import { checkUpload, isCustomFieldsRefusal, ServerPostRules } from '../inbound/serverRules';
import { InboundAttachment, InboundMessage } from '../inbound/types';
import { fetchFile } from './fileFetch';
import { toAppAttachments } from './inboundAttachments';
import { findInboundResult, InboundResult, saveInboundResult } from './records/inboundMap';
import { removeOrigin, saveOrigin, uploadOriginKey } from './records/origin';

// Posting an inbound message, the way a real server will take it: everything the server would
// refuse is refused before the first message is written; the text is split at the server's
// message size; linked files are copied in; ids are chosen so a retry or a concurrent twin of
// the same request finds its messages instead of posting them again.

export interface Posted {
    message_id: string;
    room_id: string;
}

export interface RoomTarget {
    room: IRoom;
    /** The rule's templates applied, when the room came from a rule. */
    rendered?: { alias: string; avatarUrl?: string; emoji?: string; text: string };
}

/** A file to upload after the text: sent inline, or copied from a link. */
interface UploadFile {
    name: string;
    mimeType?: string;
    bytes: Uint8Array;
    /** Where the sender put it, for error texts. */
    field: string;
    /** Copied from a link: when the server would not take it, the link is kept instead. */
    url?: string;
}

/** One destination's messages, checked against the server's rules before anything is written. */
interface PostPlan {
    target: RoomTarget;
    /** The text in parts no longer than Message_MaxAllowedSize. */
    parts: string[];
    threadId?: string;
    attachments: IMessageAttachment[];
    uploads: UploadFile[];
}

export interface PostContext {
    req: InboundRequest;
    message: InboundMessage;
    source: string;
    /** The source's `allow_mentions`: its @all/@here stay as written. */
    allowMentions: boolean;
    /** The relay marker the request came with (another Relay Bridge sent it). */
    marker?: RelayMarker;
    idempotencyKey?: string;
    /** An earlier request with the same key that stopped part-way (its uploads go on from there). */
    unfinished?: InboundResult;
    server: ServerPostRules;
    maxFileBytes: number;
    privateHostsAllowed: string[];
    appUser: IUser;
    read: IRead;
    modify: IModify;
    http: IHttp;
    persistence: IPersistence;
}

/**
 * @all/@here/@channel from outside are defused (they would notify the whole room) unless the
 * admin allowed the source to; the server's own mention-all/mention-here rules still apply then.
 */
export function inboundMentions(allowed: boolean, text: string): string {
    return allowed ? text : neutraliseMentions(text);
}

/** How long a request waits for a concurrent twin (same idempotency key) to finish its uploads. */
const TWIN_WAIT_MS = 15000;

export async function postInbound(ctx: PostContext, targets: RoomTarget[]): Promise<{ posted: Posted[]; notes: string[] }> {
    const { message, idempotencyKey, source } = ctx;
    // What the parser left out (buttons, unknown blocks, …) is said in the answer, not only logged.
    const notes: string[] = message.warnings.slice();
    // Thread parents first: a request that will be refused should not cost a download.
    const threadIds: Array<string | undefined> = [];
    for (const target of targets) {
        threadIds.push(await threadIn(ctx, target.room));
    }
    const { uploads, links } = await collectFiles(ctx, notes);
    const plans: PostPlan[] = [];
    targets.forEach((target, i) => plans.push(plan(ctx, target, threadIds[i], uploads, links, notes)));
    // Ids derived from the idempotency key: concurrent or repeated requests with one key name the
    // same messages, and the server keeps each id once.
    const seed = idempotencyKey || `${Date.now()}\n${Math.random()}\n${Math.random()}`;
    const posted: Posted[] = [];
    let postedBefore = false;
    for (const p of plans) {
        const result = await postTexts(ctx, p, seed, notes);
        posted.push(...result.posted);
        postedBefore = postedBefore || result.existed;
    }
    const record: InboundResult = { source, key: idempotencyKey, externalId: message.externalId, posted, createdAt: new Date().toISOString() };
    const uploadCount = plans.reduce((n, p) => n + p.uploads.length, 0);
    let done = ctx.unfinished ? ctx.unfinished.uploaded || 0 : 0;
    if (uploadCount > 0 && idempotencyKey && postedBefore && !ctx.unfinished) {
        // A request with this key is posting the same messages right now: let it finish, or go
        // on where it stopped.
        const earlier = await waitForTwin(ctx);
        if (earlier && earlier.complete !== false) {
            return { posted: earlier.posted, notes };
        }
        done = earlier ? earlier.uploaded || 0 : 0;
    }
    if (uploadCount > 0) {
        await saveInboundResult(ctx.persistence, { ...record, complete: false, uploaded: done });
    }
    let index = 0;
    for (const p of plans) {
        for (const file of p.uploads) {
            if (index++ < done) {
                continue;
            }
            // The upload's message is relayed onward like the text, never back to the source.
            await saveOrigin(ctx.persistence, uploadOriginKey(p.target.room.id, file.name, file.bytes.length), source, ctx.marker);
            await ctx.modify.getCreator().getUploadCreator().uploadBuffer(file.bytes as unknown as Buffer, { filename: file.name, room: p.target.room, user: ctx.appUser });
            await saveInboundResult(ctx.persistence, { ...record, complete: false, uploaded: index });
        }
    }
    await saveInboundResult(ctx.persistence, { ...record, complete: true, uploaded: uploadCount });
    return { posted, notes };
}

/**
 * Inline files as they are; linked files copied in when the address policy, the download and
 * the server's upload rules allow, else kept as links (or, for addresses we may not fetch,
 * dropped) — with a note either way.
 */
async function collectFiles(ctx: PostContext, notes: string[]): Promise<{ uploads: UploadFile[]; links: InboundAttachment[] }> {
    const uploads: UploadFile[] = [];
    const links: InboundAttachment[] = [];
    for (let i = 0; i < ctx.message.attachments.length; i++) {
        const file = ctx.message.attachments[i];
        const field = `attachments[${i}]`;
        if (file.kind === 'bytes') {
            uploads.push({ name: file.name, mimeType: file.mimeType, bytes: file.bytes, field });
            continue;
        }
        const fetched = await fetchFile(ctx.http, file, ctx.maxFileBytes, ctx.privateHostsAllowed);
        if (fetched.ok) {
            uploads.push({ ...fetched.file, field, url: file.url });
        } else if (fetched.link) {
            notes.push(`${field}: ${fetched.reason}; linked instead`);
            links.push(file);
        } else {
            notes.push(`${field} dropped: ${fetched.reason}`);
        }
    }
    return { uploads, links };
}

/** The thread the message goes into in this room, if any: its parent must be a message there. */
async function threadIn(ctx: PostContext, room: IRoom): Promise<string | undefined> {
    const { message, server, read } = ctx;
    const threadId = message.tmid || (message.threadExternalId ? await mappedMessageId(read, ctx.source, message.threadExternalId, room.id) : undefined);
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
    return threadId;
}

/** Checks one destination against the server's rules and splits the text to its size limit. */
function plan(ctx: PostContext, target: RoomTarget, threadId: string | undefined, allUploads: UploadFile[], allLinks: InboundAttachment[], notes: string[]): PostPlan {
    const { room } = target;
    const { message, server } = ctx;
    const uploads: UploadFile[] = [];
    const links = allLinks.slice();
    for (const file of allUploads) {
        try {
            checkUpload({ name: file.name, size: file.bytes.length, mimeType: file.mimeType }, server, room.type, ctx.maxFileBytes, file.field);
            uploads.push(file);
        } catch (e) {
            // A file sent inline is refused with the request; a copied one falls back to its link.
            if (!file.url || !(e instanceof InboundError)) {
                throw e;
            }
            notes.push(`${e.message}; linked instead`);
            links.push({ kind: 'url', url: file.url, name: file.name, mimeType: file.mimeType });
        }
    }
    const text = inboundMentions(ctx.allowMentions, target.rendered ? target.rendered.text : message.text);
    if (text.length > server.maxMessageLength && /^(false|0|no)$/i.test(ctx.req.query.split || '')) {
        throw new InboundError(413, `text is ${text.length} characters; this server allows ${server.maxMessageLength} per message (Message_MaxAllowedSize)`, 'text');
    }
    const parts = splitText(text, server.maxMessageLength);
    if (parts.length > 1) {
        notes.push(`text split into ${parts.length} messages in ${describeRoom(room)} (Message_MaxAllowedSize ${server.maxMessageLength})`);
    }
    return { target, parts, threadId, attachments: toAppAttachments(message.rcAttachments, links, notes), uploads };
}

/**
 * Posts one destination's text messages in order. Each gets its id and origin record first, so
 * the sent event — on whatever instance — knows where it came from; a message whose id exists
 * already (a retry, a concurrent twin) counts as posted.
 */
async function postTexts(ctx: PostContext, p: PostPlan, seed: string, notes: string[]): Promise<{ posted: Posted[]; existed: boolean }> {
    const { message, source, modify, persistence } = ctx;
    const { room, rendered } = p.target;
    const posted: Posted[] = [];
    let existed = false;
    // Attachments go with the first part; with neither text nor attachments only the files are posted.
    const parts = p.parts.length > 0 ? p.parts : p.attachments.length > 0 ? [''] : [];
    let customFields = message.customFields && Object.keys(message.customFields).length > 0 ? message.customFields : undefined;
    if (customFields && !ctx.server.customFieldsEnabled) {
        notes.push('customFields dropped: this server does not accept them (Message_CustomFields_Enabled)');
        customFields = undefined;
    }
    for (let i = 0; i < parts.length; i++) {
        const id = messageIdFrom(`${source}\n${seed}\n${room.id}\n${i}`);
        const build = (): IMessageBuilder => {
            const builder = modify.getCreator().startMessage().setRoom(room).setSender(ctx.appUser).setText(parts[i]);
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
            if (p.threadId) {
                builder.setThreadId(p.threadId);
            }
            if (i === 0 && p.attachments.length > 0) {
                builder.setAttachments(p.attachments);
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
            if (customFields) {
                data.customFields = customFields;
            }
            builder.setData(data);
            return builder;
        };
        await saveOrigin(persistence, id, source, ctx.marker);
        try {
            try {
                existed = !(await create(ctx, id, build())) || existed;
            } catch (e) {
                if (!customFields || !isCustomFieldsRefusal(e instanceof Error ? e.message : String(e))) {
                    throw e;
                }
                notes.push('customFields dropped: the server’s custom-fields schema refused them');
                customFields = undefined;
                existed = !(await create(ctx, id, build())) || existed;
            }
        } catch (e) {
            await removeOrigin(persistence, id); // refused: nothing of this message stays behind
            throw e;
        }
        posted.push({ message_id: id, room_id: room.id });
    }
    return { posted, existed };
}

/** Creates the message: true when this call created it, false when its id existed already. */
async function create(ctx: PostContext, id: string, builder: IMessageBuilder): Promise<boolean> {
    try {
        await ctx.modify.getCreator().finish(builder);
        return true;
    } catch (e) {
        if (!(await ctx.read.getMessageReader().getById(id))) {
            throw e;
        }
        return false;
    }
}

/** The record of a request with the same key that is posting the same messages, once it is complete. */
async function waitForTwin(ctx: PostContext): Promise<InboundResult | undefined> {
    const deadline = Date.now() + TWIN_WAIT_MS;
    let last: InboundResult | undefined;
    while (Date.now() < deadline) {
        last = await findInboundResult(ctx.read.getPersistenceReader(), ctx.source, ctx.idempotencyKey!);
        if (last && last.complete !== false) {
            return last;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return last;
}

/** The message posted for the sender's id in this room (a message may have gone to several). */
export async function mappedMessageId(read: IRead, source: string, externalId: string, roomId: string): Promise<string | undefined> {
    const found = await findInboundResult(read.getPersistenceReader(), source, `id:${externalId}`);
    const inRoom = found ? found.posted.filter((p) => p.room_id === roomId)[0] : undefined;
    return inRoom ? inRoom.message_id : undefined;
}

export function describeRoom(room: IRoom): string {
    return room.type === 'd' ? 'this direct message' : `#${room.slugifiedName || room.id}`;
}
