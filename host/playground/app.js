// The playground page: rooms, messages and a composer like Rocket.Chat's, what the demo targets
// received, the app's settings and an "external system" form. Plain DOM, polls the host every second.
'use strict';

const POLL_MS = 1000;
const EMOJI = {
    robot: '🤖', rocket: '🚀', bell: '🔔', warning: '⚠️', white_check_mark: '✅', heavy_check_mark: '✔️', x: '❌',
    fire: '🔥', tada: '🎉', bug: '🐛', gear: '⚙️', package: '📦', computer: '💻', smile: '😄', wave: '👋',
    information_source: 'ℹ️', heart: '❤️', star: '⭐', zap: '⚡', construction: '🚧', ghost: '👻', eyes: '👀',
    thumbsup: '👍', '+1': '👍', thumbsdown: '👎', rotating_light: '🚨', chart_with_upwards_trend: '📈', calendar: '📅',
};
const AVATAR_COLOURS = ['#f5455c', '#2de0a5', '#1d74f5', '#ffd21f', '#f38c39', '#9f22c7', '#10529e', '#158d65'];

const view = {
    roomId: (location.hash.slice(1) || 'GENERAL'),
    overview: undefined,
    messages: [],
    messagesKey: '',
    roomsKey: '',
    deliveries: [],
    deliveriesKey: '',
    sinkFilter: '',
    seenCounts: {},
    composing: undefined, // { mode: 'edit' | 'reply', message }
    settingsLoaded: false,
};

// ---- small DOM helpers ------------------------------------------------------------------------

function $(selector) {
    return document.querySelector(selector);
}

/** Builds an element: el('a', { href, class: 'x', onclick }, 'text', child…). */
function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
        if (value === undefined || value === null || value === false) continue;
        if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
        else if (key === 'class') node.className = value;
        else if (key === 'dataset') Object.assign(node.dataset, value);
        else node.setAttribute(key, value === true ? '' : value);
    }
    for (const child of children.flat()) {
        if (child === undefined || child === null || child === false) continue;
        node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
}

