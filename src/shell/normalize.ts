import { IMessage } from '@rocket.chat/apps-engine/definition/messages';
import { IRoom } from '@rocket.chat/apps-engine/definition/rooms';
import { IUser } from '@rocket.chat/apps-engine/definition/users';

import { RelayEvent, RelayFile, RelayMessage, RoomKind } from '../core/message';

/** Fields that older engine definitions (1.46) do not declare but servers send. */
type LooseMessage = IMessage & { type?: string; t?: string; files?: Array<{ _id: string; name: string; type?: string; size?: number }> };

const ROOM_KINDS: Record<string, RoomKind> = { c: 'channel', p: 'private', d: 'direct', l: 'livechat' };

/** Builds the core's message once per event from what the engine hands the listener. */
export function toRelayMessage(event: RelayEvent, message: IMessage, siteUrl: string): RelayMessage {
    const sender = message.sender;
    const relay: RelayMessage = {
        event,
        id: message.id || '',
        text: message.text || '',
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
        isSystem: isSystemMessage(message),
        siteUrl,
    };
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

/** System messages (joins, topic changes, …) carry a type; ordinary messages have none. */
function isSystemMessage(message: IMessage): boolean {
    const loose = message as LooseMessage;
    const type = loose.type || loose.t;
    return typeof type === 'string' && type !== '' && type !== 'e2e';
}

function filesOf(message: IMessage, siteUrl: string): RelayFile[] {
    const loose = message as LooseMessage;
    const raw: NonNullable<LooseMessage['files']> = loose.files && loose.files.length ? loose.files : message.file ? [message.file as NonNullable<LooseMessage['files']>[number]] : [];
    return raw.map((file) => ({
        url: absoluteUrl(`/file-upload/${file._id}/${encodeURIComponent(file.name)}`, siteUrl),
        name: String(file.name),
        mimeType: String(file.type || 'application/octet-stream'),
        size: Number((file as { size?: number }).size) || 0,
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
