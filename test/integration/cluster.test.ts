// The local host's two-instance mode (host/cluster.js) with the real engine and runtimes: one
// database shared by two Rocket.Chat instances, each with its own AppManager, Deno runtime and port.
import axios from 'axios';

import { eventually } from '../support/host';
import { FaultySink } from '../support/faultySink';
import { Cluster, startInstances } from '../support/instances';

describe('two instances on one database', () => {
    let cluster: Cluster;
    let sink: FaultySink;

    beforeAll(async () => {
        sink = await new FaultySink().start();
        ({ cluster } = await startInstances(2, { persistenceLatencyMs: [20, 80], schedulerPollMs: 250 }));
    });

    afterAll(async () => {
        await cluster?.stop();
        await sink?.stop();
    });

    it('runs the app in two engines, each with its own Deno runtime and HTTP port', async () => {
        const [a, b] = cluster.hosts;
        expect(a.manager).not.toBe(b.manager);
        expect(a.runtimePid()).toBeTruthy();
        expect(b.runtimePid()).toBeTruthy();
        expect(a.runtimePid()).not.toBe(b.runtimePid());
        expect(a.port).not.toBe(b.port);
        expect(await a.appStatus()).toMatch(/enabled/);
        expect(await b.appStatus()).toMatch(/enabled/);
        for (const host of cluster.hosts) {
            // Each instance registered the app's endpoints with its own server, on its own port.
            expect(host.routes.paths.get(host.appId)).toEqual(expect.arrayContaining(['inbound', 'status']));
            const unknown = await axios.get(`http://127.0.0.1:${host.port}/api/apps/public/${host.appId}/no-such-endpoint`, { validateStatus: () => true });
            expect(unknown.status).toBe(404);
        }
    });

    it('hands a setting saved on one instance to the app on the other (its onSettingUpdated runs there)', async () => {
        const config = JSON.stringify({ instances: { hook: { type: 'webhook', url: sink.url } }, rules: [{ from: { rocketchat: { room: '#general' } }, to: { hook: {} } }] });
        const [a, b] = cluster.hosts;
        const before = b.counters.appCalls['app:onSettingUpdated'] || 0;
        await cluster.updateSetting('relay_config', config, 0);
        expect(b.getSetting('relay_config').value).toBe(config);
        expect(b.counters.appCalls['app:onSettingUpdated']).toBe(before + 1);
        expect(a.getSetting('relay_config').value).toBe(config);
        // The app on instance 1 relays by the configuration saved on instance 0.
        const message = b.sendMessage({ roomId: 'GENERAL', text: 'sent through instance 1' });
        await eventually(() => sink.deliveries.find((d) => d.messageId === message.id), 15000, 'relayed by instance 1');
    });

    it('fires a message event only on the instance that handled the message', async () => {
        const [a, b] = cluster.hosts;
        const onA = a.counters.appCalls['app:executePostMessageSent'] || 0;
        const onB = b.counters.appCalls['app:executePostMessageSent'] || 0;
        const message = a.sendMessage({ roomId: 'GENERAL', text: 'sent through instance 0' });
        await eventually(() => sink.deliveries.find((d) => d.messageId === message.id), 15000, 'relayed');
        await cluster.idle();
        expect(a.counters.appCalls['app:executePostMessageSent']).toBe(onA + 1);
        expect(b.counters.appCalls['app:executePostMessageSent'] || 0).toBe(onB);
        expect(sink.deliveries.filter((d) => d.messageId === message.id)).toHaveLength(1);
    });

    it('shares persistence: what one runtime wrote (the id map) the other reads, so an edit there is relayed', async () => {
        const [a, b] = cluster.hosts;
        const message = a.sendMessage({ roomId: 'GENERAL', text: 'original' });
        await eventually(() => sink.deliveries.find((d) => d.messageId === message.id), 15000, 'sent');
        await a.idle();
        b.editMessage(message.id, 'edited on instance 1');
        await eventually(() => sink.deliveries.find((d) => d.messageId === message.id && d.event === 'edited'), 15000, 'edit relayed by instance 1');
        expect(cluster.state.appPersistence(cluster.appId)).toBe(a.state.appPersistence(a.appId));
        expect(b.state).toBe(a.state);
    });

    it('restarts one instance\'s killed runtime while the other keeps relaying', async () => {
        const [a, b] = cluster.hosts;
        const pidB = b.runtimePid();
        const [killed] = cluster.killRuntimes([0]);
        expect(b.runtimePid()).toBe(pidB);
        const message = b.sendMessage({ roomId: 'GENERAL', text: 'while instance 0 restarts' });
        await eventually(() => sink.deliveries.find((d) => d.messageId === message.id), 15000, 'relayed by instance 1');
        await eventually(() => a.runtimePid() && a.runtimePid() !== killed, 20000, 'instance 0 runtime restarted');
        // Instance 0 relays again once its engine has restarted the app in the new runtime. Any
        // probe counts: while the destination's backlog is being worked off (the delivery
        // pipeline queues a probe behind an older entry there), a probe is delivered in order
        // after the earlier ones, not at once.
        const probes: string[] = [];
        await eventually(async () => {
            probes.push(a.sendMessage({ roomId: 'GENERAL', text: 'instance 0 back' }).id);
            await a.idle();
            await new Promise((r) => setTimeout(r, 200));
            return sink.deliveries.find((d) => probes.indexOf(d.messageId) >= 0);
        }, 60000, 'instance 0 relays again');
    });
});
