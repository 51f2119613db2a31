// Apprise-style URLs of the chat-ops targets (Slack, Mattermost, Teams Workflows, Zulip): what each
// URL yields, that the result is a config its adapter accepts, and the URLs that are refused.
import { ConfigError } from '../../../src/core/errors';
import { targetRegistry } from '../../../src/targets/index';

const BOT = 'xoxb-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d';
const MM_KEY = 'yobjmukpaw3r3urc5h6i369yim'; // Mattermost ids: 26 characters
const MM_CHANNEL = 'c4nnelid0000000000000000ab';
const ZULIP_KEY = 'lqn6mpwpam6VZzbCW0o7olmk3hwbQSK0';
const FLOW_PATH = '/workflows/643e69f83c8944438d68119179a10a64/triggers/manual/paths/invoke';
const FLOW_QUERY = 'api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=KODuebWbDGYFr0z0eu-6Rj8aUKz7108W3wrNJZxFE5A';

describe('parseTargetUrl: chat-ops targets', () => {
    it.each([
        // slack: incoming webhook
        ['slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7', 'slack', { webhook_url: 'https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7' }],
        [
            'slack://Relay%20Bot@T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7/#general?identity=legacy',
            'slack', { webhook_url: 'https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7', channel: '#general', botname: 'Relay Bot', identity: 'legacy' },
        ],
        ['https://hooks.slack.com/services/T1/B2/C3', 'slack', { webhook_url: 'https://hooks.slack.com/services/T1/B2/C3' }],
        ['https://hooks.slack-gov.com/services/T1/B2/C3/', 'slack', { webhook_url: 'https://hooks.slack-gov.com/services/T1/B2/C3' }],
        // slack: bot token → chat.postMessage
        [`slack://${BOT}/#general`, 'slack', { bot_token: BOT, channel: '#general' }],
        [`slack://${BOT}/+C0123ABC`, 'slack', { bot_token: BOT, channel: '+C0123ABC' }],
        [`slack://${BOT}?to=%23dev`, 'slack', { bot_token: BOT, channel: '#dev' }],
        [`slack://${BOT}`, 'slack', { bot_token: BOT }],
        // slack: Apprise's ?token= (either kind), ?to=, ?user=, #channel:thread_ts, e-mail targets
        [`slack://?token=${BOT}&to=%23nuxref&user=test`, 'slack', { bot_token: BOT, channel: '#nuxref', botname: 'test' }],
        ['slack://?token=T1/B2/C3/&to=%23chan&mode=hook', 'slack', { webhook_url: 'https://hooks.slack.com/services/T1/B2/C3', channel: '#chan' }],
        ['slack://bot@_/%23nuxref?token=T1/B2/C3/', 'slack', { webhook_url: 'https://hooks.slack.com/services/T1/B2/C3', botname: 'bot' }],
        [`slack://${BOT}/#general:1700000000.123456`, 'slack', { bot_token: BOT, channel: '#general:1700000000.123456' }],
        [`slack://${BOT}/user@example.com`, 'slack', { bot_token: BOT, channel: 'user@example.com' }],
        // slack: Workflow Builder webhooks and triggers
        ['slack://T1JJ3T3L2/Ft07XXXX/XXXXXXXX/YYYYYYYY/?mode=workflow', 'slack', { webhook_url: 'https://hooks.slack.com/workflows/T1JJ3T3L2/Ft07XXXX/XXXXXXXX/YYYYYYYY' }],
        ['slack://T1JJ3T3L2/XXXXXXXX/YYYYYYYY/?mode=trig', 'slack', { webhook_url: 'https://hooks.slack.com/triggers/T1JJ3T3L2/XXXXXXXX/YYYYYYYY' }],
        ['https://hooks.slack.com/workflows/T1JJ3T3L2/Ft07XXXX/XXXXXXXX/YYYYYYYY', 'slack', { webhook_url: 'https://hooks.slack.com/workflows/T1JJ3T3L2/Ft07XXXX/XXXXXXXX/YYYYYYYY' }],
        ['https://hooks.slack.com/triggers/T1JJ3T3L2/XXXXXXXX/YYYYYYYY/', 'slack', { webhook_url: 'https://hooks.slack.com/triggers/T1JJ3T3L2/XXXXXXXX/YYYYYYYY' }],
        // mattermost
        [`mmost://mm.example.com/${MM_KEY}`, 'mattermost', { webhook_url: `http://mm.example.com/hooks/${MM_KEY}` }],
        [
            `mmosts://Relay@mm.example.com:8443/sub/path/${MM_KEY}?channel=town-square`,
            'mattermost', { webhook_url: `https://mm.example.com:8443/sub/path/hooks/${MM_KEY}`, channel: 'town-square', botname: 'Relay' },
        ],
        [`mmosts://mm.example.com/${MM_KEY}/?to=dev`, 'mattermost', { webhook_url: `https://mm.example.com/hooks/${MM_KEY}`, channel: 'dev' }],
        [`https://mattermost.example.com/hooks/${MM_KEY}`, 'mattermost', { webhook_url: `https://mattermost.example.com/hooks/${MM_KEY}` }],
        // mattermost bot mode (Apprise `mode=bot`/`b`, or a `team`): the token is the bot's, the channel an id
        [`mmost://mm.example.com/${MM_KEY}?mode=bot&to=${MM_CHANNEL}`, 'mattermost', { server_url: 'http://mm.example.com', bot_token: MM_KEY, channel_id: MM_CHANNEL }],
        // bot mode: the URL's user is the team (Apprise), ?botname= the name; channel names are looked up in the team
        [`mmosts://chester@mm.example.com/sub/${MM_KEY}?mode=b&channel=${MM_CHANNEL}&botname=Relay`, 'mattermost', { server_url: 'https://mm.example.com/sub', bot_token: MM_KEY, team: 'chester', channel_id: MM_CHANNEL, botname: 'Relay' }],
        [`mmost://mm.example.com/${MM_KEY}?to=${MM_CHANNEL}&team=chester`, 'mattermost', { server_url: 'http://mm.example.com', bot_token: MM_KEY, team: 'chester', channel_id: MM_CHANNEL }],
        [`mmost://mm.example.com/${MM_KEY}?to=town-square&team=chester`, 'mattermost', { server_url: 'http://mm.example.com', bot_token: MM_KEY, team: 'chester', channel: 'town-square' }],
        [`mmost://chester@mm.example.com/${MM_KEY}?mode=bot&to=%23Town-Square`, 'mattermost', { server_url: 'http://mm.example.com', bot_token: MM_KEY, team: 'chester', channel: 'town-square' }],
        // webhook mode: ?botname= and ?icon_url= (Apprise)
        [`mmost://mm.example.com/${MM_KEY}?to=general&botname=mybot&icon_url=https://example.com/icon.png`, 'mattermost', { webhook_url: `http://mm.example.com/hooks/${MM_KEY}`, channel: 'general', botname: 'mybot', icon_url: 'https://example.com/icon.png' }],
        [`mmost://mm.example.com/${MM_KEY}?mode=w`, 'mattermost', { webhook_url: `http://mm.example.com/hooks/${MM_KEY}` }],
        // teams workflows (always https, as in Apprise)
        [
            'workflows://prod-161.westeurope.logic.azure.com:443/643e69f83c8944438d68119179a10a64/KODuebWbDGYFr0z0eu-6Rj8aUKz7108W3wrNJZxFE5A',
            'teams', { webhook_url: `https://prod-161.westeurope.logic.azure.com:443${FLOW_PATH}?${FLOW_QUERY}` },
        ],
        [
            'workflow://prod-161.westeurope.logic.azure.com/643e69f83c8944438d68119179a10a64/KODuebWbDGYFr0z0eu-6Rj8aUKz7108W3wrNJZxFE5A/?pa=yes',
            'teams', {
                webhook_url: `https://prod-161.westeurope.logic.azure.com/powerautomate/automations/direct${FLOW_PATH}`
                    + '?api-version=2022-03-01-preview&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=KODuebWbDGYFr0z0eu-6Rj8aUKz7108W3wrNJZxFE5A',
            },
        ],
        [
            'workflows://flows.example.com/?id=abc&sig=def&ver=1',
            'teams', { webhook_url: 'https://flows.example.com/workflows/abc/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=def' },
        ],
        [
            `https://prod-161.westeurope.logic.azure.com:443${FLOW_PATH}?${FLOW_QUERY}`,
            'teams', { webhook_url: `https://prod-161.westeurope.logic.azure.com${FLOW_PATH}?${FLOW_QUERY}` },
        ],
        // zulip: Apprise's examples
        [
            `zulip://goober-bot@apprise.zulipchat.com/${ZULIP_KEY}`,
            'zulip', { site: 'https://apprise.zulipchat.com', bot_email: 'goober-bot@apprise.zulipchat.com', api_key: ZULIP_KEY },
        ],
        [
            `zulip://goober@apprise/${ZULIP_KEY}`,
            'zulip', { site: 'https://apprise.zulipchat.com', bot_email: 'goober-bot@apprise.zulipchat.com', api_key: ZULIP_KEY },
        ],
        [
            `zulip://goober@Apprise/${ZULIP_KEY}/#dev`,
            'zulip', { site: 'https://apprise.zulipchat.com', bot_email: 'goober-bot@apprise.zulipchat.com', api_key: ZULIP_KEY, stream: 'dev' },
        ],
        [
            `zulip://relay@chat.example.org/${ZULIP_KEY}?to=general`,
            'zulip', { site: 'https://chat.example.org', bot_email: 'relay-bot@chat.example.org', api_key: ZULIP_KEY, stream: 'general' },
        ],
        [
            `zulip://relay@team/general?token=${ZULIP_KEY}`,
            'zulip', { site: 'https://team.zulipchat.com', bot_email: 'relay-bot@team.zulipchat.com', api_key: ZULIP_KEY, stream: 'general' },
        ],
    ])('%s', (url, type, raw) => {
        const parsed = targetRegistry.parseTargetUrl(url);
        expect(parsed).toEqual({ type, raw });
        const adapter = targetRegistry.adapterForType(type);
        expect(() => adapter!.parseConfig(parsed.raw)).not.toThrow();
    });
});

