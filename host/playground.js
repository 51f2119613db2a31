// The local playground: the local host with the demo configuration, demo targets (/sinks), a small
// user API and a web page at http://localhost:3000/ to try the app without a Rocket.Chat server.
// `npm start` (host/start.js) and test/integration/playground.test.ts both start it through
// `startPlayground`.
'use strict';

const fs = require('fs');
const path = require('path');
const { LocalHost, sendJson, readBody } = require('./host');

const DEMO_TOKEN = 'demo-token-0123456789';
const PAGE_DIR = path.join(__dirname, 'playground');
const APP_ICON = path.join(__dirname, '..', 'icon.png');
const CONTENT_TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.png': 'image/png' };

/** The relay the playground starts with: #general to two demo targets, one inbound source. */
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

/** Demo targets served by the host itself: whatever the app relays lands here, visible at /sinks. */
function mountSinks(host, { log = false } = {}) {
    const received = [];
    let sequence = 0;
    host.sinkLog = received;
    host.use(async (req, res, url) => {
        if (url.pathname === '/sinks' && req.method === 'GET') {
            sendJson(res, 200, received.slice(-100));
            return true;
        }
        if (url.pathname === '/sinks' && req.method === 'DELETE') {
            received.length = 0;
            sendJson(res, 200, { ok: true });
            return true;
        }
        if (!url.pathname.startsWith('/sinks/')) return false;
        const body = (await readBody(req, 10 * 1024 * 1024)) || Buffer.alloc(0);
        sequence += 1;
        const entry = { seq: sequence, at: new Date().toISOString(), sink: url.pathname.split('/')[2], method: req.method, path: url.pathname, contentType: req.headers['content-type'] || '', body: body.toString('utf8').slice(0, 4000) };
        received.push(entry);
        if (received.length > 1000) received.shift();
        if (log) console.log(`[sink ${entry.sink}] ${req.method} ${url.pathname} ${entry.body.slice(0, 200)}`);
        // Discord-style answer (an id), which the webhook target also accepts.
        sendJson(res, 200, { id: String(Date.now()) + String(sequence), ok: true });
        return true;
    });
}

/** Reads a JSON request body; answers 415/400 itself and resolves to undefined when it can't. */
async function readJsonBody(req, res) {
    // Only JSON bodies: a cross-site form cannot send them without a CORS preflight, which we never allow.
    if (!/^application\/json\b/i.test(req.headers['content-type'] || '')) {
        sendJson(res, 415, { error: 'send Content-Type: application/json' });
        return undefined;
    }
    try {
        return JSON.parse(((await readBody(req, 1024 * 1024)) || '').toString() || '{}');
    } catch (e) {
        sendJson(res, 400, { error: `invalid JSON: ${e.message}` });
        return undefined;
    }
}

function findRoom(host, idOrName) {
    const key = decodeURIComponent(idOrName);
    return host.state.rooms.get(key) || host.state.findRoomByName(key);
}

function roomLabel(host, room) {
    if (room.type !== 'd') return room.displayName || room.slugifiedName;
    return room.userIds.map((id) => (host.state.users.get(id) || {}).username).join(', ');
}

/** Attachments arrive in Rocket.Chat's shape (title_link, image_url) or the engine's (title.link, imageUrl). */
function attachmentForBrowser(attachment) {
    const a = attachment || {};
    const title = a.title && typeof a.title === 'object' ? a.title : { value: a.title, link: a.title_link };
    const author = a.author && typeof a.author === 'object' ? a.author : { name: a.author_name, link: a.author_link, icon: a.author_icon };
    return {
        title: title.value,
        titleLink: title.link || a.title_link,
        text: a.text,
        description: a.description,
        color: a.color,
        authorName: author.name,
        authorLink: author.link,
        authorIcon: author.icon,
        imageUrl: a.image_url || a.imageUrl,
        audioUrl: a.audio_url || a.audioUrl,
        videoUrl: a.video_url || a.videoUrl,
        fields: Array.isArray(a.fields) ? a.fields.map((f) => ({ title: f.title, value: f.value, short: f.short })) : undefined,
    };
}

function excerpt(text, length = 80) {
    const flat = String(text || '').replace(/\s+/g, ' ').trim();
    return flat.length > length ? `${flat.slice(0, length - 1)}…` : flat;
}

