import { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

// An avatar copied to a target that shows only its own avatars (Matrix: the mxc:// URI), keyed by
// the target's server and the avatar URL, so every server instance and restart reuses the upload.

const KIND = new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, 'relay-bridge:hosted-avatar');

export interface HostedAvatarRecord {
    scope: string;
    avatarUrl: string;
    hostedUrl: string;
    createdAt: string;
}

function keysFor(scope: string, avatarUrl: string): RocketChatAssociationRecord[] {
    return [KIND, new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `hosted-avatar\n${scope}\n${avatarUrl}`)];
}

export async function readHostedAvatar(reader: IPersistenceRead, scope: string, avatarUrl: string): Promise<HostedAvatarRecord | undefined> {
    const found = (await reader.readByAssociations(keysFor(scope, avatarUrl))) as HostedAvatarRecord[];
    return found && found.length ? found[0] : undefined;
}

export async function saveHostedAvatar(persistence: IPersistence, scope: string, avatarUrl: string, hostedUrl: string): Promise<void> {
    const record: HostedAvatarRecord = { scope, avatarUrl, hostedUrl, createdAt: new Date().toISOString() };
    await persistence.updateByAssociations(keysFor(scope, avatarUrl), record, true);
}

export async function removeHostedAvatar(persistence: IPersistence, record: HostedAvatarRecord): Promise<void> {
    await persistence.removeByAssociations(keysFor(record.scope, record.avatarUrl));
}

/** Every hosted avatar record (for expiry). */
export async function listHostedAvatars(reader: IPersistenceRead): Promise<HostedAvatarRecord[]> {
    return ((await reader.readByAssociations([KIND])) || []) as HostedAvatarRecord[];
}
