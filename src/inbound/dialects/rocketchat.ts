// Rocket.Chat incoming-webhook JSON, with Rocket.Chat's own precedence rules
// (apps/meteor/app/lib/server/functions/processWebhookMessage.ts): `text` over `msg`, `username`
// over `alias`, `icon_url` over `avatar`, `icon_emoji` over `emoji`, any avatar over any emoji,
// `channel` over `roomId`; `parseUrls` defaults to "no attachments", `groupable` to false.

import { FieldReader } from '../values';
import { chooseAvatar, emptyMessage, firstDefined, ParsedMessage, readDestinations, readRcAttachments } from './common';

export function parseRocketChat(fields: FieldReader): ParsedMessage {
    const message = emptyMessage();
    message.text = firstNonEmpty(fields.text('text'), fields.text('msg')) || '';
    message.alias = firstDefined(fields.line('username'), fields.line('alias'));
    chooseAvatar(
        message,
        fields.ctx,
        { url: firstDefined(fields.rawUrl('icon_url'), fields.rawUrl('avatar')), path: fields.pathOf(fields.rawUrl('icon_url') !== undefined ? 'icon_url' : 'avatar') },
        { value: firstDefined(fields.line('icon_emoji'), fields.line('emoji')), path: fields.pathOf(fields.line('icon_emoji') !== undefined ? 'icon_emoji' : 'emoji') },
    );
    const channels = readDestinations(fields, 'channel', false);
    message.destinations = channels.length > 0 ? channels : readDestinations(fields, 'roomId', true);
    message.rcAttachments = readRcAttachments(fields, 'attachments');
    message.tmid = fields.id('tmid');
    message.externalId = fields.id('id');
    message.parseUrls = firstDefined(fields.bool('parseUrls'), fields.has('attachments') ? false : undefined);
    message.groupable = fields.bool('groupable');
    message.customFields = fields.freeObject('customFields');
    return message;
}

/** Like `a || b` for strings: Rocket.Chat falls back to `msg` when `text` is empty. */
export function firstNonEmpty(...values: Array<string | undefined>): string | undefined {
    for (const value of values) {
        if (value !== undefined && value !== '') {
            return value;
        }
    }
    return undefined;
}