/** A stored message as the page shows it (`user` stays the sender's username, as before). */
function messagesForBrowser(host, room) {
    const { state } = host;
    const stored = state.messagesInRoom(room.id);
    const replyCounts = new Map();
    for (const m of stored) if (m.threadId) replyCounts.set(m.threadId, (replyCounts.get(m.threadId) || 0) + 1);
    return stored.map((m) => {
        const sender = state.users.get(m.senderId) || {};
        const parent = m.threadId ? state.messages.get(m.threadId) : undefined;
        const parentSender = parent ? state.users.get(parent.senderId) || {} : undefined;
        return {
            id: m.id,
            roomId: m.roomId,
            user: sender.username,
            userId: m.senderId,
            name: sender.name,
            userType: sender.type,
            alias: m.alias,
            avatarUrl: m.avatarUrl,
            emoji: m.emoji,
            text: m.text,
            t: m.t,
            threadId: m.threadId,
            threadParent: parent ? { user: parent.alias || parentSender.username, text: excerpt(parent.text) } : undefined,
            replyCount: replyCounts.get(m.id) || 0,
            createdAt: m.createdAt,
            editedAt: m.editedAt,
            editedBy: m.editor ? m.editor.username : undefined,
            attachments: Array.isArray(m.attachments) ? m.attachments.map(attachmentForBrowser) : [],
            file: m.file ? { name: m.file.name, type: m.file.type, size: m.file.size } : undefined,
        };
    });
}

/** Lets a person act as a user of this "server" without a Rocket.Chat client. */
function mountUserApi(host) {
    host.use(async (req, res, url) => {
        const roomMatch = /^\/api\/host\/rooms\/([^/]+)\/messages$/.exec(url.pathname);
        if (roomMatch) {
            const room = findRoom(host, roomMatch[1]);
            if (!room) {
                sendJson(res, 404, { error: `no room ${roomMatch[1]}` });
                return true;
            }
            if (req.method === 'GET') {
                sendJson(res, 200, messagesForBrowser(host, room));
                return true;
            }
            if (req.method === 'POST') {
                const input = await readJsonBody(req, res);
                if (!input) return true;
                const user = host.state.findUserByUsername(input.user || 'alice');
                if (!user) {
                    sendJson(res, 400, { error: `no user ${input.user}` });
                    return true;
                }
                if (input.tmid && !host.state.messages.has(input.tmid)) {
                    sendJson(res, 400, { error: `no message ${input.tmid} to reply to` });
                    return true;
                }
                const stored = host.sendMessage({ roomId: room.id, userId: user.id, text: String(input.text || ''), threadId: input.tmid || undefined });
                sendJson(res, 200, { id: stored.id, room: room.id });
                return true;
            }
            return false;
        }
        const messageMatch = /^\/api\/host\/messages\/([^/]+)$/.exec(url.pathname);
        if (messageMatch && (req.method === 'PATCH' || req.method === 'DELETE')) {
            const stored = host.state.messages.get(decodeURIComponent(messageMatch[1]));
            if (!stored) {
                sendJson(res, 404, { error: `no message ${messageMatch[1]}` });
                return true;
            }
            const input = req.method === 'PATCH' ? await readJsonBody(req, res) : { user: url.searchParams.get('user') };
            if (!input) return true;
            const user = host.state.findUserByUsername(input.user || '');
            // As in Rocket.Chat: people edit and delete their own messages; admins may delete any.
            const allowed = user && (stored.senderId === user.id || (req.method === 'DELETE' && user.roles.includes('admin')));
            if (!allowed) {
                sendJson(res, 403, { error: `${input.user || 'nobody'} may not ${req.method === 'PATCH' ? 'edit' : 'delete'} this message` });
                return true;
            }
            if (req.method === 'PATCH') host.editMessage(stored.id, String(input.text || ''), user.id);
            else host.deleteMessage(stored.id, user.id);
            sendJson(res, 200, { id: stored.id });
            return true;
        }
        return false;
    });
}

/** i18n labels from the app's i18n/en.json when it has one, else the key made readable. */
function settingTexts() {
    try {
        return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'i18n', 'en.json'), 'utf8'));
    } catch (e) {
        return {};
    }
}

