// Text helpers shared by the target adapters: splitting long text into messages, defusing
// room-wide mentions, and converting Rocket.Chat markdown to each target's dialect.
// Code spans and blocks are never converted: they are cut out first and passed through.

/** A piece of Rocket.Chat markdown: plain text, code, or a link (kept apart so nothing rewrites them). */
type Segment =
    | { kind: 'text'; raw: string }
    | { kind: 'code'; raw: string; code: string }
    | { kind: 'codeBlock'; raw: string; lang: string; code: string }
    | { kind: 'link'; raw: string; url: string; label: string };

// Alternatives in priority order: ```lang\ncode```, ```code```, `code`, [label](url), <url|label>, bare URL.
const SEGMENT_PATTERN = new RegExp(
    [
        '```([^\\n`]*)\\n([\\s\\S]*?)```',
        '```([\\s\\S]+?)```',
        '`([^`\\n]+)`',
        '\\[([^\\]\\n]+)\\]\\(([^\\s()]+(?:\\([^\\s()]*\\)[^\\s()]*)*)\\)',
        '<((?:https?|mailto):[^|>\\s]+)(?:\\|([^>\\n]*))?>',
        '(https?:\\/\\/[^\\s<>]+)',
    ].join('|'),
    'g',
);

/** Splits Rocket.Chat markdown into text, code and link segments. */
function segment(text: string): Segment[] {
    const segments: Segment[] = [];
    const pattern = new RegExp(SEGMENT_PATTERN.source, 'g');
    let textStart = 0;
    let match: RegExpExecArray | null;
    while ((match = pattern.exec(text)) !== null) {
        let raw = match[0];
        let found: Segment;
        if (match[2] !== undefined) {
            found = { kind: 'codeBlock', raw, lang: match[1].trim(), code: match[2].replace(/\n$/, '') };
        } else if (match[3] !== undefined) {
            found = { kind: 'codeBlock', raw, lang: '', code: match[3] };
        } else if (match[4] !== undefined) {
            found = { kind: 'code', raw, code: match[4] };
        } else if (match[5] !== undefined) {
            found = { kind: 'link', raw, url: match[6], label: match[5] };
        } else if (match[7] !== undefined) {
            found = { kind: 'link', raw, url: match[7], label: match[8] || match[7] };
        } else {
            // A bare URL gives back trailing punctuation and unbalanced ')' to the sentence.
            raw = trimUrlEnd(match[9]);
            pattern.lastIndex = match.index + raw.length;
            found = { kind: 'link', raw, url: raw, label: raw };
        }
        if (match.index > textStart) {
            segments.push({ kind: 'text', raw: text.slice(textStart, match.index) });
        }
        segments.push(found);
        textStart = match.index + raw.length;
    }
    if (textStart < text.length) {
        segments.push({ kind: 'text', raw: text.slice(textStart) });
    }
    return segments;
}

function trimUrlEnd(url: string): string {
    let end = url.length;
    for (;;) {
        const last = url.charAt(end - 1);
        if ('.,;:!?\'"*_~'.indexOf(last) >= 0) {
            end--;
        } else if (last === ')' && countOf(url.slice(0, end), '(') < countOf(url.slice(0, end), ')')) {
            end--;
        } else {
            return url.slice(0, end);
        }
    }
}

function countOf(text: string, char: string): number {
    return text.split(char).length - 1;
}

// ---------------------------------------------------------------------------------------------
// Mentions

const ROOM_MENTION = /(^|[^\w@.\-])@(all|here|everyone|channel)(?![\w.\-])/gi;

/** Inserts a zero-width space after the `@` of @all/@here/@everyone/@channel so they cannot ping. */
export function neutraliseMentions(text: string): string {
    return segment(text)
        .map((part) => (part.kind === 'text' ? part.raw.replace(ROOM_MENTION, '$1@\u200B$2') : part.raw))
        .join('');
}

// ---------------------------------------------------------------------------------------------
// Markdown conversion

// Private-use characters stand in for emphasis while the text is escaped and re-rendered.
const BOLD = ['\uE000', '\uE001'];
const ITALIC = ['\uE002', '\uE003'];
const STRIKE = ['\uE004', '\uE005'];

interface EmphasisMarks {
    bold: [string, string];
    italic: [string, string];
    strike: [string, string];
}

