// Matterbridge API message (bridge/config/config.go `Message`): `{text, channel, username, userid,
// avatar, account, event, protocol, gateway, parent_id, timestamp, id, Extra: {file: [FileInfo]}}`
// where FileInfo is `{Name, Data (base64, Go []byte), Comment, URL, Size, Avatar, SHA}`.
// `channel` is the API bridge's own channel name, not a Rocket.Chat room, so it is no destination;
// `gateway` is kept for routing. Events other than plain messages, /me actions, join/leave and
// topic notices are refused with 422 (deletes and typing have nothing to post).

import { InboundError } from '../errors';
import { decodeBase64 } from '../base64';
import { DEFAULT_MIME_TYPE, mimeTypeFromName, safeFileName } from '../files';
import { childPath, FieldReader } from '../values';
import { chooseAvatar, emptyMessage, ParsedMessage, removeUndefined } from './common';
import type { InboundAttachment } from '../types';

const POSTED_EVENTS = ['', 'user_action', 'join_leave', 'topic_change'];
/** Matterbridge's marker for "reply to a message it could not map". */
const PARENT_NOT_FOUND = 'msg-parent-not-found';

export function parseMatterbridge(fields: FieldReader): ParsedMessage {
    const message = emptyMessage();
    const event = fields.line('event') || '';
    if (POSTED_EVENTS.indexOf(event) < 0) {
        throw new InboundError(422, `event ${JSON.stringify(event)} is not a message to post`, fields.pathOf('event'));
    }
    const text = fields.text('text') || '';
    message.text = event === 'user_action' && text.trim() !== '' ? `_${text.trim()}_` : text;
    message.alias = fields.line('username');
    chooseAvatar(message, fields.ctx, { url: fields.rawUrl('avatar'), path: fields.pathOf('avatar') }, { path: '' });
    message.gateway = fields.line('gateway');
    message.externalId = fields.id('id');
    const parent = fields.id('parent_id');
    message.threadExternalId = parent === PARENT_NOT_FOUND ? undefined : parent;
    message.sender = removeUndefined({ id: fields.id('userid'), name: message.alias, platform: fields.line('protocol') });
    const extra = fields.object('Extra');
    if (extra) {
        readFiles(extra, message);
    }
    return message;
}

function readFiles(extra: FieldReader, message: ParsedMessage): void {
    const files = extra.array('file');
    if (files === undefined) {
        return;
    }
    const ctx = extra.ctx;
    const path = extra.pathOf('file');
    if (files.length > ctx.limits.maxAttachments) {
        throw new InboundError(413, `more than ${ctx.limits.maxAttachments} files`, path);
    }
    files.forEach((item, index) => {
        const file = FieldReader.of(item, childPath(path, index), ctx);
        if (file.bool('Avatar')) {
            return; // an avatar upload that rode along, not message content
        }
        const name = safeFileName(file.line('Name'), 'file');
        const comment = file.text('Comment');
        const data = file.raw('Data');
        const url = file.url('URL');
        let attachment: InboundAttachment | undefined;
        // Inline bytes win over URL: the media server URL is often only reachable by the bridge.
        if (data !== undefined) {
            if (typeof data !== 'string') {
                throw new InboundError(400, 'must be a base64 string', file.pathOf('Data'));
            }
            const bytes = decodeBase64(data, file.pathOf('Data'), ctx.limits.maxFileBytes);
            attachment = { kind: 'bytes', name, mimeType: mimeTypeFromName(name) || DEFAULT_MIME_TYPE, bytes };
        } else if (url !== undefined) {
            const size = file.count('Size');
            attachment = removeUndefined({ kind: 'url' as const, url, name, mimeType: mimeTypeFromName(name), size: size !== undefined && size > 0 ? size : undefined });
        } else {
            ctx.warnings.push(`${file.path}: neither Data nor URL, skipped`);
            return;
        }
        // Matterbridge puts the caption in Comment and usually repeats it as the text.
        if (comment !== undefined && comment.trim() !== '') {
            if (message.text.trim() === '') {
                message.text = comment;
            } else if (comment.trim() !== message.text.trim()) {
                attachment.title = comment.trim();
            }
        }
        message.attachments.push(attachment);
    });
}