function readableKey(key) {
    if (!key) return '';
    const words = key.replace(/_(label|description)$/, '').replace(/_/g, ' ');
    return words.charAt(0).toUpperCase() + words.slice(1);
}

function isPassword(setting) {
    return setting.type === 'password';
}

/** A setting as the browser sees it: password values never leave the host. */
function settingForBrowser(setting, texts) {
    const value = setting.value !== undefined ? setting.value : setting.packageValue;
    return {
        id: setting.id,
        type: setting.type,
        label: texts[setting.i18nLabel] || readableKey(setting.i18nLabel || setting.id),
        description: texts[setting.i18nDescription] || '',
        section: setting.section ? texts[setting.section] || readableKey(setting.section.replace(/^relay_section_/, '')) : '',
        required: Boolean(setting.required),
        multiline: Boolean(setting.multiline),
        values: setting.values,
        ...(isPassword(setting) ? { hasValue: Boolean(value) } : { value }),
    };
}

function coerceSettingValue(setting, value) {
    if (setting.type === 'number' || setting.type === 'int') {
        const number = Number(value);
        if (value === '' || value === null || !Number.isFinite(number)) throw new Error(`${setting.id} needs a number`);
        return number;
    }
    if (setting.type === 'boolean') return value === true || value === 'true';
    return value === undefined || value === null ? '' : String(value);
}

/**
 * Saves a setting the way Administration → Apps → Settings → Save does (every setting in storage
 * order through the same step as `POST /api/apps/:id/settings`). The app refuses an invalid relay
 * configuration by keeping the old value and logging why: compare what is stored.
 */
async function saveSetting(host, id, rawValue) {
    const current = host.getSetting(id);
    if (!current) return { status: 404, body: { error: `the app has no setting ${id}` } };
    let value;
    try {
        value = coerceSettingValue(current, rawValue);
    } catch (e) {
        return { status: 400, body: { result: 'invalid', error: e.message } };
    }
    const errorsBefore = host.appErrors().length;
    await host.saveSettingsLikeAdminUi({ [id]: value });
    const stored = host.getSetting(id);
    const saved = stored.value === value;
    const newErrors = host.appErrors().slice(errorsBefore);
    return {
        status: 200,
        body: {
            result: saved ? 'saved' : 'refused',
            error: saved ? undefined : newErrors.pop() || host.appErrors().pop() || 'the app kept the previous value',
            setting: settingForBrowser(stored, settingTexts()),
        },
    };
}

