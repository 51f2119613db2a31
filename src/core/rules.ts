// Which routes a message takes. Built once per configuration: every lookup is a Map lookup (room
// id, room name, source instance) plus the short wildcard list, so the cost of routing one message
// does not grow with the number of rules.
//
// Several rules may match one message and all their routes are returned (each carries its rule
// id, which the shell uses for message mappings). Two routes to the same instance + channel would
// deliver the message twice, so the shell sends per `groupByTarget` group: once per target, with
// the templates of the first matching rule in configuration order. Routes addressing the same
// room once by id and once by name are not merged (the index cannot know they are the same room).

import { canonicalJson, LOCAL_INSTANCE, RelayConfig, Route, RouteEndpoint } from './config';
import type { RelayMessage, RoomKind } from './message';
import { FILTER_TEXT_LIMIT } from './safeRegex';

export type { Route, RouteEndpoint, RouteFilter } from './config';

export interface RoomRef {
    id: string;
    /** Room name without `#`. */
    name: string;
    kind: RoomKind;
}

/** Routes that share one target instance + channel; `route` (the first) provides the templates. */
export interface TargetGroup {
    key: string;
    to: RouteEndpoint;
    route: Route;
    routes: Route[];
}

/** A route and its position in the configuration, so merged lookups keep rule order. */
interface IndexedRoute {
    position: number;
    route: Route;
}

/** Compiled inbound room allow-list of one instance. */
interface RoomSelection {
    ids: Set<string>;
    /** Lower-case names. */
    names: Set<string>;
    /** Bare entries of an explicit `rooms` list: an id or a name. */
    idsOrNames: Set<string>;
    everyPublicChannel: boolean;
}

export class RuleIndex {
    readonly routes: readonly Route[];
    private readonly byRoomId = new Map<string, IndexedRoute[]>();
    private readonly byRoomName = new Map<string, IndexedRoute[]>();
    private readonly everyPublicChannel: IndexedRoute[] = [];
    private readonly inboundBySource = new Map<string, Route[]>();
    private readonly inboundRooms = new Map<string, RoomSelection>();
    private readonly tokens: Array<{ token: string; instance: string }> = [];

    constructor(config: RelayConfig) {
        this.routes = config.routes;
        config.routes.forEach((route, position) => {
            if (route.from.instance === LOCAL_INSTANCE) {
                this.indexOutbound({ position, route });
            } else if (route.to.instance === LOCAL_INSTANCE) {
                append(this.inboundBySource, route.from.instance, route);
            }
        });
        config.instances.forEach((instance) => {
            if (instance.inboundToken === undefined) {
                return;
            }
            this.tokens.push({ token: instance.inboundToken, instance: instance.name });
            this.inboundRooms.set(instance.name, instance.inboundRooms
                ? selectionFromList(instance.inboundRooms)
                : selectionFromRoutes(this.inboundBySource.get(instance.name) || []));
        });
    }

    /** Routes for a message in a room of this server, in configuration order. */
    outboundRoutes(room: RoomRef): Route[] {
        const found: IndexedRoute[] = [];
        const seen = new Set<Route>();
        const collect = (entries: IndexedRoute[] | undefined) => {
            for (const entry of entries || []) {
                if (!seen.has(entry.route)) {
                    seen.add(entry.route);
                    found.push(entry);
                }
            }
        };
        collect(this.byRoomId.get(room.id));
        collect(this.byRoomName.get(room.name.toLowerCase()));
        // Wildcards cover public channels only; private, direct and livechat rooms must be named.
        if (room.kind === 'channel') {
            collect(this.everyPublicChannel.filter((entry) => !localChannelMatchesRoom(entry.route.to, room)));
        }
        found.sort((a, b) => a.position - b.position);
        return found.map((entry) => entry.route);
    }

    /**
     * Routes from an external instance into this server. With `channel` (the sender's address,
     * e.g. NextBridge's `{ "channel_id": "123" }`), NextBridge's match applies: every key the rule
     * and the sender both have must be equal; keys only one side has are ignored.
     */
    inboundRoutes(instance: string, channel?: Record<string, string>): Route[] {
        const routes = this.inboundBySource.get(instance) || [];
        return channel ? routes.filter((route) => channelMatches(route.from.channel, channel)) : routes.slice();
    }

    /** Whether `instance` may post into `room`: its `rooms` list, or else the rooms its rules target. */
    inboundRoomAllowed(instance: string, room: RoomRef): boolean {
        const selection = this.inboundRooms.get(instance);
        if (!selection) {
            return false;
        }
        const name = room.name.toLowerCase();
        return selection.ids.has(room.id)
            || selection.names.has(name)
            || selection.idsOrNames.has(room.id)
            || selection.idsOrNames.has(name)
            || (selection.everyPublicChannel && room.kind === 'channel');
    }

    /** The instance whose inbound token this is (compared in constant time per token). */
    instanceForToken(token: string): string | undefined {
        let found: string | undefined;
        for (const entry of this.tokens) {
            if (constantTimeEqual(entry.token, token)) {
                found = entry.instance;
            }
        }
        return found;
    }