describe('parseTargetUrl: invalid chat-ops URLs', () => {
    it.each([
        ['slack://T1/B2', 'url: slack URL: expected slack://{token_a}/{token_b}/{token_c} (webhook) or slack://{xoxb-token}/#channel (bot)'],
        ['slack://T1/B2/C3/#a/ann@example.com', 'url: slack URL: targets: ann@example.com: an e-mail address is looked up with users.lookupByEmail, which needs a bot token'],
        ['slack://T1/B2/C3/#a$b', 'url: slack URL: targets: "#a$b" is not #channel'],
        ['slack://T1JJ3T3L2/XXXXXXXX/YYYYYYYY/?mode=trigger&to=%23a', 'url: slack URL: targets: a trigger posts where the workflow was built to; remove #a'],
        ['slack://xoxb-bad_token/#a', ''],
        ['https://hooks.slack.com/workflows/T1/B2/C3', 'is not a known service URL'],
        ['slack://T1/B2/C3/?mode=invalid', 'url: slack URL: mode: must be hook, bot, workflow or trigger, got "invalid"'],
        ['slack://?token=T1/B2/C3/&to=%23chan&mode=bot', 'url: slack URL: token: bot mode needs an OAuth token'],
        ['slack://T1/X2/?mode=workflow', 'url: slack URL: a Slack workflow URL has exactly 4 path segments'],
        ['slack://T1/X2/Y3/?mode=workflow', 'url: slack URL: a Slack workflow URL has exactly 4 path segments'],
        ['slack://T1/F2/X3/Y4/?mode=trigger', 'url: slack URL: a Slack trigger URL has exactly 3 path segments'],
        ['mmost://mm.example.com/', 'url: mattermost URL: expected mmost://[botname@]host[:port][/path]/{webhook_key}'],
        [`mmost://mm.example.com/${MM_KEY}?mode=bot&to=%23chan`, 'url: mattermost URL: channel: "#chan" is not a channel id (26 letters and digits, under the channel\'s View Info); a channel name needs the team it is in'],
        [`mmost://team@mm.example.com/${MM_KEY}?mode=bot&channel=$!garbag3^`, 'url: mattermost URL: channel: "$!garbag3^" is neither a channel id (26 letters and digits) nor a channel name'],
        [`mmost://mm.example.com/${MM_KEY}?mode=invalid`, 'url: mattermost URL: mode: must be webhook or bot, got "invalid"'],
        [`mmost://mm.example.com/${MM_KEY}?mode=bot&to=town-square`, 'url: mattermost URL: channel: "town-square" is not a channel id'],
        ['workflows://flows.example.com/onlyone', 'url: teams URL: expected workflows://host[:port]/{workflow}/{signature}'],
        ['workflows://flows.example.com/a/b!c', 'url: teams URL: signature: must be the sig value of the flow URL'],
        ['zulip://apprise/key', 'url: zulip URL: botname: expected zulip://{botname}@{organization}/{token}'],
        ['zulip://bot@apprise/', 'url: zulip URL: token: is missing'],
        ['zulip://bot@apprise/key/a/b', 'url: zulip URL: token: must be the 32-character API key'],
    ])('%s', (url, message) => {
        let thrown: unknown;
        try {
            const parsed = targetRegistry.parseTargetUrl(url);
            // A URL the grammar accepts may still hold a bad value: the adapter refuses it.
            targetRegistry.adapterForType(parsed.type)!.parseConfig(parsed.raw);
        } catch (error) {
            thrown = error;
        }
        expect(thrown).toBeInstanceOf(ConfigError);
        expect((thrown as ConfigError).message).toContain(message);
    });

    it('several Mattermost channels are several destinations of one instance', () => {
        expect(targetRegistry.parseTargetUrl(`mmost://chester@mm.example.com/${MM_KEY}?mode=bot&to=${MM_CHANNEL},%23dev`)).toEqual({
            type: 'mattermost',
            raw: { server_url: 'http://mm.example.com', bot_token: MM_KEY, team: 'chester' },
            destinations: [{ channel_id: MM_CHANNEL }, { channel: 'dev' }],
        });
        expect(targetRegistry.parseTargetUrl(`mmost://mm.example.com/${MM_KEY}?channel=a,b`).destinations).toEqual([{ channel: 'a' }, { channel: 'b' }]);
    });

    it('several Slack channels are several destinations of one instance', () => {
        expect(targetRegistry.parseTargetUrl('slack://notify@T1/B2/C3/+124:100/@chan?to=ann')).toEqual({
            type: 'slack',
            raw: { webhook_url: 'https://hooks.slack.com/services/T1/B2/C3', botname: 'notify' },
            destinations: [{ channel: '+124:100' }, { channel: '@chan' }, { channel: 'ann' }],
        });
    });

    it('a bad bot token from the URL is named', () => {
        const parsed = targetRegistry.parseTargetUrl('slack://xoxb-bad_token/#a');
        expect(() => targetRegistry.adapterForType('slack')!.parseConfig(parsed.raw)).toThrow('bot_token: must be a Slack OAuth token');
    });
});

describe('target registry: chat-ops adapters', () => {
    it.each([['slack'], ['mattermost'], ['teams'], ['zulip']])('adapterForType(%s)', (type) => {
        expect(targetRegistry.adapterForType(type)!.type).toBe(type);
    });
});
