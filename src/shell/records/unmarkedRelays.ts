import { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

import { recordKind } from './recordKind';

// What stops files going round between two Relay Bridges. A remote server picks the id of an
// uploaded file's message itself (rooms.mediaConfirm takes none), so the relay marker cannot ride
// on it. Two records stand in for it:
// - relay accounts: a user who posted here a message whose id carries a marker one relay from
//   server S (`rbm_1_S_…`) is the account S's Relay Bridge posts with; its unmarked messages
//   (files) are taken as relayed from S, one hop on (outbound.ts), so what is relayed on carries S
//   as origin and S refuses its text;
// - files sent: the name and size of every file this server relayed out; a file message from a
//   relay account with a file this server sent out within FILE_ECHO_WINDOW_MS is this server's
//   own file coming back, and is not stored (RelayBridgeApp's IPreMessageSentPrevent).

const RELAY_ACCOUNTS = recordKind<RelayAccountRecord>('relay-bridge:relay-account');
const FILES_SENT = recordKind<FileSentRecord>('relay-bridge:file-sent');

/** How long a file this server sent out is recognised when it comes back. */
export const FILE_ECHO_WINDOW_MS = 60 * 60 * 1000;

export interface RelayAccountRecord {
    userId: string;
    /** The Relay Bridge server (its id, as in markers) that posts here as this user. */
    server: string;
    learnedAt: string;
}

export interface FileSentRecord {
    name: string;
    size: number;
    sentAt: string;
}

function accountKey(userId: string): RocketChatAssociationRecord {
    return new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `relay-account\n${userId}`);
}

function fileKey(file: { name: string; size: number }): RocketChatAssociationRecord {
    return new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `file-sent\n${file.size}\n${file.name}`);
}

export async function readRelayAccount(reader: IPersistenceRead, userId: string): Promise<RelayAccountRecord | undefined> {
    return RELAY_ACCOUNTS.read(reader, accountKey(userId));
}

/** Notes that `userId` posts for server `server` (written only when new or changed). */
export async function learnRelayAccount(reader: IPersistenceRead, persistence: IPersistence, userId: string, server: string): Promise<void> {
    const known = await readRelayAccount(reader, userId);
    if (!known || known.server !== server) {
        await RELAY_ACCOUNTS.save(persistence, accountKey(userId), { userId, server, learnedAt: new Date().toISOString() });
    }
}

/** Notes the files of a message this server relays out. */
export async function noteFilesSent(persistence: IPersistence, files: Array<{ name: string; size: number }>, now = new Date()): Promise<void> {
    for (const file of files) {
        await FILES_SENT.save(persistence, fileKey(file), { name: file.name, size: file.size, sentAt: now.toISOString() });
    }
}

/**
 * Whether a message by `senderId` with these files is this server's own files coming back: the
 * sender is a relay account, and every file (name and size) was sent out from here lately.
 */
export async function isOwnFilesBack(reader: IPersistenceRead, senderId: string, files: Array<{ name: string; size: number }>, now = Date.now()): Promise<boolean> {
    if (files.length === 0 || !(await readRelayAccount(reader, senderId))) {
        return false;
    }
    for (const file of files) {
        const sent = await FILES_SENT.read(reader, fileKey(file));
        if (!sent || now - Date.parse(sent.sentAt) > FILE_ECHO_WINDOW_MS) {
            return false;
        }
    }
    return true;
}
