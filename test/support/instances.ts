// Several Rocket.Chat instances on one database (host/cluster.js), each running the packaged app
// in its own engine and Deno runtime, sharing persistence and the scheduler's job collection.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { HostCluster } = require('../../host/cluster');
import { LocalHost, TEST_PRIVATE_HOSTS } from './host';

export type Cluster = any;

export interface InstancesOptions {
    /** Database latency per instance (each read and write), e.g. [20, 80]; one number for all. */
    persistenceLatencyMs?: number[] | number;
    /** Agenda's polling interval (server: 5000 ms). */
    schedulerPollMs?: number;
    /** Agenda's lock lifetime (server: 10 min). */
    lockLifetimeMs?: number;
    /** App settings, set on instance 0 and propagated to the others before this resolves. */
    settings?: Record<string, unknown>;
}

/** Starts `count` instances with the app installed and the test sinks' loopback addresses allowed. */
export async function startInstances(count: number, options: InstancesOptions = {}): Promise<{ cluster: Cluster; hosts: LocalHost[] }> {
    const zip = process.env.RELAY_BRIDGE_ZIP;
    if (!zip) {
        throw new Error('RELAY_BRIDGE_ZIP is not set: run integration tests through jest (globalSetup packages the app)');
    }
    const cluster = new HostCluster({ persistenceLatencyMs: options.persistenceLatencyMs, schedulerPollMs: options.schedulerPollMs, lockLifetimeMs: options.lockLifetimeMs });
    await cluster.start(count);
    await cluster.installApp(zip);
    await cluster.updateSetting('private_hosts_allowed', TEST_PRIVATE_HOSTS);
    for (const [id, value] of Object.entries(options.settings || {})) {
        await cluster.updateSetting(id, value);
    }
    return { cluster, hosts: cluster.hosts };
}
