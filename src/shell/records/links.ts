import { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

import { RoomLink } from '../../core/links';

// Links made with `/relay link` (see core/links.ts), one record each.

const LINKS = new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, 'relay-bridge:link');

function linkKeys(id: string): RocketChatAssociationRecord[] {
    return [LINKS, new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `link:${id}`)];
}

export async function listLinks(reader: IPersistenceRead): Promise<RoomLink[]> {
    const found = ((await reader.readByAssociations([LINKS])) || []) as RoomLink[];
    return found.sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
}

export async function saveLink(persistence: IPersistence, link: RoomLink): Promise<void> {
    await persistence.updateByAssociations(linkKeys(link.id), link, true);
}

export async function removeLink(persistence: IPersistence, id: string): Promise<void> {
    await persistence.removeByAssociations(linkKeys(id));
}
