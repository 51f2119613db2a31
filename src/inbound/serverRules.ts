// What the Rocket.Chat server will refuse when the app posts or uploads, known before posting where
// the settings tell (upload size and types), and its refusals turned into answers a sender can act
// on. The rules come from the server's source (see docs/HOST-FIDELITY.md); the server stays the
// judge, this only lets the endpoint refuse before anything is written and say why.

import { InboundError } from './errors';

/** The server settings (readable by apps) that decide what a post may contain, and who may open its files. */
export interface ServerPostRules {
    /** Message_MaxAllowedSize: longest `msg`, in UTF-16 code units. */
    maxMessageLength: number;
    /** Threads_enabled. */
    threadsEnabled: boolean;
    /** Message_CustomFields_Enabled. */
    customFieldsEnabled: boolean;
    /** FileUpload_Enabled. */
    uploadsEnabled: boolean;
    /** FileUpload_Enabled_Direct. */
    uploadsInDirectRooms: boolean;
    /** FileUpload_MaxFileSize in bytes; -1 = no limit. */
    maxUploadBytes: number;
    /** FileUpload_MediaTypeWhiteList ('' or '*' = any). */
    typeWhiteList: string;
    /** FileUpload_MediaTypeBlackList. */
    typeBlackList: string;
    /** FileUpload_ProtectFiles: /file-upload links answer 403 to anyone not logged in. */
    filesProtected: boolean;
}

/** A fresh server's values (apps/meteor/server/settings/message.ts, threads.ts, file-upload.ts). */
export const SERVER_DEFAULTS: ServerPostRules = {
    maxMessageLength: 5000,
    threadsEnabled: true,
    customFieldsEnabled: false,
    uploadsEnabled: true,
    uploadsInDirectRooms: true,
    maxUploadBytes: 104857600,
    typeWhiteList: '',
    typeBlackList: 'image/svg+xml',
    filesProtected: true,
};

/** The server setting ids behind each rule, for reading them and for error texts. */
export const SERVER_SETTING_IDS: Record<keyof ServerPostRules, string> = {
    maxMessageLength: 'Message_MaxAllowedSize',
    threadsEnabled: 'Threads_enabled',
    customFieldsEnabled: 'Message_CustomFields_Enabled',
    uploadsEnabled: 'FileUpload_Enabled',
    uploadsInDirectRooms: 'FileUpload_Enabled_Direct',
    maxUploadBytes: 'FileUpload_MaxFileSize',
    typeWhiteList: 'FileUpload_MediaTypeWhiteList',
    typeBlackList: 'FileUpload_MediaTypeBlackList',
    filesProtected: 'FileUpload_ProtectFiles',
};

/** Builds the rules from raw setting values; anything missing or malformed keeps the default. */
export function serverPostRules(values: Partial<Record<keyof ServerPostRules, unknown>>): ServerPostRules {
    const number = (value: unknown, fallback: number) => (typeof value === 'number' || (typeof value === 'string' && value.trim() !== '') ? (isFinite(Number(value)) ? Number(value) : fallback) : fallback);
    const flag = (value: unknown, fallback: boolean) => (typeof value === 'boolean' ? value : fallback);
    const text = (value: unknown, fallback: string) => (typeof value === 'string' ? value : fallback);
    const maxMessageLength = number(values.maxMessageLength, SERVER_DEFAULTS.maxMessageLength);
    return {
        maxMessageLength: maxMessageLength >= 1 ? Math.floor(maxMessageLength) : SERVER_DEFAULTS.maxMessageLength,
        threadsEnabled: flag(values.threadsEnabled, SERVER_DEFAULTS.threadsEnabled),
        customFieldsEnabled: flag(values.customFieldsEnabled, SERVER_DEFAULTS.customFieldsEnabled),
        uploadsEnabled: flag(values.uploadsEnabled, SERVER_DEFAULTS.uploadsEnabled),
        uploadsInDirectRooms: flag(values.uploadsInDirectRooms, SERVER_DEFAULTS.uploadsInDirectRooms),
        maxUploadBytes: Math.floor(number(values.maxUploadBytes, SERVER_DEFAULTS.maxUploadBytes)),
        typeWhiteList: text(values.typeWhiteList, SERVER_DEFAULTS.typeWhiteList),
        typeBlackList: text(values.typeBlackList, SERVER_DEFAULTS.typeBlackList),
        filesProtected: flag(values.filesProtected, SERVER_DEFAULTS.filesProtected),
    };
}

// The server types an upload by its name's extension first (ee/lib/misc/determineFileType.ts), so
// a file named x.svg is image/svg+xml whatever the sender declared. The common extensions:
const TYPES_BY_EXTENSION: Record<string, string> = {
    png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', svg: 'image/svg+xml', svgz: 'image/svg+xml',
    bmp: 'image/bmp', ico: 'image/vnd.microsoft.icon', tif: 'image/tiff', tiff: 'image/tiff', heic: 'image/heic', avif: 'image/avif',
    txt: 'text/plain', log: 'text/plain', md: 'text/markdown', csv: 'text/csv', html: 'text/html', htm: 'text/html', xml: 'application/xml',
    json: 'application/json', pdf: 'application/pdf', zip: 'application/zip', gz: 'application/gzip', tar: 'application/x-tar',
    mp3: 'audio/mpeg', ogg: 'audio/ogg', wav: 'audio/wav', m4a: 'audio/mp4', mp4: 'video/mp4', webm: 'video/webm', mov: 'video/quicktime',
    doc: 'application/msword', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    exe: 'application/x-msdownload', js: 'application/javascript',
};

