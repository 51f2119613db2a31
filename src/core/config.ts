// The relay configuration: one JSON document the admin pastes into a code setting, parsed once
// into a validated RelayConfig. Every problem is a ConfigError naming the exact place
// (`instances.dc.webhook_url`, `rules[2].to.discord_main`, `rules[0].msg.rc_alias`, or the
// line/column of a JSON syntax error), so the admin can fix it without reading logs.
//
// Shape (NextBridge's rules are the compatibility contract; a NextBridge config.json + rules.json
// merged into one object parses nearly unchanged):
//
//   {
//     "instances": {
//       "dc":  { "type": "discord", ...adapter keys },
//       "hook": { "url": "discord://id/token", ...extra adapter keys },
//       "ci":  { "type": "inbound", "token": "…16+ chars…", "rooms": ["#builds"] }
//     },
//     "discord": { "dc2": { ...adapter keys } },   // NextBridge platform section: type = section key
//     "global": { … },                             // NextBridge global section: ignored (warning)
//     "rules": [ forward rule | connect rule, … ]
//   }
//
// Instances. The name `rocketchat` (LOCAL_INSTANCE) is reserved for this server and is never
// declared; a NextBridge top-level "rocketchat" section declares REMOTE Rocket.Chat servers.
// Keys every instance may carry besides its adapter keys:
//   type    adapter type (`discord`, …) or `inbound` (receives only, no outbound adapter)
//   url     without "type": Apprise-style URL the registry turns into the type and adapter keys
//           (explicit keys win); with "type" it is an ordinary adapter key
//   token   inbound auth token (≥ 16 chars, unique), also handed to the adapter (the generic
//           webhook puts it in its payload); remote `rocketchat` instances fall back to
//           NextBridge's `webhook_token`. Without a token an instance cannot send to us.
//   timeout_ms  per-request timeout for this target (default 10000)
//   max_in_flight  deliveries to this target at the same time (default 1: strictly in order;
//           more trades order for throughput, e.g. for notification targets)
//   linkable  `true`: a room owner who is not an admin may `/relay link` any room to this
//           instance; `["#room", …]`: only those rooms. Default: admins only.
//   rooms   inbound allow-list of local rooms: `#name`, a bare id-or-name, or `*` (every public
//           channel). Default: the local rooms its rules route it to.
//
// Rules. forward (default): `{ "from": { inst: channel, … }, "to": { inst: channel, … }, "msg" }`,
// every from × to pair is a route. connect: `{ "type": "connect", "channels": { inst: channel, … },
// "msg" }`, every ordered pair is a route. A channel of a connect rule, or of a forward rule's
// `to`, may carry its own "msg" that overrides the rule's msg key by key for messages sent TO it.
// Optional `id` (stable key for message mappings; default: FNV-1a hash of the rule without any
// msg), `comment` (ignored) and `filter`.
//
// Channels. For `rocketchat`: `{ "room_id": "GENERAL" }` or `{ "room": "#general" }` (`#` optional).
// `{ "room": "*" }` (in `from` only) means every PUBLIC channel; private groups, DMs and livechat
// rooms are only relayed when named explicitly. For other instances the channel dict is handed to
// the adapter as strings (numbers are stringified, as NextBridge compares with str()).
//
// Every route must start or end at this server: routes between two external instances (e.g. the
// dc → tg half of a connect rule) are dropped because the message already reaches tg through the
// Rocket.Chat room (dc → room → tg, with origin-based loop prevention).
//
// msg keys (all `{var}` templates, see template.ts): msg_format (default "{msg}"),
// webhook_msg_format (NextBridge: text for webhook sends, i.e. every external target here),
// rc_alias, rc_avatar, webhook_title, webhook_avatar, alias, avatar, emoji. bot_msg_format is
// accepted for NextBridge files but ignored (warning): we never send as a bot.
//
// filter keys (our addition, all optional):
//   ignore_users   ["bob", "@ci-bot"]  usernames whose messages are not relayed (case-insensitive)
//   ignore_bots    true                skip messages from bot users (default false)
//   match          "regex" or "/regex/i"  relay only messages whose text matches
//   ignore         "regex" or "/regex/i"  never relay messages whose text matches
//   trigger_words  ["!relay", "@all"]  relay only messages whose text starts with one of them
//   system_messages true               also relay system messages (joins, topic changes…; default false)
// match/ignore/trigger_words judge new messages; edits and deletes follow the original (the shell
// relays them only when the original was relayed). End-to-end encrypted messages are never relayed.

import { checkAddress } from './addressPolicy';
import { fnv1a } from './hash';
import { unsafeRegexReason } from './safeRegex';
import { ConfigError } from './errors';
import { originOf } from './redact';
import { closestMatch, compileTemplate, MessageTemplates, Template } from './template';
import type { AdapterRegistry, ParsedTargetUrl, TargetAdapter, TargetCapabilities } from './adapter';

/** Rule instance name meaning this Rocket.Chat server. */
export const LOCAL_INSTANCE = 'rocketchat';
/** Instance type with no outbound adapter: it only posts into this server. */
export const INBOUND_TYPE = 'inbound';
export const MIN_TOKEN_LENGTH = 16;

export type { AdapterRegistry } from './adapter';

