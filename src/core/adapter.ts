// The contract every target adapter implements: one file per target under src/targets/ (listed
// in src/targets/index.ts), one test table per target under test/unit/targets/. The router (core)
// knows rules, adapters know wire formats; neither knows both. Everything core, the URL parser
// and the README need to know about a target is stated here by the adapter, never by type name.

import type { HttpResult, OutboundRequest } from './http';
import type { RelayMessage } from './message';
import type { PublishedLimit, RateAnnouncement } from './pacing';

/**
 * What one configured target can do (it may depend on the configuration: Gotify deletes only
 * with a client token, a Slack webhook cannot edit). Edits, deletes and threads decide whether
 * remote ids are tracked; `upload` whether the shell loads file bytes (else files go as links).
 */
export interface TargetCapabilities {
    edit: boolean;
    delete: boolean;
    threads: boolean;
    upload: boolean;
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

/**
 * A value a delivery looks up on the target before it sends (a channel name's room id), kept by
 * the shell in app persistence under `scope`, so every server instance and restart asks once per
 * destination. The shell puts a kept value into `carried[KEPT_LOOKUP]` before the first request;
 * without one the adapter adds its lookup request, whose answer carries `LOOKED_UP`, which the
 * shell then keeps. A delivery that fails for good with a kept value drops it (the name may now
 * mean another room), so the next one asks again.
 */
export interface KeptLookup<C> {
    /** Where the value is valid (server, account, destination); undefined: this delivery needs none. */
    scope(input: DeliveryInput<C>): string | undefined;
}

/** Carried key of a kept lookup's value, set by the shell from persistence (see KeptLookup). */
export const KEPT_LOOKUP = 'kept-lookup';
/** Carried key of the value the adapter's own lookup request read (see KeptLookup). */
export const LOOKED_UP = 'looked-up';

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

/**
 * What an Apprise-style URL says: the raw instance object (given to parseConfig) and the
 * destinations it names. A destination is a rule channel dict (`{ "channel": "#a" }`,
 * `{ "chat_id": "123" }`): its keys are channel keys the adapter reads from `DeliveryInput.channel`
 * and, as defaults, from its configuration. One destination is merged into `config` (the
 * instance's default); several make the instance fan out: a rule that names no channel of its
 * own relays to each of them, each destination with its own ordering and message map.
 */
export interface UrlInstance {
    config: Record<string, unknown>;
    destinations?: Array<Record<string, string>>;
}

/** Which `msg` template keys name and avatar come from (see core/template.ts renderMessage). */
export type TemplateFamily = 'rocketchat' | 'webhook';

/** For the README's target tables (tools/generate-targets.js writes them, a test compares). */
export interface TargetDocs {
    /** How files travel: `upload` in at least one mode, else `link`; and how and why. */
    files: 'upload' | 'link';
    filesHow: string;
    /** One row per mode: name, how an instance is written, how the sender shows, limits and notes. */
    rows: Array<{ target: string; instance: string; identity: string; notes: string }>;
}

export interface TargetAdapter<C = any> {
    /** Instance `type` in the relay configuration, e.g. `discord`; also its NextBridge section name. */
    readonly type: string;
    /** Apprise-style URL schemes this adapter parses, e.g. `['discord']`. */
    readonly schemes: readonly string[];
    /** Whether the service's own https URL (e.g. a pasted Discord webhook URL) is this target's. */
    acceptsNativeUrl?(url: URL): boolean;
    /**
     * Apprise writes this target's credentials with an unescaped `/` before the `@`
     * (`rockets://{id}/{token}@host/…`); the URL parser escapes it instead of reading a path.
     */
    readonly slashInCredentials?: boolean;
    /**
     * Instance keys written under another name in NextBridge configurations, alias → our key
     * (remote Rocket.Chat: `webhook_token` → `token`).
     */
    readonly instanceKeyAliases?: Readonly<Record<string, string>>;
    /** Which `msg` keys apply: `rc_alias`/`rc_avatar`/`emoji`, or `webhook_title`/`webhook_avatar`. */
    readonly templates: TemplateFamily;
    readonly docs: TargetDocs;
    /** What this configuration can do. */
    capabilities(config: C): TargetCapabilities;
    /** Validates a raw instance object from the JSON; throws ConfigError naming the key. */
    parseConfig(raw: Record<string, unknown>): C;
    /**
     * Checks a rule channel (after fan-out) against this configuration, e.g. that a destination
     * is named somewhere; throws ConfigError naming the channel key (`''` for the whole channel).
     */
    checkChannel?(config: C, channel: Record<string, string>): void;
    /** Reads an Apprise-style URL (or a native https URL); throws ConfigError naming the URL part. */
    fromUrl(url: URL): UrlInstance;
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
    /** A lookup answer kept across deliveries (see KeptLookup). */
    keptLookup?: KeptLookup<C>;
    /** Set by targets that need the sender's avatar uploaded to them first. */
    hostedAvatar?: HostedAvatarUpload<C>;
    /** Set by targets whose service limits the request rate (absent: no pacing). */
    rateLimits?: RateLimits<C>;
}

/**
 * How the service says how fast it may be called, so deliveries wait before a request instead of
 * after a 429 (core/pacing.ts). A 429's own wait is read by readResponse (TargetError.retryAfterMs).
 */
export interface RateLimits<C> {
    /** What an answer announces (X-RateLimit-* headers), for services that send it. */
    announced?(response: HttpResult, now: number): RateAnnouncement | undefined;
    /** Limits the service documents without announcing them, for one destination. */
    published?(config: C, channel: Record<string, string>): PublishedLimit[];
    /**
     * The service's limit is its operator's choice and shows only in a 429 (Matrix): what its
     * 429s show is learned as a leaky bucket and kept for a while (core/pacing.ts, learnFromRefusal).
     */
    learnedFrom429?: boolean;
    /**
     * Which requests the limit counts (Synapse's rc_message: events sent and redactions, not media
     * uploads, logins, joins or look-ups); absent, every request. The others neither wait for the
     * budget nor are counted in it, and their 429s teach it nothing.
     */
    counts?(request: OutboundRequest): boolean;
    /**
     * The service counts requests per account, not per destination (Synapse's rc_message: one
     * budget for all rooms an account posts to): the account's key (no secret in it). Every
     * destination with the same key shares one budget; absent, each destination has its own.
     */
    sharedBy?(config: C): string | undefined;
}

/** A target URL read by the registry: the adapter type, its raw instance object, its destinations. */
export interface ParsedTargetUrl {
    type: string;
    raw: Record<string, unknown>;
    /** Two or more: the instance fans out to them (UrlInstance); one is merged into `raw`. */
    destinations?: Array<Record<string, string>>;
}

/** The adapters the app ships, by instance type and URL scheme (src/targets/index.ts builds it). */
export interface AdapterRegistry {
    /** The adapter for an instance `type`, or undefined when there is none. */
    adapterForType(type: string): TargetAdapter | undefined;
    /** Apprise-style URL → adapter type, raw instance object, destinations; throws ConfigError (path `url`). */
    parseTargetUrl(url: string): ParsedTargetUrl;
    /** Instance types, for error messages and the help text. */
    types(): string[];
}
