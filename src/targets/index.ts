// The target registry: every adapter the app ships, looked up by instance `type` or URL scheme.
// Adding a target = one adapter file (src/targets/<name>.ts exporting `…: TargetAdapter<…>`) and
// one test table; the list below is written by `npm run targets:generate` (a test checks it).

import type { AdapterRegistry, TargetAdapter } from '../core/adapter';
import { parseTargetUrl } from './url';

// generated: adapters (npm run targets:generate)
import { discordTarget } from './discord';
import { gotifyTarget } from './gotify';
import { matrixTarget } from './matrix';
import { mattermostTarget } from './mattermost';
import { ntfyTarget } from './ntfy';
import { rocketChatTarget } from './rocketchat';
import { slackTarget } from './slack';
import { teamsTarget } from './teams';
import { telegramTarget } from './telegram';
import { webhookTarget } from './webhook';
import { zulipTarget } from './zulip';

export const ALL_TARGETS: TargetAdapter[] = [
    discordTarget,
    gotifyTarget,
    matrixTarget,
    mattermostTarget,
    ntfyTarget,
    rocketChatTarget,
    slackTarget,
    teamsTarget,
    telegramTarget,
    webhookTarget,
    zulipTarget,
];
// end generated

export function createTargetRegistry(adapters: readonly TargetAdapter[] = ALL_TARGETS): AdapterRegistry {
    return {
        adapterForType: (type) => adapters.filter((adapter) => adapter.type === type)[0],
        parseTargetUrl: (url) => parseTargetUrl(url, adapters),
        types: () => adapters.map((adapter) => adapter.type),
    };
}

export const targetRegistry: AdapterRegistry = createTargetRegistry();