export interface RelayInstance {
    name: string;
    /** Adapter type, or `inbound`. */
    type: string;
    /** Undefined for inbound-only instances. */
    adapter?: TargetAdapter;
    /** The adapter's parsed config (what `adapter.parseConfig` returned). */
    adapterConfig?: unknown;
    /** What the adapter can do with this configuration (undefined for inbound-only instances). */
    capabilities?: TargetCapabilities;
    /**
     * Destinations the instance's URL names when it names several (`tgram://token/id1/id2`): a
     * rule channel that names none of their keys is relayed to each (see fanOut).
     */
    destinations?: Array<Record<string, string>>;
    inboundToken?: string;
    /** Explicit inbound allow-list (`#name`, id-or-name, `*`); undefined: derived from the rules. */
    inboundRooms?: string[];
    /** Per-request timeout for this target (`timeout_ms`, default 10 s in the shell). */
    timeoutMs?: number;
    /** Deliveries to one destination (instance + channel) at the same time (`max_in_flight`, default 1 = strictly in order). */
    maxInFlight?: number;
    /**
     * Whether remote ids are recorded for this target so edits, deletes and thread replies can
     * follow (`track_edits`, default true). Off — by choice, or because the target can do none
     * of those — only new messages go there, and a message costs one persistence write less.
     */
    trackEdits: boolean;
    /** Where it is declared, e.g. `instances.dc` or `discord.dc`. */
    path: string;
    /** Rooms whose non-admin owners may link to it (`linkable`): all (`true`) or `#name`/id entries. */
    linkable?: true | string[];
}

/** What the admin decided outside the configuration text. */
export interface ParseOptions {
    /** Private hosts targets may use (the `private_hosts_allowed` setting); others are refused. */
    privateHostsAllowed?: string[];
}

export interface RouteFilter {
    /** Lower-case usernames without `@`. */
    ignoreUsers: string[];
    ignoreBots: boolean;
    match?: RegExp;
    ignore?: RegExp;
    triggerWords: string[];
    /** `system_messages`: relay system messages too. */
    systemMessages: boolean;
}

export interface RouteEndpoint {
    instance: string;
    /** Adapter type of the instance; `rocketchat` for this server. */
    type: string;
    /** Address dict without `msg`; for this server `{ room_id }` or `{ room }` (no `#`, or `*`). */
    channel: Record<string, string>;
}

export interface Route {
    ruleId: string;
    /** Position of the rule in the configuration; routes keep rule order. */
    ruleIndex: number;
    from: RouteEndpoint;
    to: RouteEndpoint;
    /** Rule msg merged with the target channel's msg override. */
    msg: MessageTemplates;
    filter: RouteFilter;
}

export interface RelayRule {
    id: string;
    index: number;
    type: 'forward' | 'connect';
    filter: RouteFilter;
    routes: Route[];
}

export interface ConfigWarning {
    path: string;
    problem: string;
}

export interface RelayConfig {
    /** External instances by name (this server is implicit, see LOCAL_INSTANCE). */
    instances: Map<string, RelayInstance>;
    rules: RelayRule[];
    /** Every route of every rule, in rule order. */
    routes: Route[];
    /** Non-fatal findings worth showing the admin (ignored keys, dead routes…). */
    warnings: ConfigWarning[];
}

export type RelayConfigResult = { ok: true; config: RelayConfig } | { ok: false; error: ConfigError };

const TOP_LEVEL_KEYS = ['instances', 'rules', 'global'];
/** Keys we read from an instance; the rest (and `url` when `type` is given) go to the adapter. */
const INSTANCE_OWN_KEYS = ['type', 'url', 'token', 'rooms', 'timeout_ms', 'max_in_flight', 'track_edits', 'linkable'];
const INBOUND_KEYS = ['type', 'token', 'rooms'];
const RULE_KEYS = ['id', 'type', 'from', 'to', 'channels', 'msg', 'filter', 'comment'];
const RULE_TYPES = ['forward', 'connect'];
const MSG_KEYS = [
    'msg_format',
    'webhook_msg_format',
    'bot_msg_format',
    'alias',
    'avatar',
    'emoji',
    'rc_alias',
    'rc_avatar',
    'webhook_title',
    'webhook_avatar',
];
const FILTER_KEYS = ['ignore_users', 'ignore_bots', 'match', 'ignore', 'trigger_words', 'system_messages'];
const LOCAL_CHANNEL_KEYS = ['room_id', 'room'];
const DEFAULT_MSG_FORMAT = compileTemplate('{msg}', 'default msg_format');

export function validateRelayConfig(json: string, registry: AdapterRegistry, options: ParseOptions = {}): RelayConfigResult {
    try {
        return { ok: true, config: parseRelayConfig(json, registry, options) };
    } catch (e) {
        if (e instanceof ConfigError) {
            return { ok: false, error: e };
        }
        throw e;
    }
}

