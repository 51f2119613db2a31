// Microsoft Teams through a Workflows (Power Automate) webhook: "Post to a channel when a webhook
// request is received". The flow URL takes `{type: "message", attachments: [Adaptive Card]}` and
// answers 202 without a message id, so nothing can be edited, deleted or replied to.
//
// Identity: a flow posts as the flow's owner, so the card carries the sender: a header row with
// the avatar (round, `style: Person`) and the name in bold, then the text, then files as links.
//
// Apprise URLs: workflow(s)://host[:port]/{workflow}/{signature}[?pa=yes&ver=…] (always https, as in
// Apprise), and the https flow URL itself (…/workflows/{id}/triggers/manual/paths/invoke?…&sig=…).

import { ConfigError } from '../core/errors';
import type { HttpResult, OutboundRequest } from '../core/http';
import { parseJsonBody } from '../core/http';
import { neutraliseMentions, splitText, toCommonMark } from '../core/text';
import { fileMarkdown, isSuccessStatus, optionalBoolean, originOf, pathSegments, queryValue, responseError } from './common';
import { requireSecureUrl } from './slack';
import type { DeliveryInput, TargetAdapter } from '../core/adapter';

export interface TeamsConfig {
    /** The flow's HTTP trigger URL, query (api-version, sp, sv, sig) included. */
    webhookUrl: string;
}

// Teams refuses messages over ~28 KB; 8000 characters stay under it even at 3 bytes each.
const MAX_TEXT = 8000;
const CARD_SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json';
const CARD_VERSION = '1.4';
// Apprise's defaults: the Logic Apps trigger API, or Power Automate's with `pa=yes`.
const WORKFLOW_API_VERSION = '2016-06-01';
const POWER_AUTOMATE_API_VERSION = '2022-03-01-preview';
const NATIVE_PATH = /^(?:\/powerautomate\/automations\/direct)?\/workflows\/[A-Za-z0-9_-]+\/triggers\/manual\/paths\/invoke\/?$/i;
const TOKEN = /^[A-Za-z0-9_-]+$/;

function parseConfig(raw: Record<string, unknown>): TeamsConfig {
    return { webhookUrl: requireSecureUrl(raw, 'webhook_url', 'the Workflows flow URL, https://…/workflows/…/paths/invoke?…&sig=…') };
}

function acceptsNativeUrl(url: URL): boolean {
    return url.protocol === 'https:' && NATIVE_PATH.test(url.pathname) && /[?&]sig=/.test(url.search);
}

/**
 * workflow(s)://host[:port]/{workflow}/{signature}: `?id=`/`?workflow=` and `?sig=`/`?signature=`
 * may stand in for the path parts, `?pa=yes` selects the Power Automate path and API version,
 * `?ver=`/`?api-version=` overrides the API version.
 */
function fromUrl(url: URL): Record<string, unknown> {
    if (url.protocol === 'https:') {
        return { webhook_url: `https://${url.host}${url.pathname}${url.search}` };
    }
    if (!url.hostname) {
        throw new ConfigError('host', 'is missing (workflows://host/{workflow}/{signature})');
    }
    const segments = pathSegments(url);
    const workflow = queryValue(url, 'workflow', 'id') || segments.shift();
    const signature = queryValue(url, 'signature', 'sig') || segments.shift();
    if (!workflow || !signature) {
        throw new ConfigError('', 'expected workflows://host[:port]/{workflow}/{signature}');
    }
    if (!TOKEN.test(workflow)) {
        throw new ConfigError('workflow', 'must be the workflow id (letters, digits, - and _)');
    }
    if (!TOKEN.test(signature)) {
        throw new ConfigError('signature', 'must be the sig value of the flow URL (letters, digits, - and _)');
    }
    const powerAutomate = optionalBoolean({ pa: queryValue(url, 'pa', 'powerautomate') }, 'pa') === true;
    const version = queryValue(url, 'ver', 'api-version') || (powerAutomate ? POWER_AUTOMATE_API_VERSION : WORKFLOW_API_VERSION);
    const path = `${powerAutomate ? '/powerautomate/automations/direct' : ''}/workflows/${workflow}/triggers/manual/paths/invoke`;
    const query = `api-version=${encodeURIComponent(version)}&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${signature}`;
    return { webhook_url: `https://${url.host}${path}?${query}` };
}

