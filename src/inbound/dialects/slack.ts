// Slack incoming-webhook JSON (`text`, `blocks`, `attachments`, legacy `username`/`icon_url`/
// `icon_emoji`/`channel`, `thread_ts`). Slack mrkdwn links and escapes become Rocket.Chat markdown;
// when `blocks` are present they are the message and `text` is only Slack's notification fallback.

import { InboundError } from '../errors';
import { childPath, FieldReader, ParseContext } from '../values';
import { chooseAvatar, emptyMessage, ParsedMessage, readDestinations, readRcAttachments } from './common';
import type { RcAttachment } from '../types';

export function parseSlack(fields: FieldReader): ParsedMessage {
    const message = emptyMessage();
    const text = slackToMarkdown(fields.text('text') || '');
    const blocks = renderBlocks(fields, 'blocks');
    const rendered = blocks.lines.join('\n').trim();
    message.text = rendered !== '' ? rendered : text;
    message.alias = fields.line('username');
    chooseAvatar(message, fields.ctx, { url: fields.rawUrl('icon_url'), path: fields.pathOf('icon_url') }, { value: fields.line('icon_emoji'), path: fields.pathOf('icon_emoji') });
    message.destinations = readDestinations(fields, 'channel', false);
    message.rcAttachments = blocks.images.concat(readRcAttachments(fields, 'attachments', slackToMarkdown));
    message.threadExternalId = fields.id('thread_ts');
    message.parseUrls = fields.bool('unfurl_links');
    return message;
}

/**
 * Slack mrkdwn → Rocket.Chat markdown: `<url|label>` → `[label](url)`, `<url>` → url,
 * `<@U1|name>` → `@name`, `<#C1|name>` → `#name`, `<!here>` → `@here`, then `&lt; &gt; &amp;`.
 * Bold/italic/strike/code use the same marks in both. Only `@here` is a live mention in Rocket.Chat;
 * `@channel`/`@everyone` stay text.
 */
