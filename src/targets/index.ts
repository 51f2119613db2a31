// The target registry: every adapter the app ships, looked up by instance `type` or URL scheme.
// Adding a target = one adapter file + one entry in ALL_TARGETS + one test table.

import { discordTarget } from './discord';
import { gotifyTarget } from './gotify';
import { matrixTarget } from './matrix';
import { mattermostTarget } from './mattermost';
import { ntfyTarget } from './ntfy';
import { rocketChatTarget } from './rocketchat';
import { slackTarget } from './slack';
import { teamsTarget } from './teams';
import { telegramTarget } from './telegram';
import type { AdapterRegistry, TargetAdapter } from '../core/adapter';
import { parseTargetUrl } from './url';
import { webhookTarget } from './webhook';
import { zulipTarget } from './zulip';

export const ALL_TARGETS: TargetAdapter[] = [
    webhookTarget, discordTarget, rocketChatTarget,
    slackTarget, mattermostTarget, teamsTarget, zulipTarget,
    matrixTarget, telegramTarget, ntfyTarget, gotifyTarget,
];

export function createTargetRegistry(adapters: readonly TargetAdapter[] = ALL_TARGETS): AdapterRegistry {
    return {
        adapterForType: (type) => adapters.filter((adapter) => adapter.type === type)[0],
        parseTargetUrl: (url) => parseTargetUrl(url, adapters),
        types: () => adapters.map((adapter) => adapter.type),
    };
}

export const targetRegistry: AdapterRegistry = createTargetRegistry();
