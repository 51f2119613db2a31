// Starts the local host (real AppManager + Deno runtime) with the packaged app installed.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { LocalHost } = require('../../host/host');

export type LocalHost = any;

/**
 * The tests' sinks listen on the loopback address, which targets may use only when the admin
 * allows it (`private_hosts_allowed`); every host the helper starts allows it, before any
 * configuration naming a sink is saved.
 */
export const TEST_PRIVATE_HOSTS = '127.0.0.1, ::1, localhost';

export async function startHostWithApp(settings: Record<string, unknown> = {}): Promise<LocalHost> {
    const zip = process.env.RELAY_BRIDGE_ZIP;
    if (!zip) {
        throw new Error('RELAY_BRIDGE_ZIP is not set: run integration tests through jest (globalSetup packages the app)');
    }
    const host = new LocalHost({});
    await host.start();
    await host.installApp(zip);
    await host.updateSetting('private_hosts_allowed', TEST_PRIVATE_HOSTS);
    for (const [id, value] of Object.entries(settings)) {
        await host.updateSetting(id, value);
    }
    return host;
}

/** Polls `check` until it returns a truthy value (fails after `timeoutMs`). */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 15000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
        try {
            const value = await check();
            if (value) {
                return value;
            }
        } catch (e) {
            last = e;
        }
        await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
}

/**
 * The inbound source the app recorded for a message it posted (its loop-prevention marker): the
 * persistence record keyed by the message id, as the app writes it before posting.
 */
export function originOf(host: LocalHost, messageId: string): string | undefined {
    const store = host.state.appPersistence(host.appId);
    const found = store.withKeys(['misc:relay-bridge:origin', `message:${messageId}`]);
    return found.length ? found[0][1].data.source : undefined;
}

/** How many of the app's persistence records are of one kind (its association, e.g. `misc:relay-bridge:outbox`). */
export function recordCount(host: { state: LocalHost; appId: string }, kind: string): number {
    let size = 0;
    for (const record of host.state.appPersistence(host.appId).values()) {
        if (record.keys.indexOf(kind) >= 0) size += 1;
    }
    return size;
}