export function slackToMarkdown(text: string): string {
    const linked = text.replace(/<([^<>\s|][^<>|]*)(?:\|([^<>]*))?>/g, (whole: string, target: string, label: string | undefined) => {
        const first = target[0];
        if (first === '@' || first === '#') {
            return label ? (label[0] === first ? label : first + label) : target;
        }
        if (first === '!') {
            const name = target.slice(1).split('^')[0];
            return label || `@${name}`;
        }
        if (/^(https?|mailto|ftp|tel):/i.test(target)) {
            return label ? `[${label}](${target})` : target;
        }
        return whole;
    });
    return linked.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

interface RenderedBlocks {
    lines: string[];
    images: RcAttachment[];
}

function renderBlocks(fields: FieldReader, key: string): RenderedBlocks {
    const out: RenderedBlocks = { lines: [], images: [] };
    const blocks = fields.array(key);
    if (blocks === undefined) {
        return out;
    }
    const path = fields.pathOf(key);
    blocks.forEach((item, index) => {
        const block = FieldReader.of(item, childPath(path, index), fields.ctx);
        const type = block.line('type');
        switch (type) {
            case 'section': {
                const text = blockText(block, 'text');
                if (text !== '') {
                    out.lines.push(text);
                }
                const sectionFields = block.array('fields') || [];
                sectionFields.forEach((field, fieldIndex) => {
                    const reader = FieldReader.of(field, childPath(block.pathOf('fields'), fieldIndex), fields.ctx);
                    const value = textObject(reader);
                    if (value !== '') {
                        out.lines.push(value);
                    }
                });
                break;
            }
            case 'header': {
                const text = blockText(block, 'text');
                if (text !== '') {
                    out.lines.push(`*${text}*`);
                }
                break;
            }
            case 'context': {
                const parts: string[] = [];
                (block.array('elements') || []).forEach((element, elementIndex) => {
                    const reader = FieldReader.of(element, childPath(block.pathOf('elements'), elementIndex), fields.ctx);
                    const kind = reader.line('type');
                    if (kind === 'mrkdwn' || kind === 'plain_text') {
                        parts.push(textObject(reader));
                    }
                });
                if (parts.length > 0) {
                    out.lines.push(parts.join(' '));
                }
                break;
            }
            case 'divider':
                out.lines.push('');
                break;
            case 'image': {
                const title = block.object('title');
                const image: RcAttachment = { image_url: block.url('image_url') };
                const titleText = title ? textObject(title) : '';
                if (titleText !== '') {
                    image.title = titleText;
                }
                if (image.image_url !== undefined) {
                    out.images.push(image);
                }
                break;
            }
            case 'rich_text': {
                const text = richElements(block, 'elements').trim();
                if (text !== '') {
                    out.lines.push(text);
                }
                break;
            }
            default:
                fields.ctx.warnings.push(`${block.path}: block type ${JSON.stringify(type)} not supported, dropped`);
        }
    });
    return out;
}

/** The `text` of a block's text object (`{type: 'mrkdwn' | 'plain_text', text}`). */
function blockText(block: FieldReader, key: string): string {
    const object = block.object(key);
    return object ? textObject(object) : '';
}

function textObject(object: FieldReader): string {
    const text = object.text('text') || '';
    return object.line('type') === 'mrkdwn' ? slackToMarkdown(text) : text;
}

/** Rich-text elements (what Slack's own composer sends) flattened to Rocket.Chat markdown. */
function richElements(parent: FieldReader, key: string): string {
    const items = parent.array(key) || [];
    const ctx: ParseContext = parent.ctx;
    let out = '';
    items.forEach((item, index) => {
        const element = FieldReader.of(item, childPath(parent.pathOf(key), index), ctx);
        const type = element.line('type');
        switch (type) {
            case 'rich_text_section':
                // Sections are paragraphs; their text often already ends with a line break.
                out += richElements(element, 'elements').replace(/\n+$/, '') + '\n';
                break;
            case 'rich_text_preformatted':
                out += '```\n' + richElements(element, 'elements') + '\n```\n';
                break;
            case 'rich_text_quote':
                out += richElements(element, 'elements').split('\n').map((line) => `> ${line}`).join('\n') + '\n';
                break;
            case 'rich_text_list': {
                const ordered = element.line('style') === 'ordered';
                (element.array('elements') || []).forEach((entry, entryIndex) => {
                    const entryReader = FieldReader.of(entry, childPath(element.pathOf('elements'), entryIndex), ctx);
                    out += `${ordered ? `${entryIndex + 1}.` : '-'} ${richElements(entryReader, 'elements').trim()}\n`;
                });
                break;
            }
            case 'text':
                out += styled(element, element.text('text') || '');
                break;
            case 'link': {
                const url = element.url('url');
                const label = element.text('text');
                out += url === undefined ? label || '' : label ? `[${label}](${url})` : url;
                break;
            }
            case 'emoji':
                out += `:${element.line('name') || ''}:`;
                break;
            case 'user':
                out += `@${element.id('user_id') || ''}`;
                break;
            case 'channel':
                out += `#${element.id('channel_id') || ''}`;
                break;
            case 'broadcast':
                out += `@${element.line('range') || ''}`;
                break;
            default:
                ctx.warnings.push(`${element.path}: rich text element ${JSON.stringify(type)} not supported, dropped`);
        }
    });
    if (out.length > ctx.limits.maxTextLength) {
        throw new InboundError(413, `rendered text exceeds the limit of ${ctx.limits.maxTextLength}`, parent.pathOf(key));
    }
    return out;
}

function styled(element: FieldReader, text: string): string {
    const style = element.object('style');
    if (!style || text === '') {
        return text;
    }
    let out = text;
    if (style.bool('code')) {
        out = `\`${out}\``;
    }
    if (style.bool('strike')) {
        out = `~${out}~`;
    }
    if (style.bool('italic')) {
        out = `_${out}_`;
    }
    if (style.bool('bold')) {
        out = `*${out}*`;
    }
    return out;
}