function serveFile(res, file) {
    fs.readFile(file, (error, bytes) => {
        if (error) return sendJson(res, 404, { error: 'not found' });
        res.writeHead(200, { 'Content-Type': CONTENT_TYPES[path.extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-store' });
        res.end(bytes);
    });
}

const AVATAR_COLOURS = ['#f5455c', '#2de0a5', '#1d74f5', '#ffd21f', '#f38c39', '#9f22c7', '#10529e', '#158d65'];

/** An initials avatar as SVG, as Rocket.Chat serves for users without an uploaded one. */
function sendAvatar(res, name) {
    const words = String(name).replace(/[^\p{L}\p{N} ]/gu, ' ').trim().split(/\s+/).filter(Boolean);
    const letters = words.length ? (words[0][0] + (words.length > 1 ? words[words.length - 1][0] : '')).toUpperCase() : '?';
    let hash = 0;
    for (const c of String(name)) hash = (hash * 31 + c.codePointAt(0)) >>> 0;
    const colour = AVATAR_COLOURS[hash % AVATAR_COLOURS.length];
    const escaped = letters.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    res.writeHead(200, { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'no-store' });
    res.end(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 200"><rect width="200" height="200" fill="${colour}"/><text x="50%" y="50%" dy="0.35em" text-anchor="middle" font-family="sans-serif" font-size="90" fill="#fff">${escaped}</text></svg>`);
}

/** The page at / and its JSON APIs under /api/host/*. */
function mountPlayground(host, { demoToken = DEMO_TOKEN, inboundSource = 'demo_source' } = {}) {
    host.use(async (req, res, url) => {
        const { pathname } = url;
        if (req.method === 'GET' && (pathname === '/' || pathname === '/index.html')) {
            serveFile(res, path.join(PAGE_DIR, 'index.html'));
            return true;
        }
        const asset = /^\/playground\/([\w-]+\.(?:js|css|png))$/.exec(pathname);
        if (req.method === 'GET' && asset) {
            serveFile(res, path.join(PAGE_DIR, asset[1]));
            return true;
        }
        if (req.method === 'GET' && pathname === '/api/host/app-icon') {
            serveFile(res, APP_ICON);
            return true;
        }
        // Rocket.Chat's avatar URLs, which the app hands to targets: initials, or the app's icon.
        const avatar = /^\/avatar\/([^/]+)$/.exec(pathname);
        if (req.method === 'GET' && avatar) {
            const user = host.state.findUserByUsername(decodeURIComponent(avatar[1]));
            if (user && user.type === 'app') serveFile(res, APP_ICON);
            else sendAvatar(res, user ? user.name || user.username : decodeURIComponent(avatar[1]));
            return true;
        }
        const upload = /^\/file-upload\/([^/]+)\/[^/]*$/.exec(pathname);
        if (req.method === 'GET' && upload) {
            const stored = host.state.uploads.get(upload[1]);
            if (!stored) {
                sendJson(res, 404, { error: 'no such upload' });
                return true;
            }
            res.writeHead(200, { 'Content-Type': stored.upload.type || 'application/octet-stream', 'Cache-Control': 'no-store' });
            res.end(stored.bytes);
            return true;
        }
        if (req.method === 'GET' && pathname === '/api/host/playground') {
            const app = host.appId ? host.manager.getOneById(host.appId) : undefined;
            const bot = host.appId ? host.appUser() : undefined;
            const errors = host.appId ? host.appErrors() : [];
            sendJson(res, 200, {
                app: app ? { id: host.appId, name: app.getName(), version: app.getVersion(), status: await app.getStatus(), bot: bot && bot.username } : undefined,
                users: [...host.state.users.values()].filter((u) => u.type === 'user').map((u) => ({ id: u.id, username: u.username, name: u.name, admin: u.roles.includes('admin') })),
                rooms: [...host.state.rooms.values()].map((r) => ({ id: r.id, name: r.slugifiedName, type: r.type, label: roomLabel(host, r), messageCount: r.messageCount })),
                inbound: host.appId ? { url: `${host.siteUrl}/api/apps/public/${host.appId}/inbound`, source: inboundSource, token: demoToken } : undefined,
                errorCount: errors.length,
                lastError: errors[errors.length - 1],
            });
            return true;
        }
        if (pathname.startsWith('/api/host/settings') && !host.appId) {
            sendJson(res, 503, { error: 'the app is still being installed' });
            return true;
        }
        if (pathname === '/api/host/settings' && req.method === 'GET') {
            const texts = settingTexts();
            const settings = Object.values(host.manager.getOneById(host.appId).getStorageItem().settings);
            sendJson(res, 200, settings.map((s) => settingForBrowser(s, texts)));
            return true;
        }
        const settingMatch = /^\/api\/host\/settings\/([\w.-]+)$/.exec(pathname);
        if (settingMatch && req.method === 'PUT') {
            const input = await readJsonBody(req, res);
            if (!input) return true;
            const { status, body } = await saveSetting(host, settingMatch[1], input.value);
            sendJson(res, status, body);
            return true;
        }
        return false;
    });
}

/**
 * Starts the local host with the playground, installs the packaged app and applies the demo
 * configuration. `zip` defaults to a fresh package of this folder.
 */
async function startPlayground({ port = 0, hostname = '127.0.0.1', zip, onLog, logSinks = false } = {}) {
    if (!zip) zip = require('../tools/package').packageApp({ quiet: true });
    const host = new LocalHost({ port, hostname, onLog });
    mountSinks(host, { log: logSinks });
    mountUserApi(host);
    mountPlayground(host);
    await host.start();
    try {
        await host.installApp(zip);
        // The demo targets are this host's own sinks, on a loopback or local address: allowed by the admin, like any private target.
        await host.updateSetting('private_hosts_allowed', new URL(host.siteUrl).hostname);
        await host.updateSetting('relay_config', JSON.stringify(demoConfig(host.siteUrl), null, 2));
    } catch (e) {
        await host.stop().catch(() => undefined);
        throw e;
    }
    host.demoToken = DEMO_TOKEN;
    return host;
}

module.exports = { startPlayground, mountPlayground, mountSinks, mountUserApi, demoConfig, DEMO_TOKEN };
