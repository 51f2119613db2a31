// Rules added from a room with `/relay link`, kept in persistence and merged into the admin's
// relay configuration: the settings JSON stays the admin's text, links ride on top of it.

import type { RelayInstance } from './config';
import { maskUrl } from './redact';

export interface RoomLink {
    id: string;
    /** Room id; empty for quick links, which name the room. */
    roomId: string;
    roomName: string;
    /** An instance of the configuration… */
    instance?: string;
    /** …or an Apprise-style URL that becomes an instance of its own. */
    url?: string;
    createdBy: string;
    createdAt: string;
    /**
     * Made by a room owner who is not an admin: kept only while its instance stays `linkable`
     * from this room. Links from before this field were made by owners or admins alike.
     */
    byOwner?: boolean;
}

/** Whether a room owner who is not an admin may link the room to `instance` (its `linkable` key). */
export function linkableFrom(instance: RelayInstance, room: { id: string; name: string }): boolean {
    const allowed = instance.linkable;
    if (allowed === true) {
        return true;
    }
    const name = room.name.toLowerCase();
    return (allowed || []).some((entry) => entry === '*' || entry === room.id || entry.replace(/^#/, '').toLowerCase() === name);
}

/** Instance name a URL link gets in the merged configuration. */
export function linkInstanceName(link: RoomLink): string {
    return link.instance || `link_${link.id}`;
}

/**
 * Adds the links' instances and forward rules to the configuration text. Invalid JSON is returned
 * unchanged, so its error keeps pointing at the admin's own line and column.
 */
export function mergeLinks(configText: string, links: RoomLink[]): string {
    if (links.length === 0) {
        return configText;
    }
    let config: any;
    try {
        config = JSON.parse(configText || '{}');
    } catch {
        return configText;
    }
    if (!config || typeof config !== 'object' || Array.isArray(config)) {
        return configText;
    }
    const instances = config.instances && typeof config.instances === 'object' ? { ...config.instances } : {};
    const rules = Array.isArray(config.rules) ? config.rules.slice() : [];
    for (const link of links) {
        const name = linkInstanceName(link);
        if (link.url) {
            instances[name] = { url: link.url };
        }
        const from = link.roomId ? { room_id: link.roomId } : { room: link.roomName };
        rules.push({ id: `link-${link.id}`, from: { rocketchat: from }, to: { [name]: {} } });
    }
    return JSON.stringify({ ...config, instances, rules });
}

/**
 * The "Quick relay" setting: `#room url url; #other url` — each room relayed to the URLs after it,
 * for the common case without writing JSON. Becomes links (merged like `/relay link`).
 */
export function parseQuickLinks(text: string): RoomLink[] {
    const links: RoomLink[] = [];
    const groups = (text || '').split(/[;\n]+/);
    groups.forEach((group, index) => {
        const words = group.trim().split(/\s+/).filter((w) => w !== '');
        if (words.length === 0) {
            return;
        }
        const room = words[0];
        if (room.charAt(0) !== '#' || room.length < 2) {
            throw new QuickLinkError(index, `starts with "${room.slice(0, 40)}", not a #room`);
        }
        if (words.length < 2) {
            throw new QuickLinkError(index, `${room} has no URL after it`);
        }
        for (const url of words.slice(1)) {
            if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
                throw new QuickLinkError(index, `"${maskUrl(url)}" after ${room} is not a URL such as discord://id/token`);
            }
            links.push({ id: `quick${index + 1}_${links.length + 1}`, roomId: '', roomName: room.slice(1), url, createdBy: 'settings', createdAt: '' });
        }
    });
    return links;
}

export class QuickLinkError extends Error {
    constructor(public readonly group: number, problem: string) {
        super(`Quick relay, group ${group + 1}: ${problem}`);
    }
}
