import { ConfigError } from '../../../src/core/errors';
import {
    closestMatch,
    compileTemplate,
    MessageTemplates,
    renderMessage,
    renderTemplate,
    TEMPLATE_VARIABLES,
    TemplateVarName,
    TemplateVars,
    templateVarsFor,
} from '../../../src/core/template';
import { message } from './fixtures/relay';

const SOURCE = { instance: 'rocketchat', platform: 'rocketchat' };

function compileError(source: string): ConfigError {
    try {
        compileTemplate(source, 'rules[0].msg.msg_format');
    } catch (e) {
        return e as ConfigError;
    }
    throw new Error(`expected "${source}" to be rejected`);
}

describe('templateVarsFor + renderTemplate: every variable', () => {
    const msg = message({ threadId: 'parent1', id: 'm 1' });
    const expectations: Array<[TemplateVarName, string]> = [
        ['platform', 'rocketchat'],
        ['instance_id', 'rocketchat'],
        ['from', 'rocketchat'],
        ['user', 'Alice A'],
        ['nickname', 'Alice A'],
        ['username', '@alice'],
        ['user_id', 'u1'],
        ['user_avatar', 'https://chat.example.com/avatar/alice'],
        ['msg', 'hello world'],
        ['time', '2024-05-06T07:08:09.000Z'],
        ['room', 'general'],
        ['room_id', 'GENERAL'],
        ['message_id', 'm 1'],
        ['thread_id', 'parent1'],
        ['site_url', 'https://chat.example.com'],
        ['message_url', 'https://chat.example.com/channel/general?msg=m%201'],
    ];
    it.each(expectations)('{%s} renders %j', (name, expected) => {
        const template = compileTemplate(`<{${name}}>`, 'p');
        expect(renderTemplate(template, templateVarsFor(msg, SOURCE))).toBe(`<${expected}>`);
    });

    it('the table above covers exactly the known variables', () => {
        expect(expectations.map((row) => row[0])).toEqual(TEMPLATE_VARIABLES.slice());
    });

    it.each<[string, Parameters<typeof message>[0], TemplateVarName, string]>([
        ['the message alias wins over the display name', { alias: 'Jenkins' }, 'user', 'Jenkins'],
        ['the message alias is also the nickname', { alias: 'Jenkins' }, 'nickname', 'Jenkins'],
        ['no display name falls back to the username', { sender: { id: 'u2', username: 'bob', displayName: '', avatarUrl: '', isBot: false } }, 'user', 'bob'],
        ['a username already starting with @ is kept', { sender: { id: 'u2', username: '@bob', displayName: 'Bob', avatarUrl: '', isBot: false } }, 'username', '@bob'],
        ['no username falls back to the user id (NextBridge)', { sender: { id: 'u2', username: '', displayName: 'Bob', avatarUrl: '', isBot: false } }, 'username', 'u2'],
        ['no thread is an empty string', {}, 'thread_id', ''],
        ['private rooms link to /group/', { room: { id: 'P1', name: 'secret', kind: 'private' } }, 'message_url', 'https://chat.example.com/group/secret?msg=msg1'],
    ])('%s', (_label, overrides, name, expected) => {
        expect(templateVarsFor(message(overrides), SOURCE)[name]).toBe(expected);
    });

    it('takes platform and instance from the source, not the message', () => {
        const vars = templateVarsFor(message(), { instance: 'dc', platform: 'discord' });
        expect([vars.platform, vars.instance_id, vars.from]).toEqual(['discord', 'dc', 'dc']);
    });
});

describe('compileTemplate: literals and escapes', () => {
    const vars = templateVarsFor(message(), SOURCE);
    it.each<[string, string]>([
        ['', ''],
        ['plain text', 'plain text'],
        ['{msg}', 'hello world'],
        ['[Discord] {user}: {msg}', '[Discord] Alice A: hello world'],
        ['{{msg}}', '{msg}'],
        ['{{{msg}}}', '{hello world}'],
        ['a }} b {{ c', 'a } b { c'],
        ['{user}{user}', 'Alice AAlice A'],
        ['ünïcødé {user} ✓', 'ünïcødé Alice A ✓'],
    ])('%j renders %j', (source, expected) => {
        expect(renderTemplate(compileTemplate(source, 'p'), vars)).toBe(expected);
    });

    it('does not re-expand braces that come from a variable value', () => {
        const template = compileTemplate('{msg}', 'p');
        expect(renderTemplate(template, Object.assign({}, vars, { msg: '{user}' }) as TemplateVars)).toBe('{user}');
    });
});

