#!/usr/bin/env node
// `npm start`: packages the app, starts the local host on http://localhost:3000 with the app
// installed, enabled and configured with a demo relay, and keeps running until Ctrl-C.
'use strict';

const { packageApp } = require('../tools/package');
const { LocalHost, sendJson, readBody } = require('./host');

const PORT = Number(process.env.PORT || 3000);
const DEMO_TOKEN = 'demo-token-0123456789';

/** Demo targets served by the host itself: whatever the app relays lands here, visible at /sinks. */
function mountSinks(host) {
    const received = [];
    host.sinkLog = received;
    host.use(async (req, res, url) => {
        if (url.pathname === '/sinks' && req.method === 'GET') {
            sendJson(res, 200, received.slice(-100));
            return true;
        }
        if (!url.pathname.startsWith('/sinks/')) return false;
        const body = (await readBody(req, 10 * 1024 * 1024)) || Buffer.alloc(0);
        const entry = { at: new Date().toISOString(), sink: url.pathname.split('/')[2], method: req.method, path: url.pathname, contentType: req.headers['content-type'] || '', body: body.toString('utf8').slice(0, 4000) };
        received.push(entry);
        if (received.length > 1000) received.shift();
        console.log(`[sink ${entry.sink}] ${req.method} ${url.pathname} ${entry.body.slice(0, 200)}`);
        // Discord-style answer (an id), which the webhook target also accepts.
        sendJson(res, 200, { id: String(Date.now()) + String(received.length), ok: true });
        return true;
    });
}

/** Lets a person act as a user of this "server" without a Rocket.Chat client. */
function mountUserApi(host) {
    host.use(async (req, res, url) => {
        const match = /^\/api\/host\/rooms\/([^/]+)\/messages$/.exec(url.pathname);
        if (!match) return false;
        const room = host.state.rooms.get(match[1]) || host.state.findRoomByName(decodeURIComponent(match[1]));
        if (!room) {
            sendJson(res, 404, { error: `no room ${match[1]}` });
            return true;
        }
        if (req.method === 'GET') {
            sendJson(res, 200, host.state.messagesInRoom(room.id).map((m) => ({ id: m.id, user: host.state.users.get(m.senderId).username, alias: m.alias, avatarUrl: m.avatarUrl, emoji: m.emoji, text: m.text, threadId: m.threadId })));
            return true;
        }
        if (req.method === 'POST') {
            let input;
            try {
                input = JSON.parse(((await readBody(req, 1024 * 1024)) || '').toString() || '{}');
            } catch (e) {
                sendJson(res, 400, { error: `invalid JSON: ${e.message}` });
                return true;
            }
            const user = host.state.findUserByUsername(input.user || 'alice');
            if (!user) {
                sendJson(res, 400, { error: `no user ${input.user}` });
                return true;
            }
            const stored = host.sendMessage({ roomId: room.id, userId: user.id, text: String(input.text || ''), threadId: input.tmid });
            sendJson(res, 200, { id: stored.id, room: room.id });
            return true;
        }
        return false;
    });
}

function demoConfig(siteUrl) {
    return {
        instances: {
            demo_webhook: { type: 'webhook', url: `${siteUrl}/sinks/webhook` },
            demo_discord: { type: 'discord', webhook_url: `${siteUrl}/sinks/discord/api/webhooks/123456789/demo-token` },
            demo_source: { type: 'inbound', token: DEMO_TOKEN, rooms: ['#general'] },
        },
        rules: [
            { from: { rocketchat: { room: '#general' } }, to: { demo_webhook: {}, demo_discord: {} } },
            { from: { demo_source: {} }, to: { rocketchat: { room: '#general' } }, msg: { rc_alias: '[{platform}] {user}' } },
        ],
    };
}

async function main() {
    const started = Date.now();
    const zip = packageApp({ quiet: true });
    const host = new LocalHost({
        port: PORT,
        hostname: process.env.HOST || '127.0.0.1',
        onLog: (entry) => {
            for (const line of entry.entries || []) {
                if (line.severity === 'error' || line.severity === 'warn') console.log(`[app ${line.severity}] ${line.args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`);
            }
        },
    });
    mountSinks(host);
    mountUserApi(host);
    await host.start();
    await host.installApp(zip);
    await host.updateSetting('relay_config', JSON.stringify(demoConfig(host.siteUrl), null, 2));

    const inbound = `${host.siteUrl}/api/apps/public/${host.appId}/inbound`;
    console.log(`
Relay Bridge is running in the real Apps-Engine runtime (ready in ${Date.now() - started} ms).

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

Ctrl-C to stop.`);

    let stopping = false;
    const stop = async () => {
        if (stopping) return;
        stopping = true;
        console.log('\nstopping…');
        await host.stop();
        process.exit(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
