import {
    escapeHtml, neutraliseMentions, splitText, toCommonMark, toHtml, toPlainText, toSlackMrkdwn, truncateText,
} from '../../../src/core/text';

const ZWSP = '\u200B';

describe('splitText', () => {
    it.each([
        ['fits as is', 'short text', 20, ['short text']],
        ['empty text gives no chunks', '', 20, []],
        ['prefers the paragraph break', 'first paragraph\n\nsecond one', 20, ['first paragraph', 'second one']],
        ['then the line break', 'line one here\nline two', 16, ['line one here', 'line two']],
        ['then the word break', 'alpha beta gamma delta', 11, ['alpha beta', 'gamma delta']],
        ['hard-cuts only an over-long word', 'abcdefghijkl xy', 5, ['abcde', 'fghij', 'kl xy']],
        ['a late line break beats an early paragraph break', 'ab\n\ncdefgh\nijkl mn', 12, ['ab\n\ncdefgh', 'ijkl mn']],
        ['an early break loses to a late space', 'ab\ncdefgh ijkl', 12, ['ab\ncdefgh', 'ijkl']],
    ])('%s', (_name, text, max, expected) => {
        expect(splitText(text, max)).toEqual(expected);
    });

    it.each([
        // '😀' is two UTF-16 units; a cut at 3 would separate them.
        ['keeps a surrogate pair together', 'ab😀cd', 3, ['ab', '😀c', 'd']],
        ['cuts before a pair that does not fit', '😀😀😀', 3, ['😀', '😀', '😀']],
    ])('%s', (_name, text, max, expected) => {
        const chunks = splitText(text, max);
        expect(chunks).toEqual(expected);
        expect(chunks.join('')).toBe(text);
    });

    it('closes and reopens a code block cut in the middle', () => {
        const code = Array.from({ length: 8 }, (_, i) => `line${i} = ${i}`).join('\n');
        const text = `Look:\n\`\`\`js\n${code}\n\`\`\`\ndone`;
        const chunks = splitText(text, 60);
        expect(chunks.length).toBeGreaterThan(1);
        for (const chunk of chunks) {
            expect(chunk.length).toBeLessThanOrEqual(60);
            // Every chunk has balanced fences, so each renders on its own.
            expect((chunk.match(/```/g) || []).length % 2).toBe(0);
        }
        expect(chunks[1].startsWith('```js\n')).toBe(true);
        expect(chunks.join('\n').replace(/\n```\n```js/g, '')).toBe(text);
    });

    it('every chunk respects the limit on long prose', () => {
        const text = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
        const chunks = splitText(text, 100);
        expect(chunks.every((chunk) => chunk.length <= 100)).toBe(true);
        expect(chunks.join(' ')).toBe(text);
    });

    it('rejects a limit below 1', () => {
        expect(() => splitText('abc', 0)).toThrow(RangeError);
    });
});

describe('truncateText', () => {
    it.each([
        ['abc', 5, 'abc'],
        ['abcdef', 4, 'abc…'],
        ['ab😀', 3, 'ab…'],
        ['a😀b', 3, 'a…'],
    ])('%s to %i → %s', (text, max, expected) => {
        expect(truncateText(text, max)).toBe(expected);
    });
});

describe('neutraliseMentions', () => {
    it.each([
        ['@all hello', `@${ZWSP}all hello`],
        ['hi @here and @everyone', `hi @${ZWSP}here and @${ZWSP}everyone`],
        ['(@channel)', `(@${ZWSP}channel)`],
        ['@HERE shouting', `@${ZWSP}HERE shouting`],
        ['@alice is a user', '@alice is a user'],
        ['@heretic and @all.team are usernames', '@heretic and @all.team are usernames'],
        ['mail me@here.com', 'mail me@here.com'],
        ['code `@all` stays', 'code `@all` stays'],
        ['```\n@everyone\n```', '```\n@everyone\n```'],
    ])('%s', (text, expected) => {
        expect(neutraliseMentions(text)).toBe(expected);
    });
});

describe('markdown conversion', () => {
    // [Rocket.Chat markdown, CommonMark, Slack mrkdwn, HTML, plain]
    it.each([
        ['*bold*', '**bold**', '*bold*', '<b>bold</b>', 'bold'],
        ['_italic_', '*italic*', '_italic_', '<i>italic</i>', 'italic'],
        ['~strike~', '~~strike~~', '~strike~', '<s>strike</s>', 'strike'],
        ['**also bold**', '**also bold**', '*also bold*', '<b>also bold</b>', 'also bold'],
        ['*_both_*', '***both***', '*_both_*', '<b><i>both</i></b>', 'both'],
        ['snake_case_name and 2*3*4', 'snake_case_name and 2*3*4', 'snake_case_name and 2*3*4', 'snake_case_name and 2*3*4', 'snake_case_name and 2*3*4'],
        ['a * b * c', 'a * b * c', 'a * b * c', 'a * b * c', 'a * b * c'],
        ['`*not bold*`', '`*not bold*`', '`*not bold*`', '<code>*not bold*</code>', '*not bold*'],
        ['```js\nif (a < b) *x*\n```', '```js\nif (a < b) *x*\n```', '```if (a &lt; b) *x*```', '<pre><code class="language-js">if (a &lt; b) *x*</code></pre>', 'if (a < b) *x*'],
        ['see [the docs](https://ex.com/a_b_c)', 'see [the docs](https://ex.com/a_b_c)', 'see <https://ex.com/a_b_c|the docs>', 'see <a href="https://ex.com/a_b_c">the docs</a>', 'see the docs (https://ex.com/a_b_c)'],
        ['<https://ex.com|Example>', '[Example](https://ex.com)', '<https://ex.com|Example>', '<a href="https://ex.com">Example</a>', 'Example (https://ex.com)'],
        ['go to https://ex.com/x_y_z.', 'go to https://ex.com/x_y_z.', 'go to <https://ex.com/x_y_z>.', 'go to <a href="https://ex.com/x_y_z">https://ex.com/x_y_z</a>.', 'go to https://ex.com/x_y_z.'],
        ['Tom & Jerry <3', 'Tom & Jerry <3', 'Tom &amp; Jerry &lt;3', 'Tom &amp; Jerry &lt;3', 'Tom & Jerry <3'],
    ])('%s', (rc, commonMark, slack, html, plain) => {
        expect(toCommonMark(rc)).toBe(commonMark);
        expect(toSlackMrkdwn(rc)).toBe(slack);
        expect(toHtml(rc)).toBe(html);
        expect(toPlainText(rc)).toBe(plain);
    });

    it.each([
        [false, 'a\n*b*\n```\nx\ny\n```', 'a\n<b>b</b>\n<pre><code>x\ny</code></pre>'],
        [true, 'a\n*b*\n```\nx\ny\n```', 'a<br><b>b</b><br><pre><code>x\ny</code></pre>'],
    ])('toHtml lineBreaks=%s', (lineBreaks, rc, expected) => {
        expect(toHtml(rc, { lineBreaks })).toBe(expected);
    });

    it('escapeHtml escapes & < > and double quotes (attributes are double-quoted)', () => {
        expect(escapeHtml('<a href="x">&</a>')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;');
    });
});