describe('compileTemplate: errors name the path and the problem', () => {
    it.each<[string, RegExp]>([
        ['{foo}', /^unknown template variable \{foo\}; known: \{platform\} \{instance_id\}/],
        ['{usr}: {msg}', /unknown template variable \{usr\} \(did you mean \{user\}\?\)/],
        ['{user_avtar}', /did you mean \{user_avatar\}/],
        ['{}', /unknown template variable \{\}/],
        ['{0}', /unknown template variable \{0\}/],
        ['{user!r}', /unknown template variable \{user!r\}/],
        ['{ user }', /unknown template variable \{ user \}/],
        ['oops {msg', /unmatched "\{" at character 6/],
        ['{a{msg}', /unmatched "\{" at character 1/],
        ['smile :}', /unmatched "\}" at character 8/],
    ])('%j → %s', (source, problem) => {
        const error = compileError(source);
        expect(error).toBeInstanceOf(ConfigError);
        expect(error.path).toBe('rules[0].msg.msg_format');
        expect(error.problem).toMatch(problem);
    });
});

describe('renderMessage: per-target identity keys', () => {
    const vars = templateVarsFor(message(), SOURCE);
    const t = (source: string) => compileTemplate(source, 'p');
    const full: MessageTemplates = {
        msg_format: t('{user}: {msg}'),
        webhook_msg_format: t('WH {msg}'),
        alias: t('neutral {user}'),
        avatar: t('https://img.example/neutral.png'),
        rc_alias: t('rc {user}'),
        rc_avatar: t('https://img.example/rc.png'),
        webhook_title: t('wh {user}'),
        webhook_avatar: t('https://img.example/wh.png'),
        emoji: t(':robot:'),
    };
    const local = { templates: 'rocketchat' as const, local: true };
    const remoteRc = { templates: 'rocketchat' as const, local: false };
    const discord = { templates: 'webhook' as const, local: false };

    it.each<[string, MessageTemplates, { templates: 'rocketchat' | 'webhook'; local: boolean }, object]>([
        ['local RC uses rc_* keys, msg_format and emoji', full, local,
            { text: 'Alice A: hello world', alias: 'rc Alice A', avatarUrl: 'https://img.example/rc.png', emoji: ':robot:' }],
        ['remote RC uses rc_* keys and webhook_msg_format', full, remoteRc,
            { text: 'WH hello world', alias: 'rc Alice A', avatarUrl: 'https://img.example/rc.png', emoji: ':robot:' }],
        ['discord uses webhook_* keys, no emoji', full, discord,
            { text: 'WH hello world', alias: 'wh Alice A', avatarUrl: 'https://img.example/wh.png' }],
        ['neutral alias/avatar when no target key', { msg_format: t('{msg}'), alias: t('N {user}'), avatar: t('https://img.example/n.png') }, discord,
            { text: 'hello world', alias: 'N Alice A', avatarUrl: 'https://img.example/n.png' }],
        ['defaults: sender name and avatar', { msg_format: t('{msg}') }, local,
            { text: 'hello world', alias: 'Alice A', avatarUrl: 'https://chat.example.com/avatar/alice' }],
        ['http avatar: kept apart, only for targets that copy avatars', { msg_format: t('{msg}'), avatar: t('http://insecure/a.png') }, discord,
            { text: 'hello world', alias: 'Alice A', httpAvatarUrl: 'http://insecure/a.png' }],
        ['other avatar schemes are dropped', { msg_format: t('{msg}'), avatar: t('javascript:alert(1)') }, discord,
            { text: 'hello world', alias: 'Alice A' }],
        ['empty alias falls back to the sender name', { msg_format: t('{msg}'), webhook_title: t('{thread_id}') }, discord,
            { text: 'hello world', alias: 'Alice A', avatarUrl: 'https://chat.example.com/avatar/alice' }],
    ])('%s', (_label, templates, target, expected) => {
        expect(renderMessage(templates, vars, target)).toEqual(expected);
    });
});

describe('closestMatch', () => {
    it('counts a swap of two neighbours as one edit (short words allow only one)', () => {
        expect(closestMatch('tpye', ['type', 'token'])).toBe('type');
    });

    it.each<[string, string | undefined]>([
        ['rc_alais', 'rc_alias'],
        ['RC_ALIAS', 'rc_alias'],
        ['msg_fromat', 'msg_format'],
        ['webhok_title', 'webhook_title'],
        ['zzz', undefined],
        ['colour', undefined],
    ])('%j → %j', (word, expected) => {
        expect(closestMatch(word, ['msg_format', 'rc_alias', 'rc_avatar', 'webhook_title'])).toBe(expected);
    });
});