export function parseRelayConfig(json: string, registry: AdapterRegistry, options: ParseOptions = {}): RelayConfig {
    const root = parseJson(json);
    if (!isObject(root)) {
        throw new ConfigError('', 'the configuration must be a JSON object with "instances" and "rules"');
    }
    const warnings: ConfigWarning[] = [];
    const instances = parseInstances(root, registry, warnings, options);
    if (!('rules' in root)) {
        throw new ConfigError('rules', 'missing: add a "rules" array (at least one rule)');
    }
    const rawRules = root.rules;
    if (!Array.isArray(rawRules)) {
        throw new ConfigError('rules', `must be an array of rules, got ${describeType(rawRules)}`);
    }
    if (rawRules.length === 0) {
        throw new ConfigError('rules', 'is empty: add at least one rule');
    }
    const context: RuleContext = { instances, warnings };
    const rules: RelayRule[] = [];
    const pathById = new Map<string, string>();
    for (let index = 0; index < rawRules.length; index++) {
        const rule = parseRule(rawRules[index], index, context);
        const earlier = pathById.get(rule.id);
        if (earlier !== undefined) {
            throw new ConfigError(`rules[${index}]`, `duplicate rule id "${rule.id}" (same as ${earlier}); identical rules must be merged or given different ids`);
        }
        pathById.set(rule.id, `rules[${index}]`);
        rules.push(rule);
    }
    const routes: Route[] = [];
    for (const rule of rules) {
        for (const route of rule.routes) {
            routes.push(route);
        }
    }
    warnAboutUnusedInstances(instances, routes, warnings);
    return { instances, rules, routes, warnings };
}

// ---------------------------------------------------------------- JSON

function parseJson(text: string): unknown {
    const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    if (!source.trim()) {
        throw new ConfigError('', 'the configuration is empty');
    }
    try {
        return JSON.parse(source);
    } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        throw new ConfigError(jsonErrorLocation(source, message), `invalid JSON: ${message.replace(/ \(line \d+ column \d+\)$/, '')}`);
    }
}

/** `line L, column C` from the engine's message (formats differ between V8 versions). */
function jsonErrorLocation(source: string, message: string): string {
    const lineColumn = /line (\d+) column (\d+)/.exec(message);
    if (lineColumn) {
        return `line ${lineColumn[1]}, column ${lineColumn[2]}`;
    }
    const position = /position (\d+)/.exec(message);
    let offset = position ? Number(position[1]) : /end of JSON input|Unterminated/i.test(message) ? source.length : -1;
    if (offset < 0) {
        return '';
    }
    offset = Math.min(offset, source.length);
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < offset; i++) {
        if (source.charCodeAt(i) === 10) {
            line += 1;
            lineStart = i + 1;
        }
    }
    return `line ${line}, column ${offset - lineStart + 1}`;
}

// ---------------------------------------------------------------- instances

function parseInstances(root: JsonObject, registry: AdapterRegistry, warnings: ConfigWarning[], options: ParseOptions): Map<string, RelayInstance> {
    const instances = new Map<string, RelayInstance>();
    const add = (name: string, raw: unknown, path: string, sectionType?: string) => {
        const existing = instances.get(name);
        if (existing) {
            throw new ConfigError(path, `instance "${name}" is already declared at ${existing.path}`);
        }
        instances.set(name, parseInstance(name, raw, path, sectionType, registry, options));
    };
    if ('instances' in root) {
        const section = root.instances;
        if (!isObject(section)) {
            throw new ConfigError('instances', `must be an object of named instances, got ${describeType(section)}`);
        }
        for (const name of Object.keys(section)) {
            add(name, section[name], keyPath('instances', name));
        }
    }
    for (const key of Object.keys(root)) {
        if (key === 'instances' || key === 'rules') {
            continue;
        }
        if (key === 'global') {
            warnings.push({ path: 'global', problem: 'NextBridge global settings are ignored here (proxy, http, log and database are Rocket.Chat settings)' });
            continue;
        }
        // Any other top-level key is a NextBridge platform section: { "<type>": { "<name>": {...} } }.
        const section = root[key];
        if (!isObject(section) || Object.keys(section).some((name) => !isObject(section[name]))) {
            const suggestion = closestMatch(key, TOP_LEVEL_KEYS);
            throw new ConfigError(key, `unknown top-level key${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; expected "instances", "rules" or a platform section like "discord": { "<name>": { … } }`);
        }
        if (!registry.adapterForType(key)) {
            const suggestion = closestMatch(key, TOP_LEVEL_KEYS);
            throw new ConfigError(key, `unknown platform section "${key}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; declare sender-only instances with "type": "inbound" under "instances"`);
        }
        for (const name of Object.keys(section)) {
            add(name, section[name], keyPath(key, name), key);
        }
    }
    const pathByToken = new Map<string, string>();
    instances.forEach((instance) => {
        if (instance.inboundToken === undefined) {
            return;
        }
        const earlier = pathByToken.get(instance.inboundToken);
        if (earlier !== undefined) {
            throw new ConfigError(`${instance.path}.token`, `the same inbound token is used by ${earlier}; every instance needs its own token`);
        }
        pathByToken.set(instance.inboundToken, instance.path);
    });
    return instances;
}