function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/** Only http(s) and same-host paths become links and images. */
function safeUrl(url) {
    if (typeof url !== 'string') return undefined;
    if (/^https?:\/\//i.test(url) || (url.startsWith('/') && !url.startsWith('//'))) return url;
    return undefined;
}

/** A little of Rocket.Chat's markdown: *bold*, _italic_, ~strike~, `code`, ```blocks```, links. */
function markdown(text) {
    let html = escapeHtml(text);
    html = html.replace(/```([\s\S]*?)```/g, (_, code) => `<pre class="code">${code.replace(/^\n/, '')}</pre>`);
    html = html.replace(/`([^`\n]+)`/g, '<code>$1</code>');
    html = html.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, '<a href="$2" target="_blank" rel="noopener">$1</a>');
    html = html.replace(/(^|[\s(])(https?:\/\/[^\s<)]+)/g, '$1<a href="$2" target="_blank" rel="noopener">$2</a>');
    html = html.replace(/(^|[\s>])\*\*?([^*\n]+)\*\*?(?=$|[\s<.,!?])/g, '$1<strong>$2</strong>');
    html = html.replace(/(^|[\s>])_([^_\n]+)_(?=$|[\s<.,!?])/g, '$1<em>$2</em>');
    html = html.replace(/(^|[\s>])~([^~\n]+)~(?=$|[\s<.,!?])/g, '$1<del>$2</del>');
    html = html.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] || whole);
    return html.replace(/\n/g, '<br>');
}

function timeOf(iso, withSeconds) {
    const date = new Date(iso);
    return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', ...(withSeconds ? { second: '2-digit' } : {}) });
}

function initials(name) {
    const words = String(name || '?').replace(/[^\p{L}\p{N} ]/gu, ' ').trim().split(/\s+/);
    return ((words[0] || '?')[0] + (words.length > 1 ? words[words.length - 1][0] : '')).toUpperCase();
}

function colourFor(name) {
    let hash = 0;
    for (const c of String(name)) hash = (hash * 31 + c.codePointAt(0)) >>> 0;
    return AVATAR_COLOURS[hash % AVATAR_COLOURS.length];
}

async function api(method, url, body) {
    const response = await fetch(url, {
        method,
        headers: body !== undefined ? { 'Content-Type': 'application/json' } : {},
        body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    let data;
    try {
        data = text ? JSON.parse(text) : undefined;
    } catch (e) {
        data = text;
    }
    if (!response.ok) throw Object.assign(new Error((data && data.error) || `${response.status} ${response.statusText}`), { status: response.status, data });
    return data;
}

// ---- rooms ------------------------------------------------------------------------------------

const ROOM_SECTIONS = [['c', 'Channels'], ['p', 'Private groups'], ['d', 'Direct messages']];
// Drawn rather than an emoji: not every machine has an emoji font.
const LOCK_ICON = '<svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true"><rect x="3" y="7" width="10" height="8" rx="1.5" fill="currentColor"/><path d="M5 7V5a3 3 0 0 1 6 0v2" fill="none" stroke="currentColor" stroke-width="1.8"/></svg>';

function roomIcon(type) {
    const icon = el('span', { class: 'room-type-icon' });
    if (type === 'p') icon.innerHTML = LOCK_ICON;
    else icon.textContent = type === 'd' ? '@' : '#';
    return icon;
}

function currentRoom() {
    const rooms = (view.overview && view.overview.rooms) || [];
    return rooms.find((r) => r.id === view.roomId || r.name === view.roomId);
}

function renderRooms() {
    const rooms = view.overview.rooms;
    // Redrawn only when something changed, so a click never lands on a link being replaced.
    const key = JSON.stringify([view.roomId, rooms, view.seenCounts]);
    if (key === view.roomsKey) return;
    view.roomsKey = key;
    const nav = $('#rooms');
    nav.replaceChildren();
    for (const [type, title] of ROOM_SECTIONS) {
        const inSection = rooms.filter((r) => r.type === type);
        if (!inSection.length) continue;
        nav.append(el('h2', {}, title));
        for (const room of inSection) {
            const selected = room === currentRoom();
            if (selected) view.seenCounts[room.id] = room.messageCount;
            const unread = room.messageCount - (view.seenCounts[room.id] || 0);
            nav.append(el('a', {
                href: `#${room.id}`,
                class: `room-link${selected ? ' selected' : ''}${unread > 0 ? ' unread' : ''}`,
                dataset: { room: room.id },
                onclick: (event) => {
                    event.preventDefault();
                    selectRoom(room.id);
                },
            }, el('span', { class: 'room-link-icon' }, roomIcon(type)), el('span', { class: 'room-link-name' }, room.label), unread > 0 ? el('span', { class: 'badge' }, String(unread)) : null));
        }
    }
}

function selectRoom(roomId) {
    view.roomId = roomId;
    history.replaceState(null, '', `#${roomId}`);
    view.messagesKey = '';
    stopComposing();
    renderHeader();
    renderRooms();
    refreshMessages().catch(showDisconnected);
}

function renderHeader() {
    const room = currentRoom();
    if (!room) return;
    $('#room-icon').replaceChildren(roomIcon(room.type));
    $('#room-title').textContent = room.label;
    $('#room-info').textContent = { c: 'public channel', p: 'private group', d: 'direct message' }[room.type];
    $('#composer-text').placeholder = `Message ${room.type === 'd' ? '@' : '#'}${room.label}`;
}

// ---- messages ---------------------------------------------------------------------------------