/** `*x*`/`**x**` → bold, `_x_`/`__x__` → italic, `~x~`/`~~x~~` → strike, as private-use markers. */
function markEmphasis(text: string): string {
    let marked = text;
    const kinds: Array<[string, string[]]> = [['*', BOLD], ['_', ITALIC], ['~', STRIKE]];
    for (const [delimiter, marks] of kinds) {
        const d = '\\' + delimiter;
        // Opens after start/non-word, closes before non-word; no space just inside the delimiters.
        const pattern = new RegExp(`(^|[^\\w${d}])(${d}${d}?)(?!\\s)([^\\n]*?[^\\s${d}])\\2(?![\\w${d}])`, 'g');
        marked = marked.replace(pattern, (_all, before: string, _delimiter: string, inner: string) =>
            `${before}${marks[0]}${inner}${marks[1]}`);
    }
    return marked;
}

function renderMarks(text: string, marks: EmphasisMarks): string {
    return text
        .split(BOLD[0]).join(marks.bold[0]).split(BOLD[1]).join(marks.bold[1])
        .split(ITALIC[0]).join(marks.italic[0]).split(ITALIC[1]).join(marks.italic[1])
        .split(STRIKE[0]).join(marks.strike[0]).split(STRIKE[1]).join(marks.strike[1]);
}