function parseInstance(name: string, raw: unknown, path: string, sectionType: string | undefined, registry: AdapterRegistry, options: ParseOptions): RelayInstance {
    if (name === LOCAL_INSTANCE) {
        throw new ConfigError(path, `the instance name "${LOCAL_INSTANCE}" is reserved for this Rocket.Chat server; give a remote server another name (e.g. "rc_remote") and use "${LOCAL_INSTANCE}" in rules for this one`);
    }
    if (!name.trim() || name.length > 64) {
        throw new ConfigError(path, 'instance names must be 1 to 64 characters, not blank');
    }
    if (!isObject(raw)) {
        throw new ConfigError(path, `must be an object, got ${describeType(raw)}`);
    }
    let type = sectionType;
    if (raw.type !== undefined) {
        const declared = requireString(raw.type, `${path}.type`);
        if (type !== undefined && declared !== type) {
            throw new ConfigError(`${path}.type`, `"${declared}" contradicts the section "${type}" it is declared in`);
        }
        type = declared;
    }
    // Without a type, `url` is an Apprise-style URL that picks the adapter; with one it is an
    // ordinary adapter key (a generic webhook target has its own `url`).
    const urlForm = type === undefined && raw.url !== undefined;
    let fromUrl: Record<string, unknown> = {};
    let destinations: Array<Record<string, string>> | undefined;
    if (urlForm) {
        const url = requireString(raw.url, `${path}.url`);
        let parsed: ParsedTargetUrl;
        try {
            parsed = registry.parseTargetUrl(url);
        } catch (e) {
            throw urlError(e, path);
        }
        type = parsed.type;
        fromUrl = parsed.raw;
        destinations = parsed.destinations;
    }
    if (type === undefined) {
        throw new ConfigError(path, 'missing "type" (e.g. "discord", or "inbound" for a sender-only instance) or "url"');
    }

    const instance: RelayInstance = { name, type, path, trackEdits: false };
    const adapter = type === INBOUND_TYPE ? undefined : registry.adapterForType(type);
    // NextBridge names some instance keys differently per platform (its remote Rocket.Chat
    // verifies outgoing webhooks with `webhook_token`): the adapter lists them, alias → our key.
    const aliases = (adapter && adapter.instanceKeyAliases) || {};
    const aliasOf = (key: string) => Object.keys(aliases).filter((alias) => aliases[alias] === key && raw[alias] !== undefined && raw[alias] !== '')[0];
    let token = raw.token;
    let tokenPath = `${path}.token`;
    if (token === undefined && aliasOf('token') !== undefined) {
        token = raw[aliasOf('token')];
        tokenPath = `${path}.${aliasOf('token')}`;
    }
    if (token !== undefined) {
        instance.inboundToken = requireString(token, tokenPath);
        if (instance.inboundToken.length < MIN_TOKEN_LENGTH) {
            throw new ConfigError(tokenPath, `an inbound token must be at least ${MIN_TOKEN_LENGTH} characters (it is the only thing that authenticates senders)`);
        }
    }
    if (raw.rooms !== undefined) {
        instance.inboundRooms = parseRoomList(raw.rooms, `${path}.rooms`);
    }
    if (raw.timeout_ms !== undefined) {
        const timeout = raw.timeout_ms;
        if (typeof timeout !== 'number' || !(timeout >= 100 && timeout <= 300000) || Math.floor(timeout) !== timeout) {
            throw new ConfigError(`${path}.timeout_ms`, 'must be a whole number of milliseconds from 100 to 300000');
        }
        instance.timeoutMs = timeout;
    }
    if (raw.max_in_flight !== undefined) {
        const limit = raw.max_in_flight;
        if (typeof limit !== 'number' || !(limit >= 1 && limit <= 32) || Math.floor(limit) !== limit) {
            throw new ConfigError(`${path}.max_in_flight`, 'must be a whole number from 1 (strict order, the default) to 32');
        }
        instance.maxInFlight = limit;
    }
    if (raw.linkable !== undefined && raw.linkable !== false) {
        instance.linkable = raw.linkable === true ? true : parseRoomList(raw.linkable, `${path}.linkable`);
    }
    if (raw.track_edits !== undefined && typeof raw.track_edits !== 'boolean') {
        throw new ConfigError(`${path}.track_edits`, 'must be true (the default: edits, deletes and thread replies follow their message) or false (new messages only)');
    }

    if (type === INBOUND_TYPE) {
        for (const key of Object.keys(raw)) {
            if (INBOUND_KEYS.indexOf(key) < 0) {
                throw unknownKey(`${path}.${key}`, key, INBOUND_KEYS, 'an inbound instance has');
            }
        }
        if (instance.inboundToken === undefined) {
            throw new ConfigError(`${path}.token`, 'missing: an inbound instance needs a token to authenticate its sender');
        }
        return instance;
    }

    if (!adapter) {
        throw new ConfigError(urlForm ? `${path}.url` : raw.type !== undefined ? `${path}.type` : path, `unknown instance type "${type}"`);
    }
    const adapterRaw: Record<string, unknown> = {};
    for (const key of Object.keys(fromUrl)) {
        adapterRaw[key] = fromUrl[key];
    }
    for (const key of Object.keys(raw)) {
        // `token` also reaches the adapter: the generic webhook sends it in its payload, so one
        // shared secret authenticates both directions (as NextBridge's webhook_token does).
        if (INSTANCE_OWN_KEYS.indexOf(key) < 0 || key === 'token' || (key === 'url' && !urlForm)) {
            adapterRaw[key] = raw[key];
        }
    }
    try {
        instance.adapterConfig = adapter.parseConfig(adapterRaw);
    } catch (e) {
        // A bad value that came from the URL is reported at `url`, not at a key the admin never wrote.
        if (e instanceof ConfigError && fromUrl.hasOwnProperty(firstSegment(e.path)) && !raw.hasOwnProperty(firstSegment(e.path))) {
            throw new ConfigError(`${path}.url`, `${e.path}: ${e.problem}`);
        }
        throw rebase(e, path);
    }
    for (const endpoint of adapter.endpoints(instance.adapterConfig)) {
        const verdict = checkAddress(endpoint, options.privateHostsAllowed || []);
        if (!verdict.allowed) {
            // Named at the key the admin wrote it in (adapters normalise trailing slashes).
            const key = urlForm ? 'url' : Object.keys(raw).filter((k) => typeof raw[k] === 'string' && (raw[k] as string).replace(/\/+$/, '') === endpoint.replace(/\/+$/, ''))[0];
            throw new ConfigError(key ? `${path}.${key}` : path, `${originOf(endpoint) || 'the target URL'} is ${verdict.reason}; an admin may allow it in the "Private hosts" setting`);
        }
    }
    instance.adapter = adapter;
    instance.capabilities = adapter.capabilities(instance.adapterConfig);
    const { edit, delete: canDelete, threads } = instance.capabilities;
    instance.trackEdits = raw.track_edits !== false && (edit || canDelete || threads);
    if (destinations && destinations.length > 1) {
        instance.destinations = destinations;
    }
    return instance;
}

