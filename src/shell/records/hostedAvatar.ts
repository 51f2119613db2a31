import { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

import { recordKind } from './recordKind';

// An avatar copied to a target that shows only its own avatars (Matrix: the mxc:// URI), keyed by
// the target's server and the avatar URL, so every server instance and restart reuses the upload.

const HOSTED_AVATARS = recordKind<HostedAvatarRecord>('relay-bridge:hosted-avatar');

export interface HostedAvatarRecord {
    scope: string;
    avatarUrl: string;
    hostedUrl: string;
    createdAt: string;
}

function keyFor(scope: string, avatarUrl: string): RocketChatAssociationRecord {
    return new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `hosted-avatar\n${scope}\n${avatarUrl}`);
}

export function readHostedAvatar(reader: IPersistenceRead, scope: string, avatarUrl: string): Promise<HostedAvatarRecord | undefined> {
    return HOSTED_AVATARS.read(reader, keyFor(scope, avatarUrl));
}

export function saveHostedAvatar(persistence: IPersistence, scope: string, avatarUrl: string, hostedUrl: string): Promise<void> {
    return HOSTED_AVATARS.save(persistence, keyFor(scope, avatarUrl), { scope, avatarUrl, hostedUrl, createdAt: new Date().toISOString() });
}

export function removeHostedAvatar(persistence: IPersistence, record: HostedAvatarRecord): Promise<void> {
    return HOSTED_AVATARS.remove(persistence, keyFor(record.scope, record.avatarUrl));
}

/** Every hosted avatar record (for expiry). */
export function listHostedAvatars(reader: IPersistenceRead): Promise<HostedAvatarRecord[]> {
    return HOSTED_AVATARS.list(reader);
}
