// Saving the relay configuration through the engine's settings manager, as the admin UI does: an
// invalid configuration is refused (the stored value stays the old one), the exact place of the
// error is logged for the admin, and the last valid configuration keeps running; secrets come from
// the password setting.
import { eventually, LocalHost, startHostWithApp } from '../support/host';
import { Sink } from '../support/sink';

describe('relay configuration setting', () => {
    let host: LocalHost;
    let sink: Sink;

    const config = (url: string, msgFormat = '{user}: {msg}') =>
        JSON.stringify({
            instances: { hook: { type: 'webhook', url } },
            rules: [{ from: { rocketchat: { room: '#general' } }, to: { hook: {} }, msg: { msg_format: msgFormat } }],
        });

    beforeAll(async () => {
        sink = await new Sink().start();
        host = await startHostWithApp();
        await host.updateSetting('relay_config', config(`${sink.url}/first`));
    });

    afterAll(async () => {
        await host?.stop();
        await sink?.stop();
    });

    it.each([
        ['an unknown template variable', config('http://127.0.0.1:1/x', '{user}: {mgs}'), /rules\[0\]\.msg\.msg_format: unknown template variable \{mgs\}/],
        ['a typo in a msg key', config('http://127.0.0.1:1/x').replace('msg_format', 'msg_fromat'), /rules\[0\]\.msg\.msg_fromat: .*msg_format/],
        ['a rule naming an unknown instance', JSON.stringify({ instances: {}, rules: [{ from: { rocketchat: { room: '#general' } }, to: { nowhere: {} } }] }), /rules\[0\]\.to\.nowhere/],
        ['broken JSON', '{ "instances": {', /line \d+/],
    ])('refuses %s with the exact place, keeping the running configuration', async (_what, text, error) => {
        const before = host.getSetting('relay_config').value;
        expect(await host.updateSetting('relay_config', text)).toBe(before);
        expect(host.appErrors().pop()).toMatch(error);
        sink.requests.length = 0;
        host.sendMessage({ roomId: 'GENERAL', text: 'still relayed' });
        const [request] = await sink.waitFor(1);
        expect(request.path).toBe('/first');
        expect(request.json.text).toBe('Alice Liddell: still relayed');
    });

    it('takes secrets from the password setting, and never quotes them in errors', async () => {
        await host.updateSetting('relay_secrets', 'HOOK_PATH=secret-path-123');
        await host.updateSetting('relay_config', config(`${sink.url}/\${HOOK_PATH}`));
        sink.requests.length = 0;
        host.sendMessage({ roomId: 'GENERAL', text: 'via secret' });
        // Only this message counts: an earlier test's delivery may still arrive at the old URL.
        const request = (await eventually(() => sink.requests.find((r) => /via secret/.test(r.text)), 30000, 'the message sent after the change'))!;
        expect(request.path).toBe('/secret-path-123');
        await host.updateSetting('relay_config', config('ftp://host/${HOOK_PATH}'));
        const error = host.appErrors().pop();
        expect(error).toMatch(/instances\.hook\.url: must use http or https/);
        expect(error).not.toMatch(/secret-path-123/);
    });

    it('relays a room to the URLs of the Quick relay setting, and leaves a malformed one out', async () => {
        await host.updateSetting('quick_relay', `#random json://127.0.0.1:${sink.url.split(':').pop()}/quick`);
        sink.requests.length = 0;
        host.sendMessage({ roomId: 'RANDOM', text: 'quick one' });
        const [request] = await sink.waitFor(1);
        expect(request.path).toBe('/quick');
        expect(request.json).toMatchObject({ text: 'quick one', channel_name: 'random' });
        // A password setting is stored as typed (refusing would log its old value); a malformed one is left out with a warning.
        expect(await host.updateSetting('quick_relay', 'random json://x/y')).toBe('random json://x/y');
        expect(host.appLogText()).toMatch(/Quick relay: left out until corrected: Quick relay, group 1: starts with .{0,4}random.{0,4}, not a #room/);
    });
});