function avatarFor(message) {
    const displayName = message.alias || message.name || message.user;
    if (message.emoji) {
        return el('div', { class: 'avatar emoji', title: message.emoji }, EMOJI[message.emoji.replace(/:/g, '')] || message.emoji);
    }
    const src = safeUrl(message.avatarUrl) || (message.userType === 'app' ? '/api/host/app-icon' : undefined);
    const fallback = el('span', { class: 'avatar-initials', style: `background:${colourFor(displayName)}` }, initials(displayName));
    if (!src) return el('div', { class: 'avatar' }, fallback);
    // The image covers the initials; one that cannot load (offline) uncovers them.
    const image = el('img', { class: 'avatar-image', src, alt: '', loading: 'lazy', onerror: () => image.classList.add('broken') });
    return el('div', { class: 'avatar' }, fallback, image);
}

function attachmentView(attachment) {
    const titleLink = safeUrl(attachment.titleLink);
    const image = safeUrl(attachment.imageUrl);
    return el('div', { class: 'attachment', style: attachment.color ? `border-left-color:${attachment.color}` : undefined },
        attachment.authorName ? el('div', { class: 'attachment-author' }, safeUrl(attachment.authorIcon) ? el('img', { src: safeUrl(attachment.authorIcon), alt: '' }) : null, attachment.authorName) : null,
        attachment.title ? el('div', { class: 'attachment-title' }, titleLink ? el('a', { href: titleLink, target: '_blank', rel: 'noopener' }, attachment.title) : attachment.title) : null,
        attachment.text ? el('div', { class: 'attachment-text' }, attachment.text) : null,
        attachment.description ? el('div', { class: 'attachment-text' }, attachment.description) : null,
        attachment.fields && attachment.fields.length ? el('dl', { class: 'attachment-fields' }, attachment.fields.map((f) => el('div', { class: f.short ? 'short' : '' }, el('dt', {}, f.title), el('dd', {}, f.value)))) : null,
        image ? el('a', { href: image, target: '_blank', rel: 'noopener' }, el('img', { class: 'attachment-image', src: image, alt: attachment.title || '', loading: 'lazy', onerror: (e) => e.target.classList.add('broken') })) : null,
    );
}

function messageActions(message) {
    const user = currentUser();
    const own = user && message.user === user.username;
    return el('div', { class: 'message-actions' },
        el('button', { type: 'button', title: 'Reply in thread', class: 'action-reply', onclick: () => startComposing('reply', message) }, 'Reply'),
        own ? el('button', { type: 'button', title: 'Edit', class: 'action-edit', onclick: () => startComposing('edit', message) }, 'Edit') : null,
        own || (user && user.admin) ? el('button', { type: 'button', title: 'Delete', class: 'action-delete', onclick: () => deleteMessage(message) }, 'Delete') : null,
    );
}

function messageView(message, previous) {
    if (message.t) {
        return el('div', { class: 'message system', dataset: { id: message.id } }, el('span', {}, `${message.user} ${message.text || message.t}`), el('time', { datetime: message.createdAt }, timeOf(message.createdAt)));
    }
    const displayName = message.alias || message.name || message.user;
    const sequential = previous && !previous.t && previous.user === message.user && previous.alias === message.alias && previous.threadId === message.threadId
        && !message.threadId && new Date(message.createdAt) - new Date(previous.createdAt) < 5 * 60 * 1000;
    const text = el('div', { class: 'message-text' });
    text.innerHTML = markdown(message.text || '');
    const edited = message.editedAt ? el('span', { class: 'edited', title: `edited${message.editedBy ? ` by ${message.editedBy}` : ''} at ${new Date(message.editedAt).toLocaleString()}` }, '✎ edited') : null;
    return el('article', { class: `message${message.threadId ? ' reply' : ''}${sequential ? ' sequential' : ''}`, dataset: { id: message.id, user: message.user } },
        sequential ? el('div', { class: 'avatar-spacer' }, el('time', { datetime: message.createdAt }, timeOf(message.createdAt))) : avatarFor(message),
        el('div', { class: 'message-body' },
            sequential ? null : el('header', { class: 'message-header' },
                el('strong', { class: 'display-name' }, displayName),
                el('span', { class: 'username' }, `· ${message.user}`),
                message.userType === 'app' ? el('span', { class: 'tag' }, 'App') : null,
                el('time', { datetime: message.createdAt, title: new Date(message.createdAt).toLocaleString() }, timeOf(message.createdAt)),
                edited),
            message.threadParent ? el('div', { class: 'thread-hint' }, '↳ replied to a thread: ', el('span', { class: 'thread-parent' }, `${message.threadParent.user}: ${message.threadParent.text}`)) : null,
            text,
            sequential ? edited : null,
            message.attachments.length ? el('div', { class: 'attachments' }, message.attachments.map(attachmentView)) : null,
            message.replyCount ? el('button', { type: 'button', class: 'thread-footer', onclick: () => startComposing('reply', message) }, `${message.replyCount} ${message.replyCount === 1 ? 'reply' : 'replies'} in thread`) : null,
        ),
        messageActions(message),
    );
}