// ---------------------------------------------------------------------------------------------
// Requests

function header(input: DeliveryInput<TeamsConfig>): Record<string, unknown> {
    const { alias, avatarUrl } = input.rendered;
    const columns: Array<Record<string, unknown>> = [];
    if (avatarUrl) {
        columns.push({ type: 'Column', width: 'auto', items: [{ type: 'Image', url: avatarUrl, style: 'Person', size: 'Small', altText: alias }] });
    }
    columns.push({
        type: 'Column', width: 'stretch', verticalContentAlignment: 'Center',
        items: [{ type: 'TextBlock', text: alias, weight: 'Bolder', wrap: true }],
    });
    return { type: 'ColumnSet', columns };
}

function card(body: Array<Record<string, unknown>>): Record<string, unknown> {
    return {
        type: 'message',
        attachments: [{
            contentType: 'application/vnd.microsoft.card.adaptive',
            contentUrl: null,
            content: { $schema: CARD_SCHEMA, type: 'AdaptiveCard', version: CARD_VERSION, body },
        }],
    };
}

/** One card per text part, each with the sender's header; file links go on the last. */
function buildRequests(input: DeliveryInput<TeamsConfig>): OutboundRequest[] {
    if (input.message.event !== 'sent') {
        return []; // no message ids: nothing to edit or delete
    }
    // TextBlocks render a markdown subset: **bold**, *italic*, [label](url), lists.
    const chunks = splitText(neutraliseMentions(toCommonMark(input.rendered.text)), MAX_TEXT);
    const links = input.files.map((file) => ({ type: 'TextBlock', text: fileMarkdown(file), wrap: true }));
    if (chunks.length === 0 && links.length === 0) {
        return [];
    }
    const parts: Array<Array<Record<string, unknown>>> = chunks.map((text) => [header(input), { type: 'TextBlock', text, wrap: true }]);
    if (parts.length === 0) {
        parts.push([header(input)]);
    }
    links.forEach((link) => parts[parts.length - 1].push(link));
    return parts.map((body) => ({
        method: 'POST' as const,
        url: input.config.webhookUrl,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(card(body)),
    }));
}

function readResponse(_input: DeliveryInput<TeamsConfig>, _request: OutboundRequest, response: HttpResult): { remoteId?: string } {
    if (isSuccessStatus(response.status)) {
        return {}; // 202 Accepted, empty body
    }
    // Logic Apps / Power Automate errors: `{error: {code, message}}`.
    const body = parseJsonBody(response);
    const error = body && body.error && typeof body.error === 'object' ? body.error : undefined;
    const detail = error && typeof error.message === 'string'
        ? `${error.message}${typeof error.code === 'string' ? ` [${error.code}]` : ''}`
        : undefined;
    throw responseError('Teams workflow', response, detail);
}

export const teamsTarget: TargetAdapter<TeamsConfig> = {
    type: 'teams',
    schemes: ['workflow', 'workflows'],
    templates: 'webhook',
    capabilities: () => ({ edit: false, delete: false, threads: false, upload: false }),
    docs: {
        files: 'link',
        filesHow: 'a Workflows webhook takes a card, not files',
        rows: [
            {
                target: 'Microsoft Teams (Workflows)',
                instance: '`workflow(s)://host[:port]/{workflow}/{signature}[?pa=yes]`, the flow\'s https URL, or `{ "type": "teams", "webhook_url": … }`',
                identity: 'Adaptive Card header: round avatar + bold name',
                notes: 'one card per 8000 chars, files as links; answers 202 without ids, so no edits, deletes or threads',
            },
        ],
    },
    parseConfig,
    endpoints: (config) => [config.webhookUrl],
    fromUrl: (url) => ({ config: fromUrl(url) }),
    acceptsNativeUrl,
    // The signature is the secret: only the host is shown.
    describe: (config) => `teams workflow ${originOf(config.webhookUrl)}`,
    buildRequests,
    readResponse,
};