/** The type the server will give a file: by extension when it knows it, else what the sender said. */
export function serverFileType(name: string, declared?: string): string {
    const dot = name.lastIndexOf('.');
    const extension = dot >= 0 ? name.slice(dot + 1).toLowerCase() : '';
    return TYPES_BY_EXTENSION[extension] || declared || 'application/octet-stream';
}

/** app/utils/lib/restrictions.ts: comma-separated lists, `type/*` wildcards, the black list first. */
export function typeAllowed(type: string, rules: ServerPostRules): boolean {
    const onList = (list: string) =>
        list
            .split(',')
            .map((entry) => entry.trim())
            .some((entry) => entry !== '' && (entry === type || (entry.slice(-2) === '/*' && type.indexOf(entry.slice(0, -1)) === 0)));
    if (rules.typeBlackList && onList(rules.typeBlackList)) {
        return false;
    }
    if (!rules.typeWhiteList || rules.typeWhiteList === '*') {
        return true;
    }
    return onList(rules.typeWhiteList);
}

/**
 * Refuses a file the server would refuse (FileUpload.ts validateFileUpload), before anything is
 * posted. `maxBytes` is the smaller of the app's and the server's limits.
 */
export function checkUpload(file: { name: string; size: number; mimeType?: string }, rules: ServerPostRules, roomType: string, maxBytes: number, field: string): void {
    if (!rules.uploadsEnabled) {
        throw new InboundError(403, 'file uploads are disabled on this server (FileUpload_Enabled)', field);
    }
    if (roomType === 'd' && !rules.uploadsInDirectRooms) {
        throw new InboundError(403, 'file uploads to direct messages are disabled on this server (FileUpload_Enabled_Direct)', field);
    }
    if (file.size <= 0) {
        throw new InboundError(400, 'file is empty', field);
    }
    if (file.size > maxBytes) {
        throw new InboundError(413, `file is ${file.size} bytes; the limit is ${maxBytes} bytes`, field);
    }
    const type = serverFileType(file.name, file.mimeType);
    if (!typeAllowed(type, rules)) {
        throw new InboundError(415, `files of type ${type} are not accepted by this server (FileUpload_MediaTypeWhiteList/BlackList)`, field);
    }
}

/** The smaller of two byte limits where -1 (or less) means none. */
export function smallerLimit(appLimit: number, serverLimit: number): number {
    return serverLimit < 0 ? appLimit : Math.min(appLimit, serverLimit);
}

// The server's refusals as they reach the app: the error's message, "<reason> [<error>]" for a
// Meteor.Error, the plain text for an Error (methods/sendMessage.ts, canSendMessage.ts,
// functions/sendMessage.ts, FileUpload.ts).
const REFUSALS: Array<[RegExp, (match: RegExpExecArray) => InboundError]> = [
    [/room is readonly/, () => new InboundError(403, 'the room is read-only: give the app’s user the post-readonly permission (or unmute it in the room) to post there')],
    [/You_have_been_muted/, () => new InboundError(403, 'the app’s user is muted in this room')],
    [/room_is_archived/, () => new InboundError(403, 'the room is archived')],
    [/room_is_blocked/, () => new InboundError(403, 'the room is blocked')],
    [/un-encrypted messages in an encrypted room/, () => new InboundError(403, 'the room is end-to-end encrypted: the app cannot post readable messages into it')],
    [/\[error-message-size-exceeded\]/, () => new InboundError(413, 'text is longer than this server allows in one message (Message_MaxAllowedSize)', 'text')],
    [/^not-allowed \[error-not-allowed\]/, () => new InboundError(400, 'threads are disabled on this server (Threads_enabled)', 'tmid')],
    [/Not enough permission/, () => new InboundError(403, 'the app’s user may not set an alias or avatar here (permission message-impersonate)')],
    [/Notify (all|here) in this room not allowed/, (m) => new InboundError(403, `the app’s user may not notify @${m[1]}`, 'text')],
    [/Invalid href value provided/, () => new InboundError(400, 'a link in the attachments is not an absolute http(s) URL', 'attachments')],
    [/Match error[^\n]*in field (\w+)/, (m) => new InboundError(400, `the server refused the attachment field ${m[1]}`, 'attachments')],
    [/\[error-file-upload-disabled\]/, () => new InboundError(403, 'file uploads are disabled on this server (FileUpload_Enabled)', 'attachments')],
    [/\[error-direct-message-file-upload-not-allowed\]/, () => new InboundError(403, 'file uploads to direct messages are disabled on this server', 'attachments')],
    [/\[error-file-too-large\]/, () => new InboundError(413, 'the file is larger than this server accepts (FileUpload_MaxFileSize)', 'attachments')],
    [/\[error-invalid-file-type\]/, () => new InboundError(415, 'the server does not accept this type of file', 'attachments')],
    [/\[file-too-small\]/, () => new InboundError(400, 'the file is empty', 'attachments')],
];

/** The server's refusal as a 4xx for the sender, or undefined when it is not one (retry later). */
export function classifyServerRefusal(message: string): InboundError | undefined {
    for (const [pattern, make] of REFUSALS) {
        const match = pattern.exec(message);
        if (match) {
            return make(match);
        }
    }
    return undefined;
}

/** Custom-field refusals (lib/validateCustomMessageFields.ts): the post is retried without them. */
export function isCustomFieldsRefusal(message: string): boolean {
    return /Custom fields not enabled|Invalid custom fields|Invalid custom fields config/.test(message);
}
