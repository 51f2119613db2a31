// The documented deploy command (`npm run deploy -- …`, the real `rc-apps deploy` of apps-cli
// 1.9.0) against the local host's copy of Rocket.Chat's apps REST API: first an install, then an
// update. The app must be enabled, keep its settings across the update, run the new build, and the
// working tree must be exactly as before.
import { spawn, spawnSync } from 'child_process';
import * as path from 'path';
import axios from 'axios';
import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { LocalHost } = require('../../host/host');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { zipDifferences } = require('../../tools/deploy');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const AdmZip = require('adm-zip');

const root = path.resolve(__dirname, '..', '..');
const APP_ID = '09aa1cdb-d228-4ae5-b4cf-e8088cbaa78f';

/** Runs the README's command; async, so the host in this process keeps answering. */
function npmDeploy(url: string, extra: string[] = []): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve) => {
        const child = spawn('npm', ['run', 'deploy', '--', '--url', url, '--username', 'admin', '--password', 'admin', ...extra], { cwd: root, env: { ...process.env, NODE_ENV: 'production' } });
        let output = '';
        child.stdout.on('data', (d) => (output += d));
        child.stderr.on('data', (d) => (output += d));
        child.on('close', (code) => resolve({ code, output }));
    });
}

function gitStatus(): string {
    return spawnSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: root, encoding: 'utf8' }).stdout;
}

/** The entries of a zip (buffer) but `.packagedby`, by name → bytes. */
function entries(zip: Buffer): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of new AdmZip(zip).getEntries()) if (!e.isDirectory && e.entryName !== '.packagedby') out[e.entryName] = e.getData().toString('base64');
    return out;
}

describe('npm run deploy (rc-apps deploy 1.9.0) against the local host', () => {
    let host: any;
    let auth: Record<string, string>;

    beforeAll(async () => {
        host = new LocalHost({});
        await host.start();
        const login = await axios.post(`${host.siteUrl}/api/v1/login`, { username: 'admin', password: 'admin' });
        auth = { 'X-User-Id': login.data.data.userId, 'X-Auth-Token': login.data.data.authToken };
    });

    afterAll(async () => {
        await host.stop();
    });

    it('installs, then updates the running app: enabled, settings kept, the new build running, the tree untouched', async () => {
        const treeBefore = gitStatus();
        const api = (p: string) => `${host.siteUrl}/api/apps/${APP_ID}${p}`;

        const first = await npmDeploy(host.siteUrl);
        expect(first.output).toMatch(/Uploading App\.\.\. ✓/);
        expect(first.output).toMatch(/deployed dist\/relay-bridge_0\.1\.0\.zip: the uploaded zip has the same \d+ files/);
        expect(first.code).toBe(0);
        expect(host.appsRest.uploads.map((u: any) => u.method)).toEqual(['install']);
        // What reached the server is what `npm run package` built (the deploy left it in dist/).
        const dist = path.join(root, 'dist', 'relay-bridge_0.1.0.zip');
        expect(entries(host.appsRest.uploads[0].zip)).toEqual(entries(require('fs').readFileSync(dist)));

        const installed = await axios.get(api(''), { headers: auth });
        expect(installed.data).toMatchObject({ success: true, app: { id: APP_ID, version: '0.1.0', status: 'manually_enabled', private: true } });

        // The admin saves the settings page: every setting, two of them changed.
        const { settings } = (await axios.get(api('/settings'), { headers: auth })).data;
        const changed = Object.values(settings).map((s: any) => ({ ...s, value: s.id === 'status_token' ? 'deploy-test-status-token' : s.id === 'give_up_after_hours' ? 6 : s.value }));
        const saved = await axios.post(api('/settings'), { settings: changed }, { headers: auth });
        expect(saved.data.updated.map((s: any) => s.id)).toEqual(['give_up_after_hours', 'status_token']);
        const status = (token: string) => axios.get(`${host.siteUrl}/api/apps/public/${APP_ID}/status`, { headers: { Authorization: `Bearer ${token}` }, validateStatus: () => true });
        expect((await status('deploy-test-status-token')).status).toBe(200);
        const pidBefore = host.runtimePid();

        const second = await npmDeploy(host.siteUrl);
        expect(second.output).toMatch(/App already exists - updating it\./);
        expect(second.code).toBe(0);
        expect(host.appsRest.uploads.map((u: any) => u.method)).toEqual(['install', 'update']);

        const updated = await axios.get(api(''), { headers: auth });
        expect(updated.data.app.status).toBe('manually_enabled');
        const after = (await axios.get(api('/settings'), { headers: auth })).data.settings;
        expect(after.status_token.value).toBe('deploy-test-status-token');
        expect(after.give_up_after_hours.value).toBe(6);
        // The update replaced the runtime, and the new one reads the kept setting.
        expect(host.runtimePid()).not.toBe(pidBefore);
        expect((await status('deploy-test-status-token')).status).toBe(200);
        expect((await status('wrong-token-wrong-token')).status).toBe(401);

        expect(gitStatus()).toBe(treeBefore);
    }, 600000);

    it('compares zips file by file, ignoring only .packagedby', () => {
        const dist = path.join(root, 'dist', 'relay-bridge_0.1.0.zip');
        const tmp = path.join(require('os').tmpdir(), `deploy-test-${process.pid}.zip`);
        const zip = new AdmZip(dist);
        zip.addFile('.packagedby', Buffer.from('{"when":"another time"}'));
        zip.writeZip(tmp);
        expect(zipDifferences(dist, tmp).differing).toEqual([]);
        zip.addFile('app.json', Buffer.from('{}'));
        zip.writeZip(tmp);
        expect(zipDifferences(dist, tmp).differing).toEqual(['app.json']);
        require('fs').rmSync(tmp, { force: true });
    });
});