function parseRoomList(raw: unknown, path: string): string[] {
    if (!Array.isArray(raw) || raw.length === 0) {
        throw new ConfigError(path, 'must be a non-empty array of rooms ("#name", a room id or "*")');
    }
    return raw.map((room, i) => {
        const value = requireString(room, `${path}[${i}]`).trim();
        if (!value || value === '#') {
            throw new ConfigError(`${path}[${i}]`, 'must not be empty');
        }
        return value;
    });
}

function warnAboutUnusedInstances(instances: Map<string, RelayInstance>, routes: Route[], warnings: ConfigWarning[]): void {
    const used = new Set<string>();
    for (const route of routes) {
        used.add(route.from.instance);
        used.add(route.to.instance);
    }
    instances.forEach((instance) => {
        if (!used.has(instance.name)) {
            warnings.push({ path: instance.path, problem: `instance "${instance.name}" is not used by any rule` });
        }
    });
}

// ---------------------------------------------------------------- rules

interface RuleContext {
    instances: Map<string, RelayInstance>;
    warnings: ConfigWarning[];
}

/** One `instance: channel` entry of from/to/channels after validation. */
interface ParsedEndpoint {
    endpoint: RouteEndpoint;
    /** Compiled per-channel `msg` override (to/channels only). */
    msg?: Partial<MessageTemplates>;
    path: string;
    inboundOnly: boolean;
}

type EndpointRole = 'from' | 'to' | 'channels';

