// The router: which targets one Rocket.Chat message goes to and what it looks like there. Pure —
// the shell executes the plans (HTTP, persistence), adapters turn them into requests.

import { LOCAL_INSTANCE, RelayConfig, RelayInstance } from './config';
import type { RelayMessage } from './message';
import { Redactor } from './redact';
import { groupByTarget, Route, routeAccepts, RuleIndex } from './rules';
import { renderMessage, templateVarsFor } from './template';
import type { RenderedMessage, TargetAdapter } from './adapter';

export interface DeliveryPlan {
    /** Target instance + channel; the key of this target in the message map. */
    key: string;
    instance: RelayInstance;
    adapter: TargetAdapter;
    channel: Record<string, string>;
    rendered: RenderedMessage;
    /** The route whose templates were applied (first matching rule in configuration order). */
    route: Route;
}

/** A parsed configuration with its index: what the shell caches per configuration text. */
/** What every outbound request of a configuration is held to. */
export interface OutboundGuard {
    /** Private hosts the admin allowed (`private_hosts_allowed`); every other private address is refused. */
    privateHostsAllowed: string[];
    /** Hides this configuration's secrets in every text that leaves the app. */
    redactor: Redactor;
}

export interface ActiveConfig extends OutboundGuard {
    config: RelayConfig;
    index: RuleIndex;
}

export function activate(config: RelayConfig, secrets: Map<string, string> = new Map(), privateHostsAllowed: string[] = []): ActiveConfig {
    const instances = Array.from(config.instances.values()).map((i) => ({ config: i.adapterConfig, token: i.inboundToken }));
    return { config, index: new RuleIndex(config), privateHostsAllowed, redactor: Redactor.of(secrets, instances) };
}

/** Plans one delivery per target for a message sent, edited or deleted in a Rocket.Chat room. */
export function planDeliveries(active: ActiveConfig, message: RelayMessage): DeliveryPlan[] {
    if (message.encrypted) {
        return []; // ciphertext: no rule relays it
    }
    const routes = active.index.outboundRoutes(message.room).filter((route) => routeAccepts(route, message));
    if (routes.length === 0) {
        return [];
    }
    const source = sourceOf(active.config, message);
    const vars = templateVarsFor(message, source);
    const plans: DeliveryPlan[] = [];
    for (const group of groupByTarget(routes)) {
        const instance = active.config.instances.get(group.to.instance);
        if (!instance || !instance.adapter) {
            continue; // inbound-only instance: nothing to send to
        }
        plans.push({
            key: group.key,
            instance,
            adapter: instance.adapter,
            channel: group.to.channel,
            rendered: renderMessage(group.route.msg, vars, { templates: instance.adapter.templates, local: false }),
            route: group.route,
        });
    }
    return plans;
}

/** `{platform}`/`{instance_id}`: the external instance a message came in from, else this server. */
function sourceOf(config: RelayConfig, message: RelayMessage): { instance: string; platform: string } {
    const origin = message.origin ? config.instances.get(message.origin) : undefined;
    if (origin) {
        return { instance: origin.name, platform: origin.type };
    }
    return { instance: LOCAL_INSTANCE, platform: 'rocketchat' };
}