function renderMessages() {
    const list = $('#messages');
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.replaceChildren();
    if (!view.messages.length) {
        list.append(el('div', { class: 'empty' }, 'No messages yet. Say something below, or post from outside (right panel).'));
    }
    view.messages.forEach((message, index) => list.append(messageView(message, view.messages[index - 1])));
    if (atBottom || !view.renderedOnce) list.scrollTop = list.scrollHeight;
    view.renderedOnce = true;
}

async function refreshMessages() {
    const room = currentRoom();
    if (!room) return;
    const messages = await api('GET', `/api/host/rooms/${encodeURIComponent(room.id)}/messages`);
    const key = JSON.stringify(messages) + (currentUser() || {}).username;
    if (key === view.messagesKey) return;
    view.messagesKey = key;
    view.messages = messages;
    renderMessages();
}

// ---- composer ---------------------------------------------------------------------------------

function currentUser() {
    const username = $('#composer-user').value;
    return ((view.overview && view.overview.users) || []).find((u) => u.username === username);
}

function renderUserPicker() {
    const select = $('#composer-user');
    if (select.options.length) return;
    for (const user of view.overview.users) select.append(el('option', { value: user.username }, user.username));
    select.value = localStorage.getItem('playground.user') || 'alice';
}

function startComposing(mode, message) {
    view.composing = { mode, message };
    const text = $('#composer-text');
    $('#composer-context').hidden = false;
    $('#composer-context-text').textContent = mode === 'edit'
        ? 'Editing message — the edit is relayed to the targets that support edits'
        : `Replying in thread to ${message.alias || message.user}: ${(message.threadParent && message.threadId ? message.threadParent.text : message.text).slice(0, 60)}`;
    $('#composer-send').textContent = mode === 'edit' ? 'Save' : 'Reply';
    text.value = mode === 'edit' ? message.text : '';
    text.focus();
}

function stopComposing() {
    view.composing = undefined;
    $('#composer-context').hidden = true;
    $('#composer-send').textContent = 'Send';
}

function showComposerError(error) {
    const box = $('#composer-error');
    box.hidden = !error;
    box.textContent = error ? error.message || String(error) : '';
}

async function submitComposer(event) {
    event.preventDefault();
    const text = $('#composer-text');
    const user = $('#composer-user').value;
    if (!text.value.trim()) return;
    try {
        const composing = view.composing;
        if (composing && composing.mode === 'edit') {
            await api('PATCH', `/api/host/messages/${encodeURIComponent(composing.message.id)}`, { user, text: text.value });
        } else {
            const tmid = composing ? composing.message.threadId || composing.message.id : undefined;
            await api('POST', `/api/host/rooms/${encodeURIComponent(currentRoom().id)}/messages`, { user, text: text.value, tmid });
        }
        text.value = '';
        stopComposing();
        showComposerError();
        await refreshAll();
    } catch (e) {
        showComposerError(e);
    }
}

