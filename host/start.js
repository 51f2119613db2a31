#!/usr/bin/env node
// `npm start`: packages the app, starts the local host on http://localhost:3000 with the app
// installed, enabled and configured with a demo relay, serves the playground page at / (see
// host/playground.js), and keeps running until Ctrl-C.
'use strict';

const { startPlayground, DEMO_TOKEN } = require('./playground');

const PORT = Number(process.env.PORT || 3000);
const STOP_GRACE_MS = 5000;

async function main() {
    const started = Date.now();
    const host = await startPlayground({
        port: PORT,
        hostname: process.env.HOST || '127.0.0.1',
        logSinks: true,
        onLog: (entry) => {
            for (const line of entry.entries || []) {
                if (line.severity === 'error' || line.severity === 'warn') console.log(`[app ${line.severity}] ${line.args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`);
            }
        },
    });

    const inbound = `${host.siteUrl}/api/apps/public/${host.appId}/inbound`;
    console.log(`
Relay Bridge is running in the real Apps-Engine runtime (ready in ${Date.now() - started} ms).

  Playground:        ${host.siteUrl}/   (rooms, targets, settings and an inbound form in the browser)

  Inbound endpoint:  ${inbound}
                     ${inbound}/<source>
  Demo source token: ${DEMO_TOKEN}

Post into #general from outside (appears with alias and avatar):
  curl -X POST ${inbound} -H 'Authorization: Bearer ${DEMO_TOKEN}' -H 'Content-Type: application/json' \\
       -d '{"channel":"#general","text":"Hello from outside","alias":"Build bot","avatar":"https://example.com/bot.png"}'

Send a message in #general as alice (relayed to the demo targets):
  curl -X POST ${host.siteUrl}/api/host/rooms/general/messages -H 'Content-Type: application/json' -d '{"user":"alice","text":"hi"}'

Watch what the targets received:   curl ${host.siteUrl}/sinks
Read the room:                      curl ${host.siteUrl}/api/host/rooms/general/messages

Deploy a changed build into this host (Rocket.Chat's apps REST API; logins admin/admin, alice/alice, bob/bob):
  npm run deploy -- --url ${host.siteUrl} --username admin --password admin

Ctrl-C to stop.`);

    let stopping = false;
    const stop = async () => {
        if (stopping) return;
        stopping = true;
        console.log('\nstopping…');
        // Ctrl-C also reaches the app's Deno process, and the engine then waits ~30 s for it to
        // answer the stop: give it a few seconds, then make sure the runtime is gone and leave.
        const stopped = await Promise.race([host.stop().then(() => true), new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS, false))]);
        if (!stopped) {
            try {
                const pid = host.runtimePid();
                if (pid) process.kill(pid, 'SIGKILL');
            } catch (e) {
                // the runtime is already gone
            }
        }
        process.exit(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
