// Apprise compatibility (issue 16): every case of Apprise's own URL tables (fixtures/apprise-url-
// cases.json, a copy of ../shared/reference/apprise-url-cases.json; its vocabulary is described
// in apprise-url-cases.md there) goes through our URL parsing (registry + the adapter's
// parseConfig), and what we understood is written in Apprise's vocabulary and compared with
// what Apprise itself understood. A case agrees when both refuse it, or both accept it with the
// same meaning; a case Apprise accepts but its table marks unusable (no topic, no chat) also
// agrees when we refuse it. Cases with a `twin` are judged on the twin (a realistic value where
// the table uses a placeholder no service issues).
//
// Every disagreement must be listed, with its reason, in the README's "Apprise URLs" section,
// and every listed case must still disagree: the list cannot drift from the code.

import { readFileSync } from 'fs';
import { join } from 'path';

import { ConfigError } from '../../../src/core/errors';
import { targetRegistry } from '../../../src/targets/index';

interface AppriseVerdict {
    valid: boolean;
    plugin?: string;
    meaning?: Record<string, unknown>;
    error?: string;
}

interface AppriseCase {
    id: string;
    family: string;
    url: string;
    apprise: AppriseVerdict;
    unusable?: string;
    twin?: { url: string; apprise: AppriseVerdict };
}

/** Agreement reached; the test fails when it drops (raise it when it rises). */
const AGREED_AT_LEAST = 356;

const CASES: AppriseCase[] = JSON.parse(readFileSync(join(__dirname, 'fixtures/apprise-url-cases.json'), 'utf8')).cases;

/** Our adapter type per Apprise family. */
const TYPE_OF_FAMILY: Record<string, string> = {
    rocket: 'rocketchat', discord: 'discord', slack: 'slack', mmost: 'mattermost', matrix: 'matrix',
    tgram: 'telegram', zulip: 'zulip', ntfy: 'ntfy', gotify: 'gotify', workflow: 'teams', json: 'webhook',
};

type Meaning = Record<string, unknown>;
type Config = Record<string, any>;
type Destination = Record<string, string>;

interface Understood {
    raw: Record<string, unknown>;
    config: Config;
    /** The destinations the URL names (one is merged into raw, so it is taken from there). */
    destinations: Destination[];
}

const orNull = (value: unknown) => (value === undefined || value === '' ? null : value);

function urlParts(url: string | undefined): URL | undefined {
    try {
        return url ? new URL(url) : undefined;
    } catch {
        return undefined;
    }
}

function basicAuth(headers: Record<string, string> | undefined): string | null {
    const header = headers && headers.Authorization;
    const match = header ? /^Basic (.+)$/.exec(header) : null;
    return match ? Buffer.from(match[1], 'base64').toString('utf8') : null;
}

