// Mattermost through an incoming webhook: `POST https://host/hooks/{key}` with
// `{text, channel?, username, icon_url?, props}`. The name and avatar show when the server allows
// integrations to override them (System Console → Integrations); otherwise the webhook's own name
// shows. `props.from_relay_bridge` marks our posts so Mattermost-side bridges can skip them.
//
// The webhook answers a plain `ok` without a post id, so nothing can be edited, deleted or
// replied to: all three capabilities are false.
//
// Apprise URLs: mmost://[botname@]host[:port][/path]/{key} (http), mmosts:// (https), `?channel=`
// or `?to=` for the channel; also the https://host/hooks/{key} URL Mattermost shows.

import { ConfigError } from '../core/errors';
import type { HttpResult, OutboundRequest } from '../core/http';
import { parseJsonBody } from '../core/http';
import { neutraliseMentions, splitText, toCommonMark } from '../core/text';
import {
    decodeUrlPart, isSuccessStatus, optionalString, originOf, pathSegments, queryValue, requireHttpUrl, responseError, singleUrlChannel,
} from './common';
import type { NativeUrlAdapter } from './url';
import type { DeliveryInput, TargetAdapter } from './types';

export interface MattermostConfig {
    /** `http(s)://host[/path]/hooks/{key}`; self-hosted servers may run plain http, as Apprise's mmost:// does. */
    webhookUrl: string;
    /** Default channel (name, without `~`/`#`); the rule channel's `channel` wins. */
    channel?: string;
    /** Username when the message has no alias (Apprise `botname`). */
    botname?: string;
    /** Icon when the message has no avatar. */
    iconUrl?: string;
}

const MAX_TEXT = 16383; // Mattermost's post size limit (characters)
const HOOK_PATH = /\/hooks\/([A-Za-z0-9_-]+)$/;
// Mattermost ids are 26 lower-case letters and digits.
const NATIVE_HOOK_PATH = /^(?:\/[^?#]*)?\/hooks\/[a-z0-9]{26}\/?$/;

/** `town-square`, `#town-square` and `~town-square` all name the channel `town-square`. */
function channelName(name: string): string {
    return name.replace(/^[#~]/, '');
}

function parseConfig(raw: Record<string, unknown>): MattermostConfig {
    const webhookUrl = requireHttpUrl(raw, 'webhook_url', 'the incoming webhook URL, https://host/hooks/{key}');
    if (!HOOK_PATH.test(webhookUrl.replace(/[?#].*$/, ''))) {
        throw new ConfigError('webhook_url', 'must end in /hooks/{key}, like https://mattermost.example.com/hooks/xxxxxxxx');
    }
    const iconUrl = optionalString(raw, 'icon_url');
    if (iconUrl !== undefined && !/^https?:\/\//i.test(iconUrl)) {
        throw new ConfigError('icon_url', 'must be an http(s) URL');
    }
    const channel = optionalString(raw, 'channel');
    return {
        webhookUrl,
        channel: channel === undefined ? undefined : channelName(channel),
        botname: optionalString(raw, 'botname'),
        iconUrl,
    };
}

function acceptsNativeUrl(url: URL): boolean {
    return NATIVE_HOOK_PATH.test(url.pathname);
}

/**
 * mmost(s)://[botname@]host[:port][/path]/{key}[?channel=…]: the last path segment is the key,
 * the segments before it the server's sub-path. Also https://host/hooks/{key}.
 */
function fromUrl(url: URL): Record<string, unknown> {
    if (url.protocol === 'https:' || url.protocol === 'http:') {
        return { webhook_url: `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}` };
    }
    if (!url.hostname) {
        throw new ConfigError('host', 'is missing (mmost://host/{key})');
    }
    const segments = pathSegments(url);
    const key = segments.pop();
    if (!key) {
        throw new ConfigError('', 'expected mmost://[botname@]host[:port][/path]/{webhook_key}');
    }
    const protocol = url.protocol === 'mmosts:' ? 'https' : 'http';
    const path = segments.map((segment) => `/${encodeURIComponent(segment)}`).join('');
    const raw: Record<string, unknown> = { webhook_url: `${protocol}://${url.host}${path}/hooks/${encodeURIComponent(key)}` };
    const channel = singleUrlChannel((queryValue(url, 'channel', 'channels', 'to') || '').split(/[\s,]+/).filter((name) => name), 'channel');
    if (channel) {
        raw.channel = channel;
    }
    if (url.username) {
        raw.botname = decodeUrlPart(url.username);
    }
    return raw;
}

// ---------------------------------------------------------------------------------------------
// Requests

function mattermostText(input: DeliveryInput<MattermostConfig>): string {
    const text = neutraliseMentions(toCommonMark(input.rendered.text));
    const links = input.files.map((file) => `[${file.name.replace(/[[\]]/g, '')}](${file.url})`);
    return [text].concat(links).filter((line) => line.trim().length > 0).join('\n');
}

function buildRequests(input: DeliveryInput<MattermostConfig>): OutboundRequest[] {
    const { config, message, rendered } = input;
    if (message.event !== 'sent') {
        return []; // no post ids: nothing to edit or delete
    }
    const channel = input.channel.channel ? channelName(input.channel.channel) : config.channel;
    const username = rendered.alias || config.botname;
    const iconUrl = rendered.avatarUrl || config.iconUrl;
    return splitText(mattermostText(input), MAX_TEXT).map((text) => {
        const payload: Record<string, unknown> = { text };
        if (channel) {
            payload.channel = channel;
        }
        if (username) {
            payload.username = username;
        }
        if (iconUrl) {
            payload.icon_url = iconUrl;
        }
        payload.props = { from_relay_bridge: true, relay_message_id: message.id, relay_room: message.room.name };
        return { method: 'POST' as const, url: config.webhookUrl, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload) };
    });
}

function readResponse(_input: DeliveryInput<MattermostConfig>, _request: OutboundRequest, response: HttpResult): { remoteId?: string } {
    if (isSuccessStatus(response.status)) {
        return {}; // a plain `ok`
    }
    // Mattermost's app errors: `{id, message, detailed_error, request_id, status_code}`.
    const body = parseJsonBody(response);
    const detail = body && typeof body.message === 'string'
        ? `${body.message}${typeof body.id === 'string' ? ` [${body.id}]` : ''}`
        : undefined;
    throw responseError('Mattermost', response, detail);
}

export const mattermostTarget: TargetAdapter<MattermostConfig> & NativeUrlAdapter = {
    type: 'mattermost',
    schemes: ['mmost', 'mmosts'],
    capabilities: { edit: false, delete: false, threads: false, upload: false, identity: 'native' },
    limits: { maxTextLength: MAX_TEXT },
    parseConfig,
    endpoints: (config) => [config.webhookUrl],
    fromUrl,
    acceptsNativeUrl,
    describe: (config) => `mattermost webhook ${originOf(config.webhookUrl)}${config.channel ? ` ~${config.channel}` : ''}`,
    buildRequests,
    readResponse,
};
