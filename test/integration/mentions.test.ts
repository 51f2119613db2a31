// @all/@here from outside (issue 14): defused unless the source has `allow_mentions`; with it they
// reach the room as written, and the server's own rule (mention-all / mention-here for the
// posting user, here the app's user) still decides.
import axios from 'axios';

import { LocalHost, startHostWithApp } from '../support/host';

const QUIET_TOKEN = 'quiet-token-0123456789abcdef';
const LOUD_TOKEN = 'loud-token-0123456789abcdefgh';

describe('mentions from outside', () => {
    let host: LocalHost;
    let base: string;
    const post = (token: string, text: string) =>
        axios.post(`${base}/inbound`, { channel: '#general', text }, { headers: { Authorization: `Bearer ${token}` }, validateStatus: () => true });
    const textOf = (id: string) => host.state.messages.get(id).text;

    beforeAll(async () => {
        host = await startHostWithApp();
        base = `${host.siteUrl}/api/apps/public/${host.appId}`;
        await host.updateSetting('relay_config', JSON.stringify({
            instances: {
                quiet: { type: 'inbound', token: QUIET_TOKEN, rooms: ['#general'] },
                loud: { type: 'inbound', token: LOUD_TOKEN, rooms: ['#general'], allow_mentions: true },
            },
            rules: [{ from: { quiet: {}, loud: {} }, to: { rocketchat: { room: '#general' } } }],
        }));
    });

    afterAll(async () => {
        await host?.stop();
    });

    it('defuses @all, @here and @channel from a source without allow_mentions', async () => {
        const response = await post(QUIET_TOKEN, 'deploy done @all @here @channel');
        expect(response.status).toBe(200);
        expect(textOf(response.data.message_id)).toBe('deploy done @\u200Ball @\u200Bhere @\u200Bchannel');
    });

    it('passes them as written for a source with allow_mentions, where the server lets the app\'s user notify', async () => {
        // By default the server refuses @all from the app's user (its role is not among mention-all's).
        const refused = await post(LOUD_TOKEN, 'everyone: @all');
        expect(refused.status).toBe(403);
        expect(refused.data.error).toMatch(/may not notify @all/);
        const appUser = host.appUser();
        appUser.roles.push('user'); // the admin grants it (Permissions → mention-all / mention-here)
        try {
            const response = await post(LOUD_TOKEN, 'everyone: @all and @here');
            expect(response.status).toBe(200);
            expect(textOf(response.data.message_id)).toBe('everyone: @all and @here');
            // The other source is still defused.
            const quiet = await post(QUIET_TOKEN, 'quiet @all');
            expect(textOf(quiet.data.message_id)).toBe('quiet @\u200Ball');
        } finally {
            appUser.roles.pop();
        }
    });

    it('refuses an allow_mentions that is not true or false', async () => {
        const before = host.getSetting('relay_config').value;
        const text = JSON.stringify({ instances: { x: { type: 'inbound', token: QUIET_TOKEN, allow_mentions: 'yes' } }, rules: [{ from: { x: {} }, to: { rocketchat: { room: '#general' } } }] });
        expect(await host.updateSetting('relay_config', text)).toBe(before);
        expect(host.appErrors().pop()).toMatch(/instances\.x\.allow_mentions: must be true/);
    });
});