async function deleteMessage(message) {
    if (!confirm(`Delete this message? The delete is relayed to the targets that support deletes.\n\n${message.text.slice(0, 200)}`)) return;
    try {
        await api('DELETE', `/api/host/messages/${encodeURIComponent(message.id)}?user=${encodeURIComponent($('#composer-user').value)}`);
        showComposerError();
        await refreshAll();
    } catch (e) {
        showComposerError(e);
    }
}

// ---- targets panel ----------------------------------------------------------------------------

/** Pretty JSON with a little colour; anything else as it came. */
function prettyBody(delivery) {
    const pre = el('pre', { class: 'delivery-body' });
    let parsed;
    try {
        parsed = JSON.parse(delivery.body);
    } catch (e) {
        pre.textContent = delivery.body || '(empty body)';
        return pre;
    }
    const json = escapeHtml(JSON.stringify(parsed, null, 2));
    pre.innerHTML = json.replace(/(&quot;(?:[^&]|&(?!quot;))*?&quot;)(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)/g, (whole, string, colon, literal, number) => {
        if (string) return colon ? `<span class="json-key">${string}</span>${colon}` : `<span class="json-string">${string}</span>`;
        if (literal) return `<span class="json-literal">${literal}</span>`;
        return `<span class="json-number">${number}</span>`;
    });
    return pre;
}

function renderDeliveries() {
    const counts = {};
    for (const d of view.deliveries) counts[d.sink] = (counts[d.sink] || 0) + 1;
    $('#targets-count').textContent = view.deliveries.length ? String(view.deliveries.length) : '';
    const chips = $('#sink-filters');
    chips.replaceChildren(
        el('button', { type: 'button', class: `chip${view.sinkFilter ? '' : ' active'}`, onclick: () => setSinkFilter('') }, `All ${view.deliveries.length}`),
        ...Object.keys(counts).sort().map((sink) => el('button', { type: 'button', class: `chip sink-${sink}${view.sinkFilter === sink ? ' active' : ''}`, onclick: () => setSinkFilter(sink) }, `${sink} ${counts[sink]}`)),
    );
    const list = $('#deliveries');
    list.replaceChildren();
    const shown = view.deliveries.filter((d) => !view.sinkFilter || d.sink === view.sinkFilter).slice().reverse();
    if (!shown.length) list.append(el('div', { class: 'empty' }, 'Nothing relayed yet. Send a message in #general.'));
    for (const delivery of shown) {
        list.append(el('article', { class: 'delivery', dataset: { sink: delivery.sink } },
            el('header', {},
                el('span', { class: `sink-label sink-${delivery.sink}` }, delivery.sink),
                el('code', { class: 'delivery-request' }, `${delivery.method} ${delivery.path}`),
                el('time', { datetime: delivery.at }, timeOf(delivery.at, true))),
            delivery.contentType && !/json/.test(delivery.contentType) ? el('div', { class: 'delivery-type' }, delivery.contentType) : null,
            prettyBody(delivery)));
    }
}

function setSinkFilter(sink) {
    view.sinkFilter = sink;
    renderDeliveries();
}

async function refreshDeliveries() {
    const deliveries = await api('GET', '/sinks');
    const key = JSON.stringify(deliveries.map((d) => d.seq || d.at));
    if (key === view.deliveriesKey) return;
    view.deliveriesKey = key;
    view.deliveries = deliveries;
    renderDeliveries();
}

// ---- settings ---------------------------------------------------------------------------------

