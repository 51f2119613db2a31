import { IMessageAttachment } from '@rocket.chat/apps-engine/definition/messages';

import { InboundAttachment, RcAttachment } from '../inbound/types';

// Senders write attachments in Rocket.Chat's webhook shape (snake_case). The server's converter
// reads only the app's shape (title.value, imageUrl, author.name, …) and drops every other key,
// and its validateMessage refuses links that are not absolute http(s). So each attachment is
// rewritten into the app's shape here, and whatever would be lost or refused is left out with a
// note for the sender instead of failing the whole post.

const URL_KEYS: Array<keyof RcAttachment> = ['title_link', 'image_url', 'audio_url', 'video_url', 'thumb_url', 'author_link', 'author_icon', 'message_link'];

/** What the server accepts as a link in an attachment (validFullURLParam). */
function acceptedLink(url: string): boolean {
    return /^https?:\/\//i.test(url);
}

/** The sender's attachments, plus the linked files that stay links, in the app's shape. */
export function toAppAttachments(rcAttachments: RcAttachment[], links: InboundAttachment[], notes: string[]): IMessageAttachment[] {
    const out: IMessageAttachment[] = [];
    rcAttachments.forEach((source, index) => {
        const a: RcAttachment = { ...source };
        for (const key of URL_KEYS) {
            const value = a[key];
            if (typeof value === 'string' && !acceptedLink(value)) {
                notes.push(`attachments[${index}].${key} dropped: not an absolute http(s) URL`);
                delete a[key];
            }
        }
        const converted: Record<string, unknown> = {};
        const set = (key: string, value: unknown) => {
            if (value !== undefined) {
                converted[key] = value;
            }
        };
        set('color', a.color);
        set('text', a.text);
        set('collapsed', a.collapsed);
        set('thumbnailUrl', a.thumb_url);
        set('timestampLink', a.message_link);
        set('imageUrl', a.image_url);
        set('audioUrl', a.audio_url);
        set('videoUrl', a.video_url);
        if (a.author_name !== undefined || a.author_link !== undefined || a.author_icon !== undefined) {
            converted.author = { name: a.author_name, link: a.author_link, icon: a.author_icon };
        }
        if (a.title !== undefined || a.title_link !== undefined) {
            converted.title = { value: a.title, link: a.title_link, displayDownloadLink: a.title_link_download };
        }
        if (a.fields) {
            const fields = a.fields.filter((field, i) => {
                const complete = typeof field.title === 'string' && field.title !== '' && typeof field.value === 'string' && field.value !== '';
                if (!complete) {
                    notes.push(`attachments[${index}].fields[${i}] dropped: a field needs both title and value`);
                }
                return complete;
            });
            if (fields.length > 0) {
                converted.fields = fields.map((field) => ({ title: field.title, value: field.value, short: field.short === true }));
            }
        }
        // Keys the app's shape has no place for travel as the converter's unmapped properties, in
        // the server's own names: `ts` as the string the server validates (an app `timestamp`
        // must be a Date, which not every engine transport keeps), and Slack's `pretext`.
        const unmapped: Record<string, unknown> = {};
        if (a.ts !== undefined) {
            unmapped.ts = a.ts;
        }
        if (a.pretext !== undefined) {
            unmapped.pretext = a.pretext;
        }
        if (Object.keys(unmapped).length > 0) {
            converted._unmappedProperties_ = unmapped;
        }
        if (Object.keys(converted).length === 0) {
            notes.push(`attachments[${index}] dropped: nothing the server would show was left`);
            return;
        }
        out.push(converted as unknown as IMessageAttachment);
    });
    for (const file of links) {
        if (file.kind !== 'url') {
            continue;
        }
        const isImage = (file.mimeType || '').indexOf('image/') === 0 || /\.(png|jpe?g|gif|webp)$/i.test(file.url);
        out.push({ title: { value: file.title || file.name || file.url, link: file.url }, ...(isImage ? { imageUrl: file.url } : {}) } as IMessageAttachment);
    }
    return out;
}