export function escapeHtml(text: string): string {
    return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function escapeSlack(text: string): string {
    return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Discord / CommonMark: `**bold**`, `*italic*`, `~~strike~~`, `[label](url)`. */
export function toCommonMark(text: string): string {
    const marks: EmphasisMarks = { bold: ['**', '**'], italic: ['*', '*'], strike: ['~~', '~~'] };
    return segment(text).map((part) => {
        switch (part.kind) {
            case 'text':
                return renderMarks(markEmphasis(part.raw), marks);
            case 'link':
                return part.label === part.url ? part.url : `[${part.label}](${part.url})`;
            default:
                return part.raw;
        }
    }).join('');
}

/** Slack mrkdwn: `*bold*`, `_italic_`, `~strike~`, `<url|label>`; `&`, `<`, `>` escaped. */
export function toSlackMrkdwn(text: string): string {
    const marks: EmphasisMarks = { bold: ['*', '*'], italic: ['_', '_'], strike: ['~', '~'] };
    return segment(text).map((part) => {
        switch (part.kind) {
            case 'text':
                return renderMarks(markEmphasis(escapeSlack(part.raw)), marks);
            case 'code':
                return '`' + escapeSlack(part.code) + '`';
            case 'codeBlock':
                // Slack shows an info string as code, so the language is dropped.
                return '```' + escapeSlack(part.code) + '```';
            case 'link':
                return part.label === part.url ? `<${part.url}>` : `<${part.url}|${escapeSlack(part.label)}>`;
        }
    }).join('');
}

export interface HtmlOptions {
    /** Turn newlines outside code blocks into `<br>` (Matrix); Telegram keeps `\n`. */
    lineBreaks?: boolean;
}

/** HTML for Matrix/Telegram: escaped text, `<b>`, `<i>`, `<s>`, `<code>`, `<pre>`, `<a href>`. */
export function toHtml(text: string, options: HtmlOptions = {}): string {
    const marks: EmphasisMarks = { bold: ['<b>', '</b>'], italic: ['<i>', '</i>'], strike: ['<s>', '</s>'] };
    const breakLines = (html: string) => (options.lineBreaks ? html.replace(/\n/g, '<br>') : html);
    return segment(text).map((part) => {
        switch (part.kind) {
            case 'text':
                return breakLines(renderMarks(markEmphasis(escapeHtml(part.raw)), marks));
            case 'code':
                return `<code>${escapeHtml(part.code)}</code>`;
            case 'codeBlock': {
                const languageClass = part.lang ? ` class="language-${escapeHtml(part.lang)}"` : '';
                return `<pre><code${languageClass}>${escapeHtml(part.code)}</code></pre>`;
            }
            case 'link':
                return `<a href="${escapeHtml(part.url)}">${escapeHtml(part.label)}</a>`;
        }
    }).join('');
}

/** Plain text: emphasis and backticks removed, labelled links as `label (url)`. */
export function toPlainText(text: string): string {
    const marks: EmphasisMarks = { bold: ['', ''], italic: ['', ''], strike: ['', ''] };
    return segment(text).map((part) => {
        switch (part.kind) {
            case 'text':
                return renderMarks(markEmphasis(part.raw), marks);
            case 'code':
            case 'codeBlock':
                return part.code;
            case 'link':
                return part.label === part.url ? part.url : `${part.label} (${part.url})`;
        }
    }).join('');
}

// ---------------------------------------------------------------------------------------------
// Splitting

const FENCE_CLOSE = '\n```';
// Below this a reopened fence would eat most of the chunk, so fences are left as they fall.
const MIN_LENGTH_FOR_FENCES = 32;

interface Cut {
    /** End of the chunk (exclusive). */
    end: number;
    /** Where the rest continues (after the boundary whitespace). */
    next: number;
}

/**
 * Splits text into chunks of at most `maxLength` UTF-16 units, preferring paragraph, then line,
 * then word boundaries; only a single over-long word is hard-cut (never inside a surrogate pair).
 * A chunk that ends inside a ``` block closes it and the next chunk reopens it. Empty text → [].
 */
export function splitText(text: string, maxLength: number): string[] {
    if (!(maxLength >= 1)) {
        throw new RangeError(`splitText: maxLength must be at least 1, got ${maxLength}`);
    }
    if (text.length <= maxLength) {
        return text ? [text] : [];
    }
    const keepFences = maxLength >= MIN_LENGTH_FOR_FENCES;
    const chunks: string[] = [];
    let rest = text;
    let openFence: string | undefined;
    while (rest.length > 0) {
        const prefix = openFence !== undefined ? openFence + '\n' : '';
        if (prefix.length + rest.length <= maxLength) {
            chunks.push(prefix + rest);
            break;
        }
        let cut = findCut(rest, maxLength - prefix.length);
        let fence = keepFences ? fenceOpenAtEnd(prefix + rest.slice(0, cut.end)) : undefined;
        if (fence !== undefined && prefix.length + cut.end + FENCE_CLOSE.length > maxLength) {
            cut = findCut(rest, maxLength - prefix.length - FENCE_CLOSE.length);
            fence = fenceOpenAtEnd(prefix + rest.slice(0, cut.end));
        }
        chunks.push(prefix + rest.slice(0, cut.end) + (fence !== undefined ? FENCE_CLOSE : ''));
        rest = rest.slice(cut.next);
        openFence = fence;
    }
    return chunks.filter((chunk) => chunk.trim().length > 0);
}

function findCut(text: string, limit: number): Cut {
    const half = limit / 2;
    const paragraph = text.lastIndexOf('\n\n', limit - 1);
    if (paragraph >= half) {
        return { end: paragraph, next: paragraph + 2 };
    }
    const line = text.lastIndexOf('\n', limit);
    if (line >= half) {
        return { end: line, next: line + 1 };
    }
    const space = Math.max(text.lastIndexOf(' ', limit), text.lastIndexOf('\t', limit));
    if (space > 0) {
        return { end: space, next: space + 1 };
    }
    if (line > 0) {
        return { end: line, next: line + 1 };
    }
    let end = Math.max(1, limit);
    const code = text.charCodeAt(end - 1);
    if (code >= 0xd800 && code <= 0xdbff && end > 1) {
        end--; // keep a surrogate pair together
    }
    return { end, next: end };
}

/** The opening fence line (e.g. "```js") when the text ends inside a code block, else undefined. */
function fenceOpenAtEnd(text: string): string | undefined {
    let open: string | undefined;
    for (const line of text.split('\n')) {
        const trimmed = line.trim();
        if (open !== undefined) {
            if (trimmed.length >= 3 && trimmed.slice(-3) === '```') {
                open = undefined;
            }
        } else if (/^ {0,3}```/.test(line)) {
            const afterOpen = trimmed.slice(3);
            if (afterOpen.indexOf('```') < 0) {
                // Reopen with the same info string, unless it is too long to repeat cheaply.
                open = trimmed.length <= 16 ? trimmed : '```';
            }
        }
    }
    return open;
}

/** Cuts text to `maxLength`, ending with `…` when something was removed. */
export function truncateText(text: string, maxLength: number): string {
    if (text.length <= maxLength) {
        return text;
    }
    let end = Math.max(0, maxLength - 1);
    const code = text.charCodeAt(end - 1);
    if (code >= 0xd800 && code <= 0xdbff) {
        end--;
    }
    return text.slice(0, end) + '\u2026';
}