function settingInput(setting) {
    const id = `setting-${setting.id}`;
    switch (setting.type) {
        case 'code':
            return el('textarea', { id, class: 'code-input', rows: 14, spellcheck: 'false' }, setting.value);
        case 'password':
            return el('input', { id, type: 'password', placeholder: setting.hasValue ? '•••• (set — type to replace)' : '(empty)', autocomplete: 'new-password' });
        case 'boolean':
            return el('input', { id, type: 'checkbox', checked: Boolean(setting.value) });
        case 'int':
        case 'number':
            return el('input', { id, type: 'number', value: setting.value });
        case 'select':
            return el('select', { id }, (setting.values || []).map((v) => el('option', { value: v.key, selected: v.key === setting.value }, v.i18nLabel || v.key)));
        default:
            return setting.multiline ? el('textarea', { id, rows: 4 }, setting.value) : el('input', { id, type: 'text', value: setting.value });
    }
}

function inputValue(setting, input) {
    if (setting.type === 'boolean') return input.checked;
    return input.value;
}

function settingView(setting) {
    const input = settingInput(setting);
    const result = el('p', { class: 'save-result', role: 'status' });
    const save = el('button', { type: 'submit', class: 'save primary' }, 'Save');
    const form = el('form', {
        class: 'setting',
        dataset: { setting: setting.id },
        onsubmit: async (event) => {
            event.preventDefault();
            if (setting.type === 'password' && !input.value) {
                result.className = 'save-result';
                result.textContent = 'Unchanged: type a new value to replace the stored one.';
                return;
            }
            save.disabled = true;
            result.className = 'save-result';
            result.textContent = 'Saving…';
            try {
                const answer = await api('PUT', `/api/host/settings/${encodeURIComponent(setting.id)}`, { value: inputValue(setting, input) });
                if (answer.result === 'saved') {
                    result.className = 'save-result saved';
                    result.textContent = `Saved ✓ ${timeOf(new Date().toISOString(), true)}`;
                    if (setting.type === 'password') {
                        input.value = '';
                        input.placeholder = answer.setting.hasValue ? '•••• (set — type to replace)' : '(empty)';
                    }
                } else {
                    result.className = 'save-result refused';
                    result.replaceChildren(el('strong', {}, 'Refused — the app keeps the previous value. '), el('span', { class: 'save-error' }, answer.error));
                }
            } catch (e) {
                result.className = 'save-result refused';
                result.textContent = `Not saved: ${e.message}`;
            } finally {
                save.disabled = false;
            }
        },
    },
    el('label', { for: `setting-${setting.id}`, class: 'setting-label' }, setting.label, setting.required ? el('span', { class: 'required' }, ' *') : null, el('code', { class: 'setting-id' }, setting.id)),
    setting.description ? el('p', { class: 'setting-description' }, setting.description) : null,
    input,
    el('div', { class: 'setting-actions' }, save, result));
    return form;
}

async function loadSettings() {
    const settings = await api('GET', '/api/host/settings');
    const box = $('#settings');
    box.replaceChildren();
    let section;
    for (const setting of settings) {
        if (setting.section && setting.section !== section) {
            section = setting.section;
            box.append(el('h3', {}, section));
        }
        box.append(settingView(setting));
    }
    view.settingsLoaded = true;
}

// ---- post from outside ------------------------------------------------------------------------

function externalPayload() {
    const payload = { channel: $('#external-channel').value, text: $('#external-text').value, alias: $('#external-alias').value, avatar: $('#external-avatar').value };
    for (const key of Object.keys(payload)) if (!payload[key]) delete payload[key];
    return payload;
}

