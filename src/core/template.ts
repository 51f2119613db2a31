// `{var}` templates for the rule `msg` block (NextBridge's msg_format, rc_alias, webhook_title…).
// Compiled once when the configuration is parsed, so a typo is a config error with its path and
// rendering a message is a plain loop over pre-split parts.
//
// Syntax follows Python's str.format as NextBridge uses it: `{name}` is a variable, `{{` and `}}`
// are literal braces, any other `{` or `}` is an error (NextBridge would fail at send time).

import { ConfigError } from './errors';
import { messageUrl, RelayMessage } from './message';
import type { RenderedMessage, TemplateFamily } from './adapter';

/** NextBridge's variables first (same meaning), then ours. */
export const TEMPLATE_VARIABLES = [
    'platform',
    'instance_id',
    'from',
    'user',
    'nickname',
    'username',
    'user_id',
    'user_avatar',
    'msg',
    'time',
    'room',
    'room_id',
    'message_id',
    'thread_id',
    'site_url',
    'message_url',
] as const;

export type TemplateVarName = typeof TEMPLATE_VARIABLES[number];

export type TemplateVars = Record<TemplateVarName, string>;

export interface Template {
    readonly source: string;
    /** Literal text around the variables: always `names.length + 1` entries. */
    readonly literals: readonly string[];
    readonly names: readonly TemplateVarName[];
}

const KNOWN_VARIABLES: { [name: string]: true } = {};
for (const name of TEMPLATE_VARIABLES) {
    KNOWN_VARIABLES[name] = true;
}

export function isTemplateVariable(name: string): name is TemplateVarName {
    return KNOWN_VARIABLES.hasOwnProperty(name);
}

/** Parses `source`; `path` names the config key in errors (e.g. `rules[0].msg.rc_alias`). */
export function compileTemplate(source: string, path: string): Template {
    const literals: string[] = [];
    const names: TemplateVarName[] = [];
    let literal = '';
    let i = 0;
    while (i < source.length) {
        const ch = source[i];
        if (ch === '{' && source[i + 1] === '{') {
            literal += '{';
            i += 2;
        } else if (ch === '}' && source[i + 1] === '}') {
            literal += '}';
            i += 2;
        } else if (ch === '{') {
            const close = source.indexOf('}', i + 1);
            const nextOpen = source.indexOf('{', i + 1);
            if (close < 0 || (nextOpen >= 0 && nextOpen < close)) {
                throw new ConfigError(path, `unmatched "{" at character ${i + 1}; write "{{" for a literal brace`);
            }
            const name = source.slice(i + 1, close);
            if (!isTemplateVariable(name)) {
                throw new ConfigError(path, unknownVariableProblem(name));
            }
            literals.push(literal);
            names.push(name);
            literal = '';
            i = close + 1;
        } else if (ch === '}') {
            throw new ConfigError(path, `unmatched "}" at character ${i + 1}; write "}}" for a literal brace`);
        } else {
            literal += ch;
            i += 1;
        }
    }
    literals.push(literal);
    return { source, literals, names };
}

function unknownVariableProblem(name: string): string {
    const suggestion = closestMatch(name, TEMPLATE_VARIABLES);
    const hint = suggestion ? ` (did you mean {${suggestion}}?)` : '';
    const known = TEMPLATE_VARIABLES.map((known) => `{${known}}`).join(' ');
    return `unknown template variable {${name}}${hint}; known: ${known}`;
}

export function renderTemplate(template: Template, vars: TemplateVars): string {
    const { literals, names } = template;
    let out = literals[0];
    for (let i = 0; i < names.length; i++) {
        out += vars[names[i]] + literals[i + 1];
    }
    return out;
}