    private indexOutbound(entry: IndexedRoute): void {
        const channel = entry.route.from.channel;
        if (channel.room_id !== undefined) {
            append(this.byRoomId, channel.room_id, entry);
        } else if (channel.room === '*') {
            this.everyPublicChannel.push(entry);
        } else if (channel.room !== undefined) {
            append(this.byRoomName, channel.room.toLowerCase(), entry);
        }
    }
}

/**
 * Filters and loop prevention for one route. Never: encrypted messages, system messages unless
 * the rule asks for them (`system_messages`), a message back to the instance it came from
 * (`origin`), ignored users or bots. For new messages also `match`, `ignore` (on the first
 * FILTER_TEXT_LIMIT characters) and `trigger_words`; edits and deletes follow the original message.
 */
export function routeAccepts(route: Route, message: RelayMessage): boolean {
    if (message.encrypted || (message.isSystem && !route.filter.systemMessages)) {
        return false;
    }
    if (message.origin !== undefined && message.origin === route.to.instance) {
        return false;
    }
    const filter = route.filter;
    if (filter.ignoreBots && message.sender.isBot) {
        return false;
    }
    if (filter.ignoreUsers.length > 0 && filter.ignoreUsers.indexOf(message.sender.username.replace(/^@/, '').toLowerCase()) >= 0) {
        return false;
    }
    if (message.event !== 'sent') {
        return true;
    }
    const text = message.text.length > FILTER_TEXT_LIMIT ? message.text.slice(0, FILTER_TEXT_LIMIT) : message.text;
    if (filter.match && !filter.match.test(text)) {
        return false;
    }
    if (filter.ignore && filter.ignore.test(text)) {
        return false;
    }
    if (filter.triggerWords.length > 0) {
        const start = text.replace(/^\s+/, '');
        if (!filter.triggerWords.some((word) => start.indexOf(word) === 0)) {
            return false;
        }
    }
    return true;
}

/** Groups routes by target instance + channel (first-seen order) so each target gets one delivery. */
export function groupByTarget(routes: readonly Route[]): TargetGroup[] {
    const groups: TargetGroup[] = [];
    const byKey = new Map<string, TargetGroup>();
    for (const route of routes) {
        const key = targetKey(route.to);
        const group = byKey.get(key);
        if (group) {
            group.routes.push(route);
        } else {
            const created: TargetGroup = { key, to: route.to, route, routes: [route] };
            byKey.set(key, created);
            groups.push(created);
        }
    }
    return groups;
}

/** Stable text key of an instance + channel, e.g. for mappings and de-duplication. */
export function targetKey(endpoint: RouteEndpoint): string {
    return `${endpoint.instance}\n${canonicalJson(endpoint.channel)}`;
}

/** NextBridge's channel match: keys present on both sides must be equal. */
export function channelMatches(ruleChannel: Record<string, string>, senderChannel: Record<string, string>): boolean {
    for (const key of Object.keys(ruleChannel)) {
        if (senderChannel.hasOwnProperty(key) && String(senderChannel[key]) !== ruleChannel[key]) {
            return false;
        }
    }
    return true;
}

/** Whether a route endpoint on this server addresses `room` (by id, name, or the public wildcard). */
export function localChannelMatchesRoom(endpoint: RouteEndpoint, room: RoomRef): boolean {
    if (endpoint.instance !== LOCAL_INSTANCE) {
        return false;
    }
    const channel = endpoint.channel;
    if (channel.room_id !== undefined) {
        return channel.room_id === room.id;
    }
    if (channel.room === '*') {
        return room.kind === 'channel';
    }
    return channel.room !== undefined && channel.room.toLowerCase() === room.name.toLowerCase();
}

function selectionFromList(rooms: string[]): RoomSelection {
    const selection = emptySelection();
    for (const room of rooms) {
        if (room === '*') {
            selection.everyPublicChannel = true;
        } else if (room.charAt(0) === '#') {
            selection.names.add(room.slice(1).toLowerCase());
        } else {
            selection.idsOrNames.add(room);
            selection.idsOrNames.add(room.toLowerCase());
        }
    }
    return selection;
}

function selectionFromRoutes(routes: Route[]): RoomSelection {
    const selection = emptySelection();
    for (const route of routes) {
        const channel = route.to.channel;
        if (channel.room_id !== undefined) {
            selection.ids.add(channel.room_id);
        } else if (channel.room !== undefined) {
            selection.names.add(channel.room.toLowerCase());
        }
    }
    return selection;
}

function emptySelection(): RoomSelection {
    return { ids: new Set(), names: new Set(), idsOrNames: new Set(), everyPublicChannel: false };
}

function append<T>(map: Map<string, T[]>, key: string, value: T): void {
    const list = map.get(key);
    if (list) {
        list.push(value);
    } else {
        map.set(key, [value]);
    }
}

function constantTimeEqual(expected: string, given: string): boolean {
    let difference = expected.length ^ given.length;
    for (let i = 0; i < expected.length; i++) {
        difference |= expected.charCodeAt(i) ^ (given.charCodeAt(i) || 0);
    }
    return difference === 0;
}