/** Our understanding of a URL in Apprise's vocabulary, per family. */
const MEANING: Record<string, (u: Understood) => Meaning> = {
    rocket({ config, destinations }) {
        const targets = destinations.map((d) => d.channel || d.room_id);
        if (config.sendMethod === 'webhook') {
            const hook = urlParts(config.webhookUrl) as URL;
            return {
                mode: 'webhook', server: hook.origin, webhook: hook.pathname.replace(/^\/hooks\//, ''),
                targets, avatar: config.impersonate,
            };
        }
        const token = config.auth.kind === 'token';
        return {
            mode: token ? 'token' : 'basic', server: config.serverUrl,
            user: token ? config.auth.userId : config.auth.username, secret: token ? config.auth.authToken : config.auth.password,
            targets, avatar: config.impersonate,
        };
    },
    discord({ config }) {
        const segments = (urlParts(config.webhookUrl) as URL).pathname.split('/');
        return {
            webhook_id: config.webhookId, webhook_token: segments[segments.length - 1], botname: orNull(config.botname),
            thread_id: orNull(config.threadId), avatar_url: orNull(config.avatarUrl),
        };
    },
    slack({ config, destinations }) {
        const channels = destinations.map((d) => (d.channel || d.channel_id || '').replace(/^[#+]/, ''));
        if (config.mode === 'api') {
            return { mode: 'bot', botname: orNull(config.botname), token: config.botToken, channels };
        }
        const hook = urlParts(config.webhookUrl) as URL;
        const gov = config.mode === 'webhook' && /slack-gov/.test(hook.hostname);
        return {
            mode: config.mode === 'webhook' ? (gov ? 'gov-hook' : 'hook') : config.mode, botname: orNull(config.botname),
            token: hook.pathname.replace(/^\/(services|workflows|triggers)\//, ''),
            channels,
        };
    },
    mmost({ config, destinations }) {
        const hook = urlParts(config.webhookUrl);
        const channels = destinations.map((d) => d.channel || d.channel_id);
        if (config.mode === 'bot') {
            // Apprise's bot mode has no bot name (its URL user is the team).
            return { mode: 'bot', server: config.serverUrl, token: config.botToken, channels, icon_url: orNull(config.iconUrl) };
        }
        const path = (hook as URL).pathname;
        return {
            mode: 'webhook', server: `${(hook as URL).origin}${path.slice(0, path.lastIndexOf('/hooks/'))}`,
            token: path.slice(path.lastIndexOf('/') + 1), channels, icon_url: orNull(config.iconUrl), botname: orNull(config.botname),
        };
    },
    matrix({ config, destinations }) {
        if (config.mode === 't2bot') {
            return { mode: 't2bot', auth: `webhook:${(urlParts(config.webhookUrl) as URL).pathname.split('/').pop()}` };
        }
        if (config.mode !== 'client') {
            const hook = urlParts(config.webhookUrl) as URL;
            const token = hook.pathname.split('/').pop();
            return { mode: config.mode, server: hook.origin, auth: config.botname ? `login:${config.botname}:${token}` : `token:${token}`, rooms: [], msgtype: 'text' };
        }
        const auth = config.auth.kind === 'token' ? `token:${config.auth.accessToken}` : `login:${config.auth.user}:${config.auth.password}`;
        return {
            mode: 'off', server: config.homeserver, auth,
            rooms: destinations.map((d) => d.room_id), msgtype: config.msgtype === 'm.notice' ? 'notice' : 'text',
        };
    },
    tgram({ raw, config, destinations }) {
        const meaning: Meaning = {
            bot_token: config.botToken,
            targets: destinations.map((d) => `${d.chat_id}${d.message_thread_id ? `:${d.message_thread_id}` : ''}`),
            silent: config.silent,
        };
        // Apprise names `preview` only when the URL sets it.
        if (raw.link_preview !== undefined) {
            meaning.preview = config.linkPreview;
        }
        return meaning;
    },
    zulip({ config, destinations }) {
        const host = (urlParts(config.site) as URL).host;
        return {
            site: config.site, botname: config.botEmail.replace(/-bot@.*$/, '').replace(`@${host}`, ''), token: config.apiKey,
            targets: (destinations.length ? destinations : [{ stream: config.stream, to: config.to }]).map((d) => (d.to ? `dm:${d.to}` : d.stream)),
        };
    },
    ntfy({ config, destinations }) {
        const auth = config.authorization as string | undefined;
        let appriseAuth: string | null = null;
        if (auth && /^Bearer /.test(auth)) {
            appriseAuth = `token:${auth.slice(7)}`;
        } else if (auth && /^Basic /.test(auth)) {
            appriseAuth = `basic:${Buffer.from(auth.slice(6), 'base64').toString('utf8')}`;
        }
        return {
            server: config.server === 'https://ntfy.sh' ? 'ntfy.sh' : config.server,
            topics: destinations.map((d) => d.topic), auth: appriseAuth, priority: config.priority || 'default',
            tags: config.tags ? String(config.tags).split(/\s*,\s*/) : [],
        };
    },
    gotify({ config }) {
        return { server: config.server, token: config.appToken, priority: config.priority };
    },
    workflow({ config }) {
        const hook = urlParts(config.webhookUrl) as URL;
        const workflow = /\/workflows\/([^/]+)\//.exec(hook.pathname);
        return {
            host: hook.hostname, workflow: workflow ? workflow[1] : null, signature: hook.searchParams.get('sig'),
            api_version: hook.searchParams.get('api-version'), power_automate: /^\/powerautomate\//.test(hook.pathname),
        };
    },
    json({ config }) {
        const target = urlParts(config.url) as URL;
        const headers: Record<string, string> = {};
        Object.keys(config.headers).filter((name) => name !== 'Authorization').forEach((name) => { headers[name] = config.headers[name]; });
        const params: Record<string, string> = {};
        target.searchParams.forEach((value, key) => { params[key] = value; });
        return {
            server: target.origin, path: target.pathname, method: config.method, headers, auth: basicAuth(config.headers), params,
        };
    },
};

/** Lists compare as sets (Apprise sorts its targets); everything else exactly. */
function normalise(meaning: Meaning): Meaning {
    const out: Meaning = {};
    Object.keys(meaning).sort().forEach((key) => {
        const value = meaning[key];
        out[key] = Array.isArray(value) ? value.map(String).sort() : value;
    });
    return out;
}

interface Outcome {
    id: string;
    url: string;
    agree: boolean;
    ours: string;
    theirs: string;
}

/** Destinations the adapter put into the instance itself (one URL destination is merged there). */
function mergedDestination(type: string, raw: Record<string, unknown>): Destination[] {
    const keys: Record<string, string[]> = {
        rocketchat: ['channel', 'room_id'], slack: ['channel', 'channel_id'], mattermost: ['channel', 'channel_id'], matrix: ['room_id'],
        telegram: ['chat_id', 'message_thread_id'], zulip: ['stream', 'to', 'topic'], ntfy: ['topic'],
    };
    const destination: Destination = {};
    (keys[type] || []).forEach((key) => {
        if (typeof raw[key] === 'string') {
            destination[key] = raw[key] as string;
        }
    });
    return Object.keys(destination).length ? [destination] : [];
}

function judge(testCase: AppriseCase): Outcome {
    const url = testCase.twin ? testCase.twin.url : testCase.url;
    const apprise = testCase.twin ? testCase.twin.apprise : testCase.apprise;
    let understood: Understood | undefined;
    let refusal = '';
    try {
        const parsed = targetRegistry.parseTargetUrl(url);
        if (parsed.type !== TYPE_OF_FAMILY[testCase.family]) {
            throw new ConfigError('url', `taken by the ${parsed.type} adapter`);
        }
        const adapter = targetRegistry.adapterForType(parsed.type)!;
        const config = adapter.parseConfig(parsed.raw);
        understood = { raw: parsed.raw, config, destinations: parsed.destinations || mergedDestination(parsed.type, parsed.raw) };
    } catch (error) {
        if (!(error instanceof ConfigError)) {
            throw error;
        }
        refusal = error.message;
    }
    const theirs = apprise.valid ? JSON.stringify(normalise(apprise.meaning || {})) : `invalid: ${apprise.error}`;
    if (!understood) {
        return { id: testCase.id, url, agree: !apprise.valid || testCase.unusable !== undefined, ours: `invalid: ${refusal}`, theirs };
    }
    const ours = JSON.stringify(normalise(MEANING[testCase.family](understood)));
    return { id: testCase.id, url, agree: apprise.valid && ours === theirs, ours, theirs };
}

/** The case ids the README lists as deliberate disagreements (`| id | URL | why |` rows). */
function deliberate(): Map<string, string> {
    const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
    const start = readme.indexOf('| Apprise case | URL | why we differ |');
    const listed = new Map<string, string>();
    if (start < 0) {
        return listed;
    }
    for (const line of readme.slice(start).split('\n').slice(2)) {
        const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim());
        if (cells.length < 4) {
            break;
        }
        cells[1].split(',').map((id) => id.trim().replace(/`/g, '')).forEach((id) => listed.set(id, cells[3]));
    }
    return listed;
}

describe('Apprise URL cases (issue 16)', () => {
    const outcomes = CASES.map(judge);
    const agreed = outcomes.filter((outcome) => outcome.agree).length;

    it(`agree with Apprise in at least ${AGREED_AT_LEAST} of ${CASES.length} cases`, () => {
        // eslint-disable-next-line no-console
        console.log(`${agreed}/${CASES.length} agree`);
        expect(CASES.length).toBe(366);
        expect(agreed).toBeGreaterThanOrEqual(AGREED_AT_LEAST);
    });

    it('lists every disagreement, and only disagreements, in the README with a reason', () => {
        const listed = deliberate();
        const disagreeing = outcomes.filter((outcome) => !outcome.agree);
        const unlisted = disagreeing.filter((outcome) => !listed.has(outcome.id))
            .map((outcome) => `${outcome.id} ${outcome.url}\n    ours:    ${outcome.ours}\n    Apprise: ${outcome.theirs}`);
        expect(unlisted).toEqual([]);
        const agreeingButListed = outcomes.filter((outcome) => outcome.agree && listed.has(outcome.id)).map((outcome) => outcome.id);
        expect(agreeingButListed).toEqual([]);
        listed.forEach((reason, id) => expect(`${id}: ${reason}`).toMatch(/: \S.{10,}/));
    });
});