function shellQuote(text) {
    return `'${text.replace(/'/g, `'\\''`)}'`;
}

function curlCommand() {
    const inbound = view.overview && view.overview.inbound;
    if (!inbound) return '';
    return `curl -X POST ${inbound.url} \\\n  -H 'Authorization: Bearer ${inbound.token}' \\\n  -H 'Content-Type: application/json' \\\n  -d ${shellQuote(JSON.stringify(externalPayload()))}`;
}

function renderCurl() {
    const command = curlCommand();
    if ($('#external-curl').textContent !== command) $('#external-curl').textContent = command;
}

async function postFromOutside(event) {
    event.preventDefault();
    const inbound = view.overview.inbound;
    const result = $('#external-result');
    result.hidden = false;
    result.className = 'result';
    result.textContent = 'Posting…';
    try {
        const response = await fetch(inbound.url, {
            method: 'POST',
            headers: { Authorization: `Bearer ${inbound.token}`, 'Content-Type': 'application/json' },
            body: JSON.stringify(externalPayload()),
        });
        const text = await response.text();
        let body = text;
        try {
            body = JSON.stringify(JSON.parse(text), null, 2);
        } catch (e) { /* not JSON */ }
        result.className = `result ${response.ok ? 'ok' : 'failed'}`;
        result.textContent = `HTTP ${response.status}\n${body}`;
        await refreshAll();
    } catch (e) {
        result.className = 'result failed';
        result.textContent = e.message;
    }
}

// ---- tabs, polling, start ---------------------------------------------------------------------

function showTab(name) {
    for (const button of document.querySelectorAll('.tabs button')) button.classList.toggle('active', button.dataset.tab === name);
    for (const body of document.querySelectorAll('.tab-body')) body.hidden = body.id !== `tab-${name}`;
    if (name === 'settings' && !view.settingsLoaded) loadSettings().catch(showDisconnected);
    if (name === 'external') renderCurl();
}

function renderStatus() {
    const app = view.overview.app;
    const status = $('#app-status');
    status.className = `app-status${app && /enabled/.test(app.status) ? ' enabled' : ' disabled'}`;
    status.textContent = app ? `${app.name} ${app.version} · ${app.status.replace(/^(manually|auto)_/, '').replace(/_/g, ' ')}` : 'installing the app…';
    status.title = view.overview.lastError ? `newest app error: ${view.overview.lastError}` : '';
}

function showDisconnected() {
    const status = $('#app-status');
    status.className = 'app-status disconnected';
    status.textContent = 'host not reachable — is npm start running?';
}

async function refreshAll() {
    const overview = await api('GET', '/api/host/playground');
    const firstTime = !view.overview;
    view.overview = overview;
    renderStatus();
    renderUserPicker();
    renderRooms();
    if (firstTime) renderHeader();
    renderCurl();
    await Promise.all([refreshMessages(), refreshDeliveries()]);
}

async function poll() {
    try {
        await refreshAll();
    } catch (e) {
        showDisconnected();
    }
    setTimeout(poll, POLL_MS);
}

function start() {
    $('#composer').addEventListener('submit', submitComposer);
    $('#composer-text').addEventListener('keydown', (event) => {
        if (event.key === 'Enter' && !event.shiftKey) submitComposer(event);
        if (event.key === 'Escape') {
            stopComposing();
            event.target.value = '';
        }
    });
    $('#composer-cancel').addEventListener('click', () => {
        stopComposing();
        $('#composer-text').value = '';
    });
    $('#composer-user').addEventListener('change', (event) => {
        localStorage.setItem('playground.user', event.target.value);
        stopComposing();
        view.messagesKey = '';
        refreshMessages().catch(showDisconnected);
    });
    for (const button of document.querySelectorAll('.tabs button')) button.addEventListener('click', () => showTab(button.dataset.tab));
    $('#sinks-clear').addEventListener('click', async () => {
        await api('DELETE', '/sinks');
        await refreshDeliveries();
    });
    $('#external-form').addEventListener('input', renderCurl);
    $('#external-form').addEventListener('submit', postFromOutside);
    $('#external-copy').addEventListener('click', async (event) => {
        try {
            await navigator.clipboard.writeText(curlCommand());
            event.target.textContent = 'Copied ✓';
        } catch (e) {
            event.target.textContent = 'Select the text below to copy';
        }
        setTimeout(() => { event.target.textContent = 'Copy curl'; }, 2000);
    });
    window.addEventListener('hashchange', () => {
        const roomId = location.hash.slice(1);
        if (roomId && roomId !== view.roomId) selectRoom(roomId);
    });
    poll();
}

start();
