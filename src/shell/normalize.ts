import { IMessage } from '@rocket.chat/apps-engine/definition/messages';
import { IRoom } from '@rocket.chat/apps-engine/definition/rooms';
import { IUser } from '@rocket.chat/apps-engine/definition/users';

import { RelayEvent, RelayFile, RelayMessage, RoomKind, systemMessageText } from '../core/message';

/** A file of a message as the server stores it (`typeGroup: 'thumb'` marks an image's thumbnail). */
interface StoredFile {
    _id: string;
    name: string;
    type?: string;
    size?: number;
    typeGroup?: string;
}

/**
 * Fields older engine definitions (1.46) do not declare. The converter maps `t` to `type`; it
 * maps `files` only on newer servers, older ones leave it in `_unmappedProperties_`.
 */
type LooseMessage = Omit<IMessage, 'type' | 'files'> & { type?: string; files?: StoredFile[]; _unmappedProperties_?: { files?: StoredFile[] } };

const ROOM_KINDS: Record<string, RoomKind> = { c: 'channel', p: 'private', d: 'direct', l: 'livechat' };

/** Builds the core's message once per event from what the engine hands the listener. */
export function toRelayMessage(event: RelayEvent, message: IMessage, siteUrl: string): RelayMessage {
    const sender = message.sender;
    const type = (message as unknown as LooseMessage).type;
    const systemType = typeof type === 'string' && type !== '' && type !== 'e2e' ? type : undefined;
    const relay: RelayMessage = {
        event,
        id: message.id || '',
        text: systemType ? systemMessageText(systemType, message.text || '') : message.text || '',
        sender: {
            id: sender.id,
            username: sender.username,
            displayName: sender.name || sender.username,
            avatarUrl: absoluteUrl(message.avatarUrl || `/avatar/${encodeURIComponent(sender.username)}`, siteUrl),
            isBot: isBotUser(sender),
        },
        room: { id: message.room.id, name: roomName(message.room), kind: ROOM_KINDS[message.room.type] || 'channel' },
        files: filesOf(message, siteUrl),
        timestamp: toIso(message.createdAt),
        isSystem: systemType !== undefined,
        siteUrl,
    };
    if (systemType) {
        relay.systemType = systemType;
    }
    if (type === 'e2e') {
        relay.encrypted = true;
    }
    if (message.threadId) {
        relay.threadId = message.threadId;
    }
    if (message.alias) {
        relay.alias = message.alias;
    }
    return relay;
}

// Never read `room.usernames`: the Deno runtime rewrites any function that mentions it into an
// async one (a fix for a deprecated getter), which silently turns our result into a Promise.
function roomName(room: IRoom): string {
    return room.slugifiedName || room.displayName || room.id;
}

function isBotUser(user: IUser): boolean {
    const type = String(user.type || '');
    return type === 'bot' || type === 'app' || (user.roles || []).indexOf('bot') >= 0;
}

/**
 * Every file of the message, from wherever this server's converter put them (`files`, else
 * `_unmappedProperties_.files`, else the single `file` of older messages), without thumbnails:
 * marked `typeGroup: 'thumb'`, or — on old messages — the second of two files with one attachment
 * (the rule of the newer converter's convertMessageFiles, applied here to the unmapped list too).
 */
export function filesOf(message: IMessage, siteUrl: string): RelayFile[] {
    const loose = message as unknown as LooseMessage;
    const unmapped = loose._unmappedProperties_ && loose._unmappedProperties_.files;
    const stored: StoredFile[] =
        loose.files && loose.files.length ? loose.files : unmapped && unmapped.length ? unmapped : message.file ? [message.file as StoredFile] : [];
    const attachmentCount = (message.attachments || []).length;
    const originals = stored.filter(
        (file, index) => file && file._id && file.typeGroup !== 'thumb' && !(!file.typeGroup && stored.length === 2 && attachmentCount === 1 && index === 1),
    );
    return originals.map((file) => ({
        url: absoluteUrl(`/file-upload/${file._id}/${encodeURIComponent(file.name)}`, siteUrl),
        name: String(file.name),
        mimeType: String(file.type || 'application/octet-stream'),
        size: Number(file.size) || 0,
        uploadId: String(file._id),
    }));
}

function absoluteUrl(url: string, siteUrl: string): string {
    return /^[a-z][a-z0-9+.-]*:/i.test(url) ? url : `${siteUrl}${url.charAt(0) === '/' ? '' : '/'}${url}`;
}

function toIso(value: unknown): string {
    const date = value instanceof Date ? value : new Date(value as string);
    return isNaN(date.getTime()) ? new Date().toISOString() : date.toISOString();
}
