// Saving settings the way the admin UI does (every setting, storage order, each through the
// engine's settings manager): saves converge in any order, an admin's edit wins over `/relay`
// links, and no password setting's value ever reaches the app's log.
import { LocalHost, startHostWithApp } from '../support/host';
import { Sink } from '../support/sink';

const hookConfig = (instance: string, path: string) =>
    JSON.stringify({
        instances: { [instance]: { type: 'webhook', url: path } },
        rules: [{ from: { rocketchat: { room: '#general' } }, to: { [instance]: {} } }],
    });

describe('saving settings like the admin UI', () => {
    let sink: Sink;
    let host: LocalHost;

    beforeAll(async () => {
        sink = await new Sink().start();
    });
    afterAll(async () => {
        await sink?.stop();
    });
    beforeEach(async () => {
        host = await startHostWithApp();
        sink.requests.length = 0;
    });
    afterEach(async () => {
        await host?.stop();
    });

    const relayed = async (text: string) => {
        sink.requests.length = 0;
        host.sendMessage({ roomId: 'GENERAL', text });
        const [request] = await sink.waitFor(1);
        return request;
    };
    const status = async () => (await host.runCommand({ command: 'relay', args: ['status'], roomId: 'GENERAL' })).map((n: { text: string }) => n.text).join('\n');

    it('takes secrets and the configuration that uses them in one save on a fresh install', async () => {
        const updated = await host.saveSettingsLikeAdminUi({ relay_secrets: 'HOOK_PATH=one-save-path', relay_config: hookConfig('hook', `${sink.url}/\${HOOK_PATH}`) });
        expect(updated).toEqual(expect.arrayContaining(['relay_secrets', 'relay_config']));
        expect(host.getSetting('relay_config').value).toContain('${HOOK_PATH}');
        expect((await relayed('hello')).path).toBe('/one-save-path');
    });

    it('takes secrets first and the configuration in a later save', async () => {
        await host.saveSettingsLikeAdminUi({ relay_secrets: 'HOOK_PATH=later-path' });
        expect(host.getSetting('relay_secrets').value).toBe('HOOK_PATH=later-path');
        await host.saveSettingsLikeAdminUi({ relay_config: hookConfig('hook', `${sink.url}/\${HOOK_PATH}`) });
        expect((await relayed('hello')).path).toBe('/later-path');
    });

    it('takes a configuration before its secret and runs it once the secret is saved', async () => {
        await host.saveSettingsLikeAdminUi({ relay_config: hookConfig('hook', `${sink.url}/\${HOOK_PATH}`) });
        expect(host.getSetting('relay_config').value).toContain('${HOOK_PATH}');
        expect(await status()).toMatch(/no secret named "HOOK_PATH"/);
        await host.saveSettingsLikeAdminUi({ relay_secrets: 'HOOK_PATH=after-path' });
        expect((await relayed('hello')).path).toBe('/after-path');
    });

    it("lets the admin remove an instance a /relay link uses: the link is left out with a warning", async () => {
        await host.saveSettingsLikeAdminUi({ relay_config: JSON.stringify({ instances: { keep: { type: 'webhook', url: `${sink.url}/keep` }, gone: { type: 'webhook', url: `${sink.url}/gone` } }, rules: [{ from: { rocketchat: { room: '#general' } }, to: { keep: {} } }] }) });
        const [reply] = await host.runCommand({ command: 'relay', args: ['link', 'gone'], roomId: 'RANDOM' });
        expect(reply.text).toMatch(/^Linked/);
        const edited = hookConfig('keep', `${sink.url}/keep`);
        await host.saveSettingsLikeAdminUi({ relay_config: edited });
        expect(host.getSetting('relay_config').value).toBe(edited);
        const warning = /\/relay link \w+ \(#random\): left out.*rules\[1\]\.to\.gone: unknown instance/;
        expect(host.appLogText()).toMatch(warning);
        expect(await status()).toMatch(warning);
        expect((await relayed('still going')).path).toBe('/keep');
    });

    it('never writes a password setting value into the app log', async () => {
        const secret = 'S3cretValueNeverLogged';
        const quickToken = 'QuickTokenNeverLogged';
        const statusToken = 'StatusTokenNeverLogged0123';
        const port = sink.url.split(':').pop();
        await host.saveSettingsLikeAdminUi({
            relay_secrets: `HOOK_PATH=${secret}`,
            quick_relay: `#random json://127.0.0.1:${port}/${quickToken}`,
            status_token: statusToken,
            relay_config: hookConfig('hook', `${sink.url}/\${HOOK_PATH}`),
        });
        // A refused configuration, a malformed Quick relay and changed secrets are logged too.
        await host.saveSettingsLikeAdminUi({ relay_config: hookConfig('hook', 'ftp://host/${HOOK_PATH}') });
        await host.saveSettingsLikeAdminUi({ quick_relay: `random json://127.0.0.1:${port}/${quickToken}x` });
        await host.saveSettingsLikeAdminUi({ relay_secrets: `HOOK_PATH=${secret}2 OTHER=${secret}3` });
        await relayed('hello');
        await status();
        const log = host.appLogText();
        expect(log).toMatch(/onPreSettingUpdate/); // the engine's debug lines are there…
        expect(log).toMatch(/instances\.hook\.url: must use http or https/);
        for (const value of [secret, quickToken, statusToken]) {
            expect(log).not.toContain(value); // …without any password value
        }
    });
});
