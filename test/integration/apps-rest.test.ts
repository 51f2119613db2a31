// The local host's copy of Rocket.Chat's apps REST API, over real HTTP: each answer checked against
// the rule in docs/HOST-FIDELITY.md (rest.ts, ApiClass.ts, getUploadFormData.ts, info.ts).
import * as fs from 'fs';
import axios from 'axios';
import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { LocalHost } = require('../../host/host');

const APP_ID = '09aa1cdb-d228-4ae5-b4cf-e8088cbaa78f';
const any = { validateStatus: () => true };

/** A multipart/form-data body with one file part, as form-data (the CLI's library) sends it. */
function multipart(field: string, zip: Buffer): { body: Buffer; headers: Record<string, string> } {
    const boundary = '----relay-bridge-test-boundary';
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="app.zip"\r\nContent-Type: application/zip\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    return { body: Buffer.concat([head, zip, tail]), headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` } };
}

describe('the local host speaks the apps REST API as Rocket.Chat does', () => {
    let host: any;
    let admin: Record<string, string>;
    let alice: Record<string, string>;
    const url = (p: string) => `${host.siteUrl}${p}`;
    const login = async (username: string) => {
        const { data } = await axios.post(url('/api/v1/login'), { username, password: username });
        return { 'X-User-Id': data.data.userId, 'X-Auth-Token': data.data.authToken };
    };

    beforeAll(async () => {
        host = new LocalHost({});
        await host.start();
        admin = await login('admin');
        alice = await login('alice');
    });

    afterAll(async () => {
        await host.stop();
    });

    it('answers /api/info with major.minor only, and logs in with username and password', async () => {
        expect((await axios.get(url('/api/info'))).data).toEqual({ version: '7.0', success: true });
        const ok = await axios.post(url('/api/v1/login'), { user: 'admin', password: 'admin' });
        expect(ok.data).toMatchObject({ status: 'success', success: true, data: { userId: 'admin-user-id', me: { username: 'admin' } } });
        expect(typeof ok.data.data.authToken).toBe('string');
        const wrong = await axios.post(url('/api/v1/login'), { username: 'admin', password: 'nope' }, any);
        expect([wrong.status, wrong.data.status]).toEqual([401, 'error']);
        const unknown = await axios.post(url('/api/v1/login'), { username: 'nobody', password: 'x' }, any);
        expect([unknown.status, unknown.data]).toEqual([401, { success: false, status: 'error', error: 'Unauthorized', message: 'Unauthorized' }]);
        expect((await axios.get(url('/api/v1/me'), { headers: admin })).data).toMatchObject({ _id: 'admin-user-id', username: 'admin', success: true });
    });

    it('refuses without both auth headers (401) and without manage-apps (403), in the server\'s words', async () => {
        const none = await axios.get(url(`/api/apps/${APP_ID}`), any);
        expect([none.status, none.data]).toEqual([401, { success: false, error: 'You must be logged in to do this.', status: 'error', message: 'You must be logged in to do this.' }]);
        const mixed = await axios.get(url(`/api/apps/${APP_ID}`), { headers: { 'X-User-Id': 'admin-user-id', 'X-Auth-Token': alice['X-Auth-Token'] }, ...any });
        expect(mixed.status).toBe(401);
        const forbidden = await axios.get(url(`/api/apps/${APP_ID}`), { headers: alice, ...any });
        expect([forbidden.status, forbidden.data]).toEqual([403, { success: false, error: 'User does not have the permissions required for this action [error-unauthorized]' }]);
        const missing = await axios.get(url(`/api/apps/${APP_ID}`), { headers: admin, ...any });
        expect([missing.status, missing.data]).toEqual([404, { success: false, error: `No App found by the id of: ${APP_ID}` }]);
    });

    it('installs a multipart "app" zip enabled, manages settings and status, and updates keeping settings', async () => {
        const zip = fs.readFileSync(process.env.RELAY_BRIDGE_ZIP as string);
        const wrongField = multipart('file', zip);
        const refused = await axios.post(url('/api/apps'), wrongField.body, { headers: { ...admin, ...wrongField.headers }, ...any });
        expect([refused.status, refused.data]).toEqual([400, { success: false, error: '[invalid-field]', errorType: 'invalid-field' }]);

        const upload = multipart('app', zip);
        const installed = await axios.post(url('/api/apps'), upload.body, { headers: { ...admin, ...upload.headers } });
        expect(installed.data).toMatchObject({ success: true, app: { id: APP_ID, status: 'manually_enabled' } });
        expect(installed.data).toHaveProperty('implemented');
        expect(installed.data).toHaveProperty('licenseValidation');

        const settings = (await axios.get(url(`/api/apps/${APP_ID}/settings`), { headers: admin })).data.settings;
        expect(Object.keys(settings).slice(0, 3)).toEqual(['quick_relay', 'relay_secrets', 'relay_config']); // storage order: what a configuration uses is saved before it
        const noSettings = await axios.post(url(`/api/apps/${APP_ID}/settings`), {}, { headers: admin, ...any });
        expect([noSettings.status, noSettings.data]).toEqual([400, { success: false, error: 'The settings to update must be present.' }]);
        const all = Object.values(settings).map((s: any) => (s.id === 'outbox_max_entries' ? { ...s, value: 77 } : s));
        const saved = await axios.post(url(`/api/apps/${APP_ID}/settings`), { settings: all }, { headers: admin });
        expect(saved.data).toEqual({ updated: [expect.objectContaining({ id: 'outbox_max_entries', value: 77 })], success: true });

        // The server does not await getStatus() in its answer: the Promise becomes {}.
        const disabled = await axios.post(url(`/api/apps/${APP_ID}/status`), { status: 'manually_disabled' }, { headers: admin });
        expect(disabled.data).toEqual({ status: {}, success: true });
        expect((await axios.get(url(`/api/apps/${APP_ID}/status`), { headers: admin })).data).toEqual({ status: 'manually_disabled', success: true });
        const invalid = await axios.post(url(`/api/apps/${APP_ID}/status`), { status: 'enabled' }, { headers: admin, ...any });
        expect([invalid.status, invalid.data.success]).toEqual([400, false]);
        expect(invalid.data.error).toMatch(/Invalid status to change an App to/);
        await axios.post(url(`/api/apps/${APP_ID}/status`), { status: 'manually_enabled' }, { headers: admin });

        // A community workspace refuses to update a private app.
        host.license.valid = false;
        const exempt = await axios.post(url(`/api/apps/${APP_ID}`), upload.body, { headers: { ...admin, ...upload.headers }, ...any });
        expect([exempt.status, exempt.data]).toEqual([400, { error: 'Cannot_Update_Exempt_App', success: false }]);
        host.license.valid = true;

        const updated = await axios.post(url(`/api/apps/${APP_ID}`), upload.body, { headers: { ...admin, ...upload.headers } });
        expect(updated.data).toMatchObject({ success: true, app: { id: APP_ID, status: 'manually_enabled' } });
        expect((await axios.get(url(`/api/apps/${APP_ID}/settings`), { headers: admin })).data.settings.outbox_max_entries.value).toBe(77);
    });
});