function parseRule(raw: unknown, index: number, context: RuleContext): RelayRule {
    const path = `rules[${index}]`;
    if (!isObject(raw)) {
        throw new ConfigError(path, `must be an object, got ${describeType(raw)}`);
    }
    for (const key of Object.keys(raw)) {
        if (RULE_KEYS.indexOf(key) < 0) {
            throw unknownKey(`${path}.${key}`, key, RULE_KEYS, 'rule keys are');
        }
    }
    let type: 'forward' | 'connect' = 'forward';
    if (raw.type !== undefined) {
        const declared = requireString(raw.type, `${path}.type`);
        if (declared !== 'forward' && declared !== 'connect') {
            const suggestion = closestMatch(declared, RULE_TYPES);
            throw new ConfigError(`${path}.type`, `unknown rule type "${declared}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; use "forward" (default) or "connect"`);
        }
        type = declared;
    }
    if (raw.comment !== undefined) {
        requireString(raw.comment, `${path}.comment`);
    }
    const ruleMsg = raw.msg === undefined ? {} : parseMsg(raw.msg, `${path}.msg`, context.warnings);
    const filter = raw.filter === undefined ? defaultFilter() : parseFilter(raw.filter, `${path}.filter`);

    const pairs: Array<{ from: ParsedEndpoint; to: ParsedEndpoint }> = [];
    let hashContent: JsonObject;
    if (type === 'connect') {
        for (const key of ['from', 'to']) {
            if (raw[key] !== undefined) {
                throw new ConfigError(`${path}.${key}`, 'a connect rule lists its instances under "channels" (no from/to)');
            }
        }
        const channels = parseEndpoints(raw.channels, `${path}.channels`, 'channels', context);
        if (channels.length < 2) {
            throw new ConfigError(`${path}.channels`, 'a connect rule needs at least two channels');
        }
        for (const from of channels) {
            for (const to of channels) {
                if (from !== to) {
                    pairs.push({ from, to });
                }
            }
        }
        hashContent = { type, channels: endpointsForHash(channels) };
    } else {
        if (raw.channels !== undefined) {
            throw new ConfigError(`${path}.channels`, '"channels" belongs to connect rules; add "type": "connect" or use from/to');
        }
        const froms = parseEndpoints(raw.from, `${path}.from`, 'from', context);
        const tos = parseEndpoints(raw.to, `${path}.to`, 'to', context);
        for (const to of tos) {
            if (to.inboundOnly) {
                throw new ConfigError(to.path, `instance "${to.endpoint.instance}" is inbound-only (type "${INBOUND_TYPE}") and cannot receive messages`);
            }
        }
        for (const from of froms) {
            for (const to of tos) {
                if (from.endpoint.instance === to.endpoint.instance && canonicalJson(from.endpoint.channel) === canonicalJson(to.endpoint.channel)) {
                    throw new ConfigError(to.path, `is the same channel as ${from.path}; a rule cannot relay a channel to itself`);
                }
                pairs.push({ from, to });
            }
        }
        hashContent = { type, from: endpointsForHash(froms), to: endpointsForHash(tos) };
    }
    if (raw.filter !== undefined) {
        hashContent.filter = raw.filter;
    }
    const id = raw.id === undefined ? `r${fnv1a(canonicalJson(hashContent))}` : parseRuleId(raw.id, `${path}.id`);

    const routes: Route[] = [];
    const warnedSources = new Set<string>();
    const fannedOut: typeof pairs = [];
    pairs.forEach((pair) => fanOut(pair.to, context.instances).forEach((to) => fannedOut.push({ from: pair.from, to })));
    for (const pair of fannedOut) {
        const { from, to } = pair;
        const fromLocal = from.endpoint.instance === LOCAL_INSTANCE;
        const toLocal = to.endpoint.instance === LOCAL_INSTANCE;
        if (!fromLocal && !toLocal) {
            // Connect rules reach these through the Rocket.Chat room; forward rules get a warning.
            if (type === 'forward') {
                context.warnings.push({ path: to.path, problem: `route ${from.endpoint.instance} → ${to.endpoint.instance} skipped: every route must start or end at "${LOCAL_INSTANCE}"` });
            }
            continue;
        }
        if (fromLocal && toLocal) {
            // Mirroring one room of this server into another is not something the relay does (yet).
            context.warnings.push({ path: to.path, problem: `route between two rooms of this server (${channelLabel(from.endpoint.channel)} → ${channelLabel(to.endpoint.channel)}) is not relayed` });
        }
        if (to.inboundOnly) {
            // Only reachable from connect rules (forward rules reject it above): it just sends.
            continue;
        }
        if (!fromLocal && !warnedSources.has(from.endpoint.instance)) {
            warnedSources.add(from.endpoint.instance);
            const instance = context.instances.get(from.endpoint.instance);
            if (instance && instance.inboundToken === undefined) {
                context.warnings.push({ path: from.path, problem: `instance "${instance.name}" has no inbound "token", so messages from it can never arrive` });
            }
        }
        routes.push({
            ruleId: id,
            ruleIndex: index,
            from: from.endpoint,
            to: to.endpoint,
            msg: mergeMsg(ruleMsg, to.msg),
            filter,
        });
    }
    if (routes.length === 0) {
        throw new ConfigError(path, `no usable route: every route must start or end at "${LOCAL_INSTANCE}" (this server) and end at an instance that can receive`);
    }
    return { id, index, type, filter, routes };
}

/**
 * A route to an instance whose URL names several destinations becomes one route per destination
 * (each its own ordering key and message map), unless the rule's channel names a destination of
 * its own (one of their keys). The rule's channel keys are kept (a Telegram topic, a msg override).
 */
function fanOut(to: ParsedEndpoint, instances: Map<string, RelayInstance>): ParsedEndpoint[] {
    const instance = instances.get(to.endpoint.instance);
    const destinations = instance && instance.destinations;
    const own = Object.keys(to.endpoint.channel);
    if (!destinations || destinations.some((destination) => Object.keys(destination).some((key) => own.indexOf(key) >= 0))) {
        return [to];
    }
    return destinations.map((destination) => ({
        endpoint: { instance: to.endpoint.instance, type: to.endpoint.type, channel: Object.assign({}, destination, to.endpoint.channel) },
        msg: to.msg,
        path: to.path,
        inboundOnly: to.inboundOnly,
    }));
}

function parseRuleId(raw: unknown, path: string): string {
    const id = requireString(raw, path).trim();
    if (!id || id.length > 64) {
        throw new ConfigError(path, 'a rule id must be 1 to 64 characters');
    }
    return id;
}

function parseEndpoints(raw: unknown, path: string, role: EndpointRole, context: RuleContext): ParsedEndpoint[] {
    if (raw === undefined) {
        throw new ConfigError(path, `missing: add { "<instance>": { …channel… } }`);
    }
    if (!isObject(raw)) {
        throw new ConfigError(path, `must be an object of { "<instance>": { …channel… } }, got ${describeType(raw)}`);
    }
    const names = Object.keys(raw);
    if (names.length === 0) {
        throw new ConfigError(path, 'must name at least one instance');
    }
    return names.map((name) => parseEndpoint(name, raw[name], keyPath(path, name), role, context));
}

