import { RelayMarker } from './relayMarker';

// The one message shape that crosses the core: built once per Rocket.Chat event by the shell,
// read by rules, templates and every target adapter. No Apps-Engine types here on purpose.

export type RelayEvent = 'sent' | 'edited' | 'deleted';

/** Rocket.Chat room kinds as the rules see them (`c`, `p`, `d`, `l`). */
export type RoomKind = 'channel' | 'private' | 'direct' | 'livechat';

export interface RelaySender {
    id: string;
    username: string;
    /** Display name; falls back to the username when the user has none. */
    displayName: string;
    /** Absolute URL of the sender's avatar on this server (or the message's avatar override). */
    avatarUrl: string;
    isBot: boolean;
}

export interface RelayRoom {
    id: string;
    /** Room name without `#` (for DMs, the slugified name Rocket.Chat gives them). */
    name: string;
    kind: RoomKind;
}

export interface RelayFile {
    /** Absolute URL where the file can be fetched (this server's `/file-upload/...`). */
    url: string;
    name: string;
    mimeType: string;
    size: number;
    /** Upload id on this server, used by the shell to read the bytes when a target takes uploads. */
    uploadId?: string;
}

export interface RelayMessage {
    event: RelayEvent;
    /** Rocket.Chat message id. */
    id: string;
    text: string;
    sender: RelaySender;
    room: RelayRoom;
    /** Rocket.Chat thread parent id (`tmid`) when the message is a thread reply. */
    threadId?: string;
    files: RelayFile[];
    /** ISO-8601 creation time. */
    timestamp: string;
    /** Alias/avatar set on the Rocket.Chat message itself (e.g. by another integration). */
    alias?: string;
    /** Instance name the message came from when it entered through our inbound endpoint. */
    origin?: string;
    /** Where the message started and how many relays it passed; requests to webhook and Rocket.Chat targets carry it on. */
    relay?: RelayMarker;
    /**
     * True for system messages (joins, topic changes…; `text` then reads like "joined the room"):
     * relayed only by rules whose filter has `system_messages: true`.
     */
    isSystem: boolean;
    /** Rocket.Chat's message type (`uj`, `room_changed_topic`, …) of a system message. */
    systemType?: string;
    /** End-to-end encrypted (type `e2e`): the text is ciphertext this app cannot read; never relayed. */
    encrypted?: boolean;
    /** Public URL of this Rocket.Chat server, without trailing slash. */
    siteUrl: string;
}

/** Link to the message in the Rocket.Chat web client. */
export function messageUrl(msg: RelayMessage): string {
    const base = `${msg.siteUrl}/${msg.room.kind === 'direct' ? 'direct' : msg.room.kind === 'private' ? 'group' : 'channel'}/${encodeURIComponent(msg.room.name)}`;
    return `${base}?msg=${encodeURIComponent(msg.id)}`;
}

/**
 * What a system message says, without the actor (the sender shows who): Rocket.Chat stores only
 * the type and an argument in `msg` (the user added, the new topic…) and words it in the client.
 */
export function systemMessageText(type: string, msg: string): string {
    if (Object.prototype.hasOwnProperty.call(SYSTEM_MESSAGE_WORDING, type)) {
        return SYSTEM_MESSAGE_WORDING[type].replace('{msg}', msg);
    }
    return msg || `(${type})`;
}

const SYSTEM_MESSAGE_WORDING: Record<string, string> = {
    uj: 'joined the room',
    ul: 'left the room',
    ujt: 'joined the team',
    ult: 'left the team',
    au: 'added {msg}',
    ru: 'removed {msg}',
    r: 'changed the room name to {msg}',
    room_changed_topic: 'changed the topic to: {msg}',
    room_changed_description: 'changed the description to: {msg}',
    room_changed_announcement: 'changed the announcement to: {msg}',
    'user-muted': 'muted {msg}',
    'user-unmuted': 'unmuted {msg}',
};
