// The local playground page (http://localhost:3000/ under `npm start`) in headless Chromium: a
// message typed in #general reaches the demo targets, an inbound post shows with its alias and
// avatar, edits and deletes are relayed, and an invalid relay configuration is shown as refused.
// Needs Debian's Chromium at /usr/bin/chromium (.ci/run installs it); skipped without it.
// SAVE_SCREENSHOT=1 writes docs/playground.png (1280×800).
import axios from 'axios';
import * as fs from 'fs';
import * as path from 'path';
import { Browser, chromium, Page } from 'playwright-core';

import { LocalHost } from '../support/host';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { startPlayground } = require('../../host/playground');

const CHROMIUM = '/usr/bin/chromium';
// No --user-data-dir: Playwright launches every browser with a new empty profile of its own.
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCREENSHOT = path.join(__dirname, '..', '..', 'docs', 'playground.png');
const AVATAR = 'https://ci.example.com/build-bot.png';

const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium) {
    console.warn(`playground browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
}
const maybe = hasChromium ? describe : describe.skip;

maybe('the playground page in headless Chromium', () => {
    let host: LocalHost;
    let browser: Browser;
    let page: Page;

    const delivery = (sink: string, text: string) => page.locator(`#deliveries .delivery[data-sink="${sink}"]`, { hasText: text }).first();
    const message = (text: string) => page.locator('#messages .message', { hasText: text }).first();

    beforeAll(async () => {
        host = await startPlayground({ port: 0, zip: process.env.RELAY_BRIDGE_ZIP });
        browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
        page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
        page.on('dialog', (dialog) => dialog.accept());
        await page.goto(`${host.siteUrl}/#GENERAL`);
        await page.locator('#composer-user option[value="alice"]').waitFor({ state: 'attached' });
    });

    afterAll(async () => {
        await browser?.close();
        await host?.stop();
    });

    it('sends a message typed as alice in #general, and shows it relayed to both targets', async () => {
        await page.selectOption('#composer-user', 'alice');
        await page.fill('#composer-text', 'Hello from the playground');
        await page.press('#composer-text', 'Enter');
        await message('Hello from the playground').locator('.display-name', { hasText: 'Alice Liddell' }).waitFor({ timeout: 5000 });
        await delivery('webhook', 'Hello from the playground').waitFor({ timeout: 5000 });
        await delivery('discord', 'Hello from the playground').waitFor({ timeout: 5000 });
        expect(await delivery('webhook', 'Hello from the playground').locator('.delivery-request').textContent()).toBe('POST /sinks/webhook');
    });

    it('shows an inbound post with its alias in place of the username and its avatar', async () => {
        const response = await axios.post(
            `${host.siteUrl}/api/apps/public/${host.appId}/inbound`,
            {
                channel: '#general',
                text: 'Build #42 passed',
                alias: 'Build bot',
                avatar: AVATAR,
                attachments: [{ title: 'Build #42', title_link: 'https://ci.example.com/builds/42', text: '312 tests, 0 failures', color: '#2de0a5' }],
            },
            { headers: { Authorization: `Bearer ${host.demoToken}` } },
        );
        expect(response.data).toMatchObject({ success: true, room_id: 'GENERAL' });
        const posted = message('Build #42 passed');
        await posted.waitFor({ timeout: 5000 });
        expect(await posted.locator('.display-name').textContent()).toBe('Build bot');
        expect(await posted.locator('.username').textContent()).toContain('relay-bridge.bot');
        expect(await posted.locator('img.avatar-image').getAttribute('src')).toBe(AVATAR);
        expect(await posted.locator('.attachment-title a').getAttribute('href')).toBe('https://ci.example.com/builds/42');
        expect(await posted.locator('.attachment-text').textContent()).toBe('312 tests, 0 failures');
    });

    it('relays an edit and a delete of an own message made on the page', async () => {
        await page.fill('#composer-text', 'A message to change');
        await page.press('#composer-text', 'Enter');
        const sent = message('A message to change');
        await sent.waitFor({ timeout: 5000 });
        await sent.hover();
        await sent.locator('.action-edit').click();
        await page.fill('#composer-text', 'A message changed');
        await page.press('#composer-text', 'Enter');
        await message('A message changed').locator('.edited').waitFor({ timeout: 5000 });
        await delivery('webhook', '"edited"').filter({ hasText: 'A message changed' }).waitFor({ timeout: 5000 });

        const changed = message('A message changed');
        await changed.hover();
        await changed.locator('.action-delete').click();
        await page.locator('#messages .message', { hasText: 'A message changed' }).waitFor({ state: 'detached', timeout: 5000 });
        await page.locator('#deliveries .delivery[data-sink="discord"] .delivery-request', { hasText: 'DELETE' }).first().waitFor({ timeout: 5000 });
    });

    it('shows a saved setting as saved and an invalid relay configuration as refused', async () => {
        await host.updateSetting('relay_secrets', 'DEMO_SECRET=never-shown-in-the-page');
        await page.click('.tabs button[data-tab="settings"]');
        const config = page.locator('[data-setting="relay_config"]');
        await config.locator('textarea').waitFor();
        expect(await page.content()).not.toContain('never-shown-in-the-page');
        expect(await page.locator('[data-setting="relay_secrets"] input').inputValue()).toBe('');

        const before = host.getSetting('relay_config').value;
        await config.locator('textarea').fill('{ "instances": {');
        await config.locator('button.save').click();
        const refused = config.locator('.save-result.refused');
        await refused.waitFor({ timeout: 5000 });
        expect(await refused.textContent()).toMatch(/Refused[^]*line \d+/);
        expect(host.getSetting('relay_config').value).toBe(before);

        const maxFileSize = page.locator('[data-setting="max_file_size"]');
        await maxFileSize.locator('input').fill('1048576');
        await maxFileSize.locator('button.save').click();
        await maxFileSize.locator('.save-result.saved').waitFor({ timeout: 5000 });
        expect(host.getSetting('max_file_size').value).toBe(1048576);
    });

    it('shows a ready curl command for the inbound endpoint, and posts with the button', async () => {
        await page.click('.tabs button[data-tab="external"]');
        const curl = await page.locator('#external-curl').textContent();
        expect(curl).toContain(`${host.siteUrl}/api/apps/public/${host.appId}/inbound`);
        expect(curl).toContain(`Authorization: Bearer ${host.demoToken}`);
        await page.fill('#external-alias', 'Deploy bot');
        await page.fill('#external-text', 'Deploy finished');
        expect(await page.locator('#external-curl').textContent()).toContain('"alias":"Deploy bot"');
        await page.click('#external-post');
        await page.locator('#external-result.ok').waitFor({ timeout: 5000 });
        await message('Deploy finished').locator('.display-name', { hasText: 'Deploy bot' }).waitFor({ timeout: 5000 });
    });

    it('saves docs/playground.png for the README when SAVE_SCREENSHOT=1', async () => {
        if (process.env.SAVE_SCREENSHOT !== '1') return;
        // A thread reply and an edited message, so the picture shows how those look too.
        const [hello] = host.state.messagesInRoom('GENERAL');
        host.sendMessage({ roomId: 'GENERAL', userId: host.bob.id, text: 'Seen on Discord too, thanks!', threadId: hello.id });
        const typo = host.sendMessage({ roomId: 'GENERAL', userId: host.bob.id, text: 'Deploy at 5 pm?' });
        await page.click('.tabs button[data-tab="targets"]');
        await delivery('discord', '5 pm').waitFor({ timeout: 5000 });
        host.editMessage(typo.id, 'Deploy at *4 pm*?', host.bob.id);
        await message('Deploy at').locator('.edited').waitFor({ timeout: 5000 });
        await delivery('discord', '4 pm').waitFor({ timeout: 5000 });
        await page.mouse.move(0, 0);
        await page.waitForTimeout(1500);
        await page.screenshot({ path: SCREENSHOT });
        expect(fs.statSync(SCREENSHOT).size).toBeGreaterThan(10000);
    });
});
