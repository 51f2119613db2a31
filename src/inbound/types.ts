// The one shape every inbound dialect is parsed into. The endpoint reads only this; which sender
// produced it survives only as `dialect` (for logs and replies).

export type Dialect = 'rocketchat' | 'slack' | 'discord' | 'nextbridge' | 'matterbridge' | 'apprise';

export const DIALECTS: Dialect[] = ['rocketchat', 'slack', 'discord', 'nextbridge', 'matterbridge', 'apprise'];

/**
 * Where the sender asked the message to go, in Rocket.Chat webhook grammar: `#name` → roomName,
 * `@user` → username (DM), `roomId` field → roomId, a bare `channel` value → nameOrId (Rocket.Chat
 * tries it as id, then name, then DM by user id).
 */
export type InboundDestination = { roomId: string } | { roomName: string } | { username: string } | { nameOrId: string };

/** A file to post: either a link the shell may fetch, or bytes that came inside the request. */
export type InboundAttachment =
    | { kind: 'url'; url: string; name?: string; mimeType?: string; size?: number; title?: string }
    | { kind: 'bytes'; name: string; mimeType: string; bytes: Uint8Array; title?: string };

export interface RcAttachmentField {
    title: string;
    value: string;
    short?: boolean;
}

/** The subset of Rocket.Chat message attachment fields we pass through (validated, copied). */
export interface RcAttachment {
    color?: string;
    text?: string;
    pretext?: string;
    ts?: string;
    thumb_url?: string;
    message_link?: string;
    collapsed?: boolean;
    author_name?: string;
    author_link?: string;
    author_icon?: string;
    title?: string;
    title_link?: string;
    title_link_download?: boolean;
    image_url?: string;
    audio_url?: string;
    video_url?: string;
    fields?: RcAttachmentField[];
}

export interface InboundSender {
    id?: string;
    name?: string;
    /** Platform the message originally came from (NextBridge `platform`, Matterbridge `protocol`). */
    platform?: string;
}

export interface InboundMessage {
    dialect: Dialect;
    /** Message text in Rocket.Chat markdown, trimmed; may be '' when attachments carry the content. */
    text: string;
    alias?: string;
    /** https avatar URL that passed `safeAvatarUrl`. */
    avatarUrl?: string;
    /** Emoji avatar `:name:`; only set when no avatar URL was given. */
    emoji?: string;
    /** Requested rooms in order, duplicates removed; empty when the sender named none. */
    destinations: InboundDestination[];
    /** The sender's id for this message (for edit/reply mapping). */
    externalId?: string;
    /** `event: "edited"/"deleted"` in a POST (our generic webhook's payload): change the message `externalId` names. */
    event?: 'edited' | 'deleted';
    /** Rocket.Chat thread parent id (`tmid`): already an id on this server. */
    tmid?: string;
    /** Parent message id in the sender's world (`thread_ts`, `parent_id`, `reply_to_id`): needs mapping. */
    threadExternalId?: string;
    attachments: InboundAttachment[];
    /** Rocket.Chat message attachments (also what Slack attachments and Discord embeds become). */
    rcAttachments: RcAttachment[];
    customFields?: Record<string, unknown>;
    /** `token` found in the body (Rocket.Chat outgoing-webhook style); auth reads it too. */
    token?: string;
    parseUrls?: boolean;
    groupable?: boolean;
    /** Matterbridge gateway name, for routing rules. */
    gateway?: string;
    sender?: InboundSender;
    /** Things we dropped or repaired (non-https avatar, unknown block type…), for the log. */
    warnings: string[];
}

export interface InboundLimits {
    /** Longest message text, in UTF-16 code units as JavaScript counts them. */
    maxTextLength: number;
    /** Most files, and separately most Rocket.Chat attachments/embeds, per message. */
    maxAttachments: number;
    /** Largest decoded inline file. */
    maxFileBytes: number;
    /** Longest alias, URL, name or id. */
    maxFieldLength: number;
    /** Deepest JSON nesting accepted (objects and arrays both count). */
    maxDepth: number;
    /** Most JSON values (object members plus array items) walked in one body. */
    maxNodes: number;
}

export const DEFAULT_LIMITS: InboundLimits = {
    maxTextLength: 20000,
    maxAttachments: 10,
    maxFileBytes: 50 * 1024 * 1024,
    maxFieldLength: 2048,
    maxDepth: 20,
    maxNodes: 100000,
};