/** Builds the variables for one message; `source` is the instance it came from. */
export function templateVarsFor(message: RelayMessage, source: { instance: string; platform: string }): TemplateVars {
    const sender = message.sender;
    // An alias set on the message (by another integration) is the name people see in the room.
    const displayName = message.alias || sender.displayName || sender.username;
    // NextBridge renders {username} as `@name`, falling back to the user id.
    const username = sender.username ? (sender.username.charAt(0) === '@' ? sender.username : `@${sender.username}`) : sender.id;
    return {
        platform: source.platform,
        instance_id: source.instance,
        from: source.instance,
        user: displayName,
        nickname: displayName,
        username,
        user_id: sender.id,
        user_avatar: sender.avatarUrl,
        msg: message.text,
        time: message.timestamp,
        room: message.room.name,
        room_id: message.room.id,
        message_id: message.id,
        thread_id: message.threadId || '',
        site_url: message.siteUrl,
        message_url: messageUrl(message),
    };
}

/** A rule's `msg` block after compilation; absent keys fall back as `renderMessage` documents. */
export interface MessageTemplates {
    msg_format: Template;
    /** NextBridge: used instead of msg_format when sending through a webhook (every external target here). */
    webhook_msg_format?: Template;
    alias?: Template;
    avatar?: Template;
    emoji?: Template;
    rc_alias?: Template;
    rc_avatar?: Template;
    webhook_title?: Template;
    webhook_avatar?: Template;
}

const DEFAULT_ALIAS = compileTemplate('{user}', 'default alias');
const DEFAULT_AVATAR = compileTemplate('{user_avatar}', 'default avatar');

/**
 * Applies the templates for one target. Rocket.Chat targets (this server or a remote one) read
 * `rc_alias`/`rc_avatar`, other targets `webhook_title`/`webhook_avatar`; both fall back to the
 * neutral `alias`/`avatar`, then to the sender's name and avatar. Avatars that are not https are
 * dropped (targets reject them) unless http, kept apart for targets that copy avatars; `emoji` is only passed to Rocket.Chat targets.
 */
export function renderMessage(templates: MessageTemplates, vars: TemplateVars, target: { templates: TemplateFamily; local: boolean }): RenderedMessage {
    const rocketChat = target.templates === 'rocketchat';
    const textTemplate = !target.local && templates.webhook_msg_format ? templates.webhook_msg_format : templates.msg_format;
    const aliasTemplate = (rocketChat ? templates.rc_alias : templates.webhook_title) || templates.alias || DEFAULT_ALIAS;
    const avatarTemplate = (rocketChat ? templates.rc_avatar : templates.webhook_avatar) || templates.avatar || DEFAULT_AVATAR;
    const alias = renderTemplate(aliasTemplate, vars).trim() || vars.user || vars.user_id;
    const avatar = renderTemplate(avatarTemplate, vars).trim();
    const rendered: RenderedMessage = { text: renderTemplate(textTemplate, vars), alias };
    if (avatar.indexOf('https://') === 0) {
        rendered.avatarUrl = avatar;
    } else if (avatar.indexOf('http://') === 0) {
        rendered.httpAvatarUrl = avatar;
    }
    if (rocketChat && templates.emoji) {
        const emoji = renderTemplate(templates.emoji, vars).trim();
        if (emoji) {
            rendered.emoji = emoji;
        }
    }
    return rendered;
}

/** The candidate within edit distance 2 (or a third of the word) of `word`, for "did you mean". */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
    const lower = word.toLowerCase();
    const limit = Math.max(1, Math.min(2, Math.floor(lower.length / 3)));
    let best: string | undefined;
    let bestDistance = limit + 1;
    for (const candidate of candidates) {
        const distance = editDistance(lower, candidate.toLowerCase());
        if (distance < bestDistance) {
            best = candidate;
            bestDistance = distance;
        }
    }
    return best;
}

/** Optimal string alignment distance (Levenshtein plus adjacent swaps: `alais` → `alias` is 1). */
function editDistance(a: string, b: string): number {
    const rows: number[][] = [];
    for (let i = 0; i <= a.length; i++) {
        rows.push([i]);
    }
    for (let j = 1; j <= b.length; j++) {
        rows[0][j] = j;
    }
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            let distance = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
                distance = Math.min(distance, rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = distance;
        }
    }
    return rows[a.length][b.length];
}
