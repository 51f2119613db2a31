// The contract every target adapter implements: one file per target under src/targets/, one test
// table per target under test/unit/targets/. The router (core) knows rules, adapters know wire
// formats; neither knows both.

import type { HttpResult, OutboundRequest } from '../core/http';
import type { RelayMessage } from '../core/message';

/** What a target can do; the engine asks before it plans an edit, delete, thread or upload. */
export interface TargetCapabilities {
    edit: boolean;
    delete: boolean;
    threads: boolean;
    /**
     * Files travel as files (the shell loads their bytes): multipart or a media upload, in at
     * least one of the target's modes. Otherwise files go as links to Rocket.Chat. The README's
     * target table says the same per target (test/unit/targets/readme.test.ts).
     */
    upload: boolean;
    /** `native`: the target shows our alias/avatar per message; `prefix`: the name goes into the text. */
    identity: 'native' | 'prefix';
}

export interface TargetLimits {
    /** Longest text one message may carry; longer text is split at line/word boundaries. */
    maxTextLength: number;
}

/** The message after the rule's `msg` templates were applied. */
export interface RenderedMessage {
    /** Text after `msg_format`, still in Rocket.Chat markdown (the adapter converts). */
    text: string;
    /** Display name for the target (`alias`/`rc_alias`/`webhook_title`, default the sender's name). */
    alias: string;
    /** https avatar URL, or undefined when none or not https. */
    avatarUrl?: string;
    /** An http (not https) avatar: only targets that copy avatars (`hostedAvatar`) may use it. */
    httpAvatarUrl?: string;
    /** Emoji avatar such as `:robot:` (Rocket.Chat targets only). */
    emoji?: string;
}

/** A file to relay; `bytes` is filled by the shell only for targets with `upload` capability. */
export interface OutboundFile {
    url: string;
    name: string;
    mimeType: string;
    size: number;
    bytes?: Uint8Array;
    /** Set when the link needs a login on this server (core/files.ts): shown instead of linking `url`. */
    label?: string;
}

export interface DeliveryInput<C> {
    config: C;
    /** The rule's channel dict for this instance, e.g. `{ "room_id": "GENERAL" }` or `{ "thread_id": "…" }`. */
    channel: Record<string, string>;
    message: RelayMessage;
    rendered: RenderedMessage;
    files: OutboundFile[];
    /** Opaque remote ids this message already has at this target (edit/delete), in part order. */
    remoteIds: string[];
    /** Opaque remote id of the thread parent at this target, when the message is a thread reply. */
    remoteThreadId?: string;
    /** Headers obtained by `login` (Rocket.Chat basic mode), or the values of a `keptSession` (Matrix password login). */
    session?: Record<string, string>;
    /**
     * Values this delivery's earlier responses carried (an upload's file id or URL), by the key
     * the adapter gave them in readResponse. Stored with the delivery, so a retry resumes with them.
     */
    carried: Record<string, string>;
    /** The avatar as stored on the target (`hostedAvatar`), when the shell could copy it there. */
    hostedAvatarUrl?: string;
}

/**
 * For targets that show only avatars stored on their own server (Matrix: mxc://): the shell
 * downloads the rendered avatar, uploads it with `upload` once per (`scope`, avatar URL), keeps
 * what `read` returns and passes it in `DeliveryInput.hostedAvatarUrl`.
 */
export interface HostedAvatarUpload<C> {
    /** Where an upload is valid (the server), part of the cache key; undefined: this configuration cannot upload one. */
    scope(config: C): string | undefined;
    upload(config: C, avatar: { bytes: Uint8Array; mimeType?: string }): OutboundRequest;
    /** The stored avatar's URL from a successful answer, or undefined. */
    read(response: HttpResult): string | undefined;
}

/**
 * A login whose answer the shell keeps in app persistence under `scope`, so every server instance
 * and restart reuses it (a Matrix login creates a device each time), until a response throws
 * SessionRejected: then the shell drops it, logs in once more and runs the delivery again.
 */
export interface KeptSession<C> {
    /** Where the session is valid (server, account, a hash of the secret); undefined: this configuration does not log in. */
    scope(config: C): string | undefined;
    /** The login request; `previous` is the session it replaces (its device id may be reused). */
    login(config: C, previous?: Record<string, string>): OutboundRequest;
    /** The session values from the login's answer; throws TargetError when the login failed. */
    read(config: C, response: HttpResult): Record<string, string>;
}

/** What readResponse read: the message id to keep, and values later requests need. */
export interface ReadResult {
    remoteId?: string;
    /** Merged into `carried`; the requests after this one are then built again. */
    carry?: Record<string, string>;
}

/** Raised for a response that is not a success; `retryable` tells the delivery layer whether to try again. */
export class TargetError extends Error {
    constructor(
        message: string,
        public readonly status: number,
        public readonly retryable: boolean,
        public readonly retryAfterMs?: number,
    ) {
        super(message);
        this.name = 'TargetError';
    }
}

/** Thrown by readResponse when the target refused the kept session (an expired or revoked token). */
export class SessionRejected extends TargetError {
    constructor(message: string, status: number) {
        super(message, status, true);
        this.name = 'SessionRejected';
    }
}

export interface TargetAdapter<C = any> {
    /** Instance `type` in the relay configuration, e.g. `discord`. */
    readonly type: string;
    /** Apprise-style URL schemes this adapter parses, e.g. `['discord']`. */
    readonly schemes: readonly string[];
    readonly capabilities: TargetCapabilities;
    readonly limits: TargetLimits;
    /** Validates a raw instance object from the JSON; throws ConfigError naming the key. */
    parseConfig(raw: Record<string, unknown>): C;
    /** Turns an Apprise-style URL into a raw instance object (then given to parseConfig). */
    fromUrl(url: URL): Record<string, unknown>;
    /**
     * The base URLs this configuration sends to (a webhook URL, an API server). The configuration
     * is refused when one is private or loopback and not allowed by the admin; each request is
     * checked again before it leaves.
     */
    endpoints(config: C): string[];
    /** Secret-free description for status output and logs. */
    describe(config: C): string;
    /**
     * Requests for this event, executed in order; an empty list means nothing to do. A request
     * that needs a value from an earlier response (an upload id) reads it from `input.carried`:
     * after a response carries values the list is built again and the run goes on after the
     * request that answered, so a request may depend on what comes before it, never after.
     */
    buildRequests(input: DeliveryInput<C>): OutboundRequest[];
    /** Reads the remote id (and carried values) from the response to `request`; throws TargetError when it failed. */
    readResponse(input: DeliveryInput<C>, request: OutboundRequest, response: HttpResult): ReadResult;
    /** Optional login request whose response `readLogin` turns into session headers. */
    login?(config: C): OutboundRequest | undefined;
    readLogin?(config: C, response: HttpResult): Record<string, string>;
    /** A login kept across deliveries (see KeptSession); its values arrive in `input.session`. */
    keptSession?: KeptSession<C>;
    /** Set by targets that need the sender's avatar uploaded to them first. */
    hostedAvatar?: HostedAvatarUpload<C>;
}