function parseEndpoint(name: string, raw: unknown, path: string, role: EndpointRole, context: RuleContext): ParsedEndpoint {
    const local = name === LOCAL_INSTANCE;
    const instance = context.instances.get(name);
    if (!local && !instance) {
        const known = [LOCAL_INSTANCE];
        context.instances.forEach((_, declared) => known.push(declared));
        const suggestion = closestMatch(name, known);
        throw new ConfigError(path, `unknown instance "${name}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; declared: ${known.join(', ')}`);
    }
    if (!isObject(raw)) {
        throw new ConfigError(path, `the channel must be an object such as ${local ? '{ "room": "#general" }' : '{ "channel_id": "123" }'}, got ${describeType(raw)}`);
    }
    let msg: Partial<MessageTemplates> | undefined;
    if (raw.msg !== undefined) {
        if (role === 'from') {
            throw new ConfigError(`${path}.msg`, 'a per-channel msg applies to messages sent TO a channel; put it under "to" or the rule\'s "msg"');
        }
        msg = parseMsg(raw.msg, `${path}.msg`, context.warnings);
    }
    const channel = local ? parseLocalChannel(raw, path, role) : parseRemoteChannel(raw, path);
    return {
        endpoint: { instance: name, type: local ? 'rocketchat' : (instance as RelayInstance).type, channel },
        msg,
        path,
        inboundOnly: !local && (instance as RelayInstance).adapter === undefined,
    };
}

