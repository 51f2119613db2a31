// NextBridge webhook driver (drivers/webhook.py): `{text, channel: {<rule channel dict>},
// attachments: [{type, url, name, size}], ...}` plus every key of the rule's `msg` block and the
// bridge context merged into the top level (`user`, `user_id`, `user_avatar`, `platform`,
// `username` as "@name", `reply_to_id`, `rc_alias`, `rc_avatar`, `webhook_title`…).
// Attachment `url` may be '' (bytes never leave NextBridge) and `size` -1 means unknown.

import { childPath, FieldReader, ParseContext } from '../values';
import { InboundError } from '../errors';
import { mimeTypeFromName, safeFileName } from '../files';
import { chooseAvatar, emptyMessage, firstDefined, parseDestination, ParsedMessage, removeUndefined } from './common';
import type { InboundAttachment, InboundDestination } from '../types';

export function parseNextBridge(fields: FieldReader): ParsedMessage {
    const message = emptyMessage();
    message.text = fields.text('text') || '';
    const channel = fields.object('channel');
    if (channel) {
        message.destinations = channelDestinations(channel);
    }
    // rc_alias/rc_avatar are meant for Rocket.Chat; webhook_* for Discord-like targets; then the sender.
    const name = firstDefined(fields.line('nickname'), fields.line('user'));
    message.alias = firstDefined(fields.line('rc_alias'), fields.line('webhook_title'), name);
    const avatarKey = ['rc_avatar', 'webhook_avatar', 'user_avatar'].filter((key) => fields.rawUrl(key) !== undefined)[0];
    chooseAvatar(message, fields.ctx, { url: avatarKey ? fields.rawUrl(avatarKey) : undefined, path: fields.pathOf(avatarKey || 'rc_avatar') }, { path: '' });
    message.attachments = readAttachments(fields, 'attachments');
    message.threadExternalId = fields.id('reply_to_id');
    message.externalId = fields.id('message_id');
    message.sender = removeUndefined({ id: fields.id('user_id'), name, platform: fields.line('platform') });
    return message;
}

function channelDestinations(channel: FieldReader): InboundDestination[] {
    const roomId = channel.id('room_id');
    if (roomId !== undefined) {
        return [{ roomId }];
    }
    const room = channel.id('room');
    return room !== undefined ? [parseDestination(room, channel.pathOf('room'), false)] : [];
}

function readAttachments(fields: FieldReader, key: string): InboundAttachment[] {
    const items = fields.array(key);
    if (items === undefined) {
        return [];
    }
    const ctx: ParseContext = fields.ctx;
    const path = fields.pathOf(key);
    if (items.length > ctx.limits.maxAttachments) {
        throw new InboundError(413, `more than ${ctx.limits.maxAttachments} attachments`, path);
    }
    const out: InboundAttachment[] = [];
    items.forEach((item, index) => {
        const attachment = FieldReader.of(item, childPath(path, index), ctx);
        attachment.line('type'); // type-checked; the kind is re-derived from the name
        const url = attachment.url('url');
        if (url === undefined) {
            ctx.warnings.push(`${attachment.path}: no URL, skipped`);
            return;
        }
        const rawName = attachment.line('name');
        const size = attachment.count('size');
        const name = rawName === undefined ? undefined : safeFileName(rawName, 'file');
        out.push(
            removeUndefined({
                kind: 'url' as const,
                url,
                name,
                mimeType: name ? mimeTypeFromName(name) : undefined,
                size: size !== undefined && size >= 0 ? size : undefined,
            }),
        );
    });
    return out;
}
