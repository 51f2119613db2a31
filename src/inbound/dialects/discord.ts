// Discord execute-webhook JSON (`content`, `username`, `avatar_url`, `embeds`; `?thread_id=` in
// the query). Embeds become Rocket.Chat attachments, which render the same parts: title + link,
// description, colour bar, author, fields, image, thumbnail. Custom emoji `<:name:id>` → `:name:`.

import { InboundError } from '../errors';
import { childPath, FieldReader, readId } from '../values';
import { chooseAvatar, emptyMessage, MAX_ATTACHMENT_FIELDS, ParsedMessage, removeUndefined } from './common';
import type { InboundRequest } from '../request';
import type { RcAttachment, RcAttachmentField } from '../types';

export function parseDiscord(fields: FieldReader, req: InboundRequest): ParsedMessage {
    const message = emptyMessage();
    message.text = discordToMarkdown(fields.text('content') || '');
    message.alias = fields.line('username');
    chooseAvatar(message, fields.ctx, { url: fields.rawUrl('avatar_url'), path: fields.pathOf('avatar_url') }, { path: '' });
    message.rcAttachments = readEmbeds(fields, 'embeds');
    const threadId = Object.prototype.hasOwnProperty.call(req.query, 'thread_id') ? req.query.thread_id : undefined;
    if (threadId !== undefined) {
        message.threadExternalId = readId(threadId, 'query.thread_id', fields.ctx);
    }
    return message;
}

export function discordToMarkdown(text: string): string {
    return text.replace(/<a?:([A-Za-z0-9_]+):[0-9]+>/g, ':$1:');
}

function readEmbeds(fields: FieldReader, key: string): RcAttachment[] {
    const embeds = fields.array(key);
    if (embeds === undefined) {
        return [];
    }
    const ctx = fields.ctx;
    const path = fields.pathOf(key);
    if (embeds.length > ctx.limits.maxAttachments) {
        throw new InboundError(413, `more than ${ctx.limits.maxAttachments} embeds`, path);
    }
    return embeds.map((item, index) => {
        const embed = FieldReader.of(item, childPath(path, index), ctx);
        const author = embed.object('author');
        const footer = embed.object('footer');
        const image = embed.object('image');
        const thumbnail = embed.object('thumbnail');
        const description = discordToMarkdown(embed.text('description') || '');
        const footerText = footer ? footer.line('text') : undefined;
        // Rocket.Chat attachments have no footer: it goes under the description, in italics.
        const text = [description, footerText ? `_${footerText}_` : ''].filter((part) => part !== '').join('\n');
        const attachment: RcAttachment = {
            title: embed.line('title'),
            title_link: embed.url('url'),
            text: text === '' ? undefined : text,
            color: embedColor(embed),
            ts: embed.line('timestamp'),
            author_name: author ? author.line('name') : undefined,
            author_link: author ? author.url('url') : undefined,
            author_icon: author ? author.url('icon_url') : undefined,
            image_url: image ? image.url('url') : undefined,
            thumb_url: thumbnail ? thumbnail.url('url') : undefined,
        };
        const embedFields = readEmbedFields(embed);
        if (embedFields.length > 0) {
            attachment.fields = embedFields;
        }
        return removeUndefined(attachment);
    });
}

function embedColor(embed: FieldReader): string | undefined {
    const color = embed.count('color');
    if (color === undefined) {
        return undefined;
    }
    if (color < 0 || color > 0xffffff) {
        throw new InboundError(400, 'must be an RGB integer (0 to 16777215)', embed.pathOf('color'));
    }
    return '#' + ('000000' + color.toString(16)).slice(-6);
}

function readEmbedFields(embed: FieldReader): RcAttachmentField[] {
    const items = embed.array('fields');
    if (items === undefined) {
        return [];
    }
    const path = embed.pathOf('fields');
    if (items.length > MAX_ATTACHMENT_FIELDS) {
        throw new InboundError(413, `more than ${MAX_ATTACHMENT_FIELDS} fields`, path);
    }
    return items.map((item, index) => {
        const field = FieldReader.of(item, childPath(path, index), embed.ctx);
        const out: RcAttachmentField = { title: field.line('name') || '', value: discordToMarkdown(field.text('value') || '') };
        const inline = field.bool('inline');
        if (inline !== undefined) {
            out.short = inline;
        }
        return out;
    });
}