function parseLocalChannel(raw: JsonObject, path: string, role: EndpointRole): Record<string, string> {
    for (const key of Object.keys(raw)) {
        if (key !== 'msg' && LOCAL_CHANNEL_KEYS.indexOf(key) < 0) {
            throw unknownKey(`${path}.${key}`, key, LOCAL_CHANNEL_KEYS, `a "${LOCAL_INSTANCE}" channel has`);
        }
    }
    if (raw.room_id !== undefined && raw.room !== undefined) {
        throw new ConfigError(path, 'give either "room_id" or "room", not both');
    }
    if (raw.room_id !== undefined) {
        const roomId = requireString(raw.room_id, `${path}.room_id`).trim();
        if (!roomId) {
            throw new ConfigError(`${path}.room_id`, 'must not be empty');
        }
        return { room_id: roomId };
    }
    if (raw.room !== undefined) {
        const room = requireString(raw.room, `${path}.room`).trim().replace(/^#/, '');
        if (!room) {
            throw new ConfigError(`${path}.room`, 'must name a room, e.g. "#general"');
        }
        if (room === '*' && role !== 'from') {
            throw new ConfigError(`${path}.room`, '"*" (every public channel) can only be used in "from"');
        }
        return { room };
    }
    throw new ConfigError(path, 'missing "room_id" or "room" (e.g. { "room": "#general" })');
}

function parseRemoteChannel(raw: JsonObject, path: string): Record<string, string> {
    const channel: Record<string, string> = {};
    for (const key of Object.keys(raw)) {
        if (key === 'msg') {
            continue;
        }
        const value = raw[key];
        if (typeof value === 'string') {
            channel[key] = value;
        } else if (typeof value === 'number' || typeof value === 'boolean') {
            channel[key] = String(value);
        } else {
            throw new ConfigError(`${path}.${key}`, `channel values must be strings or numbers, got ${describeType(value)}`);
        }
    }
    return channel;
}

function endpointsForHash(endpoints: ParsedEndpoint[]): JsonObject {
    const out: JsonObject = {};
    for (const parsed of endpoints) {
        out[parsed.endpoint.instance] = parsed.endpoint.channel;
    }
    return out;
}

// ---------------------------------------------------------------- msg and filter

function parseMsg(raw: unknown, path: string, warnings: ConfigWarning[]): Partial<MessageTemplates> {
    if (!isObject(raw)) {
        throw new ConfigError(path, `must be an object such as { "msg_format": "{user}: {msg}" }, got ${describeType(raw)}`);
    }
    const templates: { [key: string]: Template } = {};
    for (const key of Object.keys(raw)) {
        if (MSG_KEYS.indexOf(key) < 0) {
            throw unknownKey(`${path}.${key}`, key, MSG_KEYS, 'msg keys are');
        }
        const value = raw[key];
        if (typeof value !== 'string') {
            throw new ConfigError(`${path}.${key}`, `must be a template string, got ${describeType(value)}`);
        }
        const template = compileTemplate(value, `${path}.${key}`);
        if (key === 'bot_msg_format') {
            warnings.push({ path: `${path}.${key}`, problem: 'ignored: Relay Bridge never sends as a bot; use msg_format' });
            continue;
        }
        templates[key] = template;
    }
    return templates as Partial<MessageTemplates>;
}

function mergeMsg(ruleMsg: Partial<MessageTemplates>, channelMsg: Partial<MessageTemplates> | undefined): MessageTemplates {
    const merged: { [key: string]: Template | undefined } = { msg_format: DEFAULT_MSG_FORMAT };
    for (const source of [ruleMsg, channelMsg || {}]) {
        for (const key of Object.keys(source)) {
            merged[key] = (source as { [key: string]: Template | undefined })[key];
        }
    }
    return merged as unknown as MessageTemplates;
}

function defaultFilter(): RouteFilter {
    return { ignoreUsers: [], ignoreBots: false, triggerWords: [], systemMessages: false };
}

function parseFilter(raw: unknown, path: string): RouteFilter {
    if (!isObject(raw)) {
        throw new ConfigError(path, `must be an object, got ${describeType(raw)}`);
    }
    const filter = defaultFilter();
    for (const key of Object.keys(raw)) {
        if (FILTER_KEYS.indexOf(key) < 0) {
            throw unknownKey(`${path}.${key}`, key, FILTER_KEYS, 'filter keys are');
        }
    }
    if (raw.ignore_users !== undefined) {
        filter.ignoreUsers = requireStringList(raw.ignore_users, `${path}.ignore_users`).map((user) => user.replace(/^@/, '').toLowerCase());
    }
    filter.ignoreBots = parseFlag(raw.ignore_bots, `${path}.ignore_bots`, filter.ignoreBots);
    filter.systemMessages = parseFlag(raw.system_messages, `${path}.system_messages`, filter.systemMessages);
    if (raw.match !== undefined) {
        filter.match = parseRegex(raw.match, `${path}.match`);
    }
    if (raw.ignore !== undefined) {
        filter.ignore = parseRegex(raw.ignore, `${path}.ignore`);
    }
    if (raw.trigger_words !== undefined) {
        filter.triggerWords = requireStringList(raw.trigger_words, `${path}.trigger_words`);
    }
    return filter;
}

function parseFlag(raw: unknown, path: string, fallback: boolean): boolean {
    if (raw === undefined) {
        return fallback;
    }
    if (typeof raw !== 'boolean') {
        throw new ConfigError(path, `must be true or false, got ${describeType(raw)}`);
    }
    return raw;
}

/** `pattern` or `/pattern/flags` with flags from `imu` (no `g`/`y`: test() would become stateful). */
function parseRegex(raw: unknown, path: string): RegExp {
    const text = requireString(raw, path);
    let pattern = text;
    let flags = '';
    const literal = /^\/([\s\S]*)\/([a-z]*)$/.exec(text);
    if (literal) {
        pattern = literal[1];
        flags = literal[2];
        if (!/^[imu]*$/.test(flags)) {
            throw new ConfigError(path, `unsupported regex flags "${flags}"; use i, m or u`);
        }
    }
    if (!pattern) {
        throw new ConfigError(path, 'must not be an empty regex');
    }
    const unsafe = unsafeRegexReason(pattern);
    if (unsafe) {
        throw new ConfigError(path, unsafe);
    }
    try {
        return new RegExp(pattern, flags);
    } catch (e) {
        throw new ConfigError(path, `invalid regex: ${e instanceof Error ? e.message : String(e)}`);
    }
}

// ---------------------------------------------------------------- small helpers

type JsonObject = { [key: string]: unknown };

function isObject(value: unknown): value is JsonObject {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeType(value: unknown): string {
    if (value === null) {
        return 'null';
    }
    if (Array.isArray(value)) {
        return 'an array';
    }
    return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

function requireString(value: unknown, path: string): string {
    if (typeof value !== 'string') {
        throw new ConfigError(path, `must be a string, got ${describeType(value)}`);
    }
    return value;
}

function requireStringList(value: unknown, path: string): string[] {
    if (!Array.isArray(value)) {
        throw new ConfigError(path, `must be an array of strings, got ${describeType(value)}`);
    }
    return value.map((item, i) => {
        const text = requireString(item, `${path}[${i}]`).trim();
        if (!text) {
            throw new ConfigError(`${path}[${i}]`, 'must not be empty');
        }
        return text;
    });
}

function unknownKey(path: string, key: string, known: string[], knownLabel: string): ConfigError {
    const suggestion = closestMatch(key, known);
    return new ConfigError(path, `unknown key "${key}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; ${knownLabel}: ${known.join(', ')}`);
}

/** `base.key`, or `base["key"]` when the key would make the path ambiguous. */
function keyPath(base: string, key: string): string {
    return /^[A-Za-z0-9_-]+$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

function firstSegment(path: string): string {
    return path.split(/[.[]/)[0];
}

/** Places a registry URL error at `<instance>.url` (the registry may name `url` itself or a part). */
function urlError(error: unknown, instancePath: string): ConfigError {
    if (error instanceof ConfigError && error.path && firstSegment(error.path) !== 'url') {
        return new ConfigError(`${instancePath}.url`, `${error.path}: ${error.problem}`);
    }
    return rebase(error, instancePath, 'url');
}

/** Re-roots an adapter's ConfigError (whose path is relative to the instance) under `base`. */
function rebase(error: unknown, base: string, defaultKey?: string): ConfigError {
    const fallback = defaultKey ? `${base}.${defaultKey}` : base;
    if (error instanceof ConfigError) {
        return new ConfigError(error.path ? `${base}.${error.path}` : fallback, error.problem);
    }
    return new ConfigError(fallback, error instanceof Error ? error.message : String(error));
}

/** JSON with object keys sorted at every level: same content, same text, whatever the key order. */
function channelLabel(channel: Record<string, string>): string {
    return channel.room_id ? channel.room_id : `#${channel.room}`;
}

export function canonicalJson(value: unknown): string {
    if (Array.isArray(value)) {
        return `[${value.map(canonicalJson).join(',')}]`;
    }
    if (isObject(value)) {
        const keys = Object.keys(value).sort();
        return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(',')}}`;
    }
    return JSON.stringify(value === undefined ? null : value);
}
