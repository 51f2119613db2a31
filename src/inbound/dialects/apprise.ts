// Apprise `json://` notifications (apprise/plugins/NotifyJSON.py): `{version: "1.0", title,
// message, attachments: [{filename, base64, mimetype}], type}`. Title and body become one message
// with the title in bold; the notification type becomes an emoji avatar.

import { InboundError } from '../errors';
import { decodeBase64 } from '../base64';
import { DEFAULT_MIME_TYPE, mimeTypeFromName, normalizeMimeType, safeFileName } from '../files';
import { childPath, FieldReader } from '../values';
import { emptyMessage, ParsedMessage } from './common';

export const APPRISE_TYPE_EMOJI: Record<string, string> = {
    info: ':information_source:',
    success: ':white_check_mark:',
    warning: ':warning:',
    failure: ':x:',
};

export function parseApprise(fields: FieldReader): ParsedMessage {
    const message = emptyMessage();
    const version = fields.line('version');
    // Apprise bumps the major version only when the schema changes incompatibly.
    if (version !== undefined && !/^1(\.|$)/.test(version)) {
        throw new InboundError(400, `unsupported Apprise JSON version ${JSON.stringify(version)}`, fields.pathOf('version'));
    }
    const title = (fields.text('title') || '').trim();
    const body = (fields.text('message') || '').trim();
    message.text = title !== '' && body !== '' ? `*${title}*\n${body}` : title || body;
    const type = fields.line('type');
    if (type !== undefined) {
        if (Object.prototype.hasOwnProperty.call(APPRISE_TYPE_EMOJI, type)) {
            message.emoji = APPRISE_TYPE_EMOJI[type];
        } else {
            fields.ctx.warnings.push(`${fields.pathOf('type')}: unknown notification type ${JSON.stringify(type)}`);
        }
    }
    const items = fields.array('attachments') || [];
    const path = fields.pathOf('attachments');
    if (items.length > fields.ctx.limits.maxAttachments) {
        throw new InboundError(413, `more than ${fields.ctx.limits.maxAttachments} attachments`, path);
    }
    items.forEach((item, index) => {
        const attachment = FieldReader.of(item, childPath(path, index), fields.ctx);
        const name = safeFileName(attachment.line('filename'), `attachment-${index + 1}`);
        const data = attachment.raw('base64');
        if (typeof data !== 'string') {
            throw new InboundError(400, data === undefined ? 'is required' : 'must be a base64 string', attachment.pathOf('base64'));
        }
        const bytes = decodeBase64(data, attachment.pathOf('base64'), fields.ctx.limits.maxFileBytes);
        const declared = attachment.line('mimetype');
        const mimeType = (declared && normalizeMimeType(declared)) || mimeTypeFromName(name) || DEFAULT_MIME_TYPE;
        message.attachments.push({ kind: 'bytes', name, mimeType, bytes });
    });
    return message;
}
