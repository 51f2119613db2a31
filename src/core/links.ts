// Rules added from a room with `/relay link`, kept in persistence and merged into the admin's
// relay configuration: the settings JSON stays the admin's text, links ride on top of it.

export interface RoomLink {
    id: string;
    roomId: string;
    roomName: string;
    /** An instance of the configuration… */
    instance?: string;
    /** …or an Apprise-style URL that becomes an instance of its own. */
    url?: string;
    createdBy: string;
    createdAt: string;
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
        rules.push({ id: `link-${link.id}`, from: { rocketchat: { room_id: link.roomId } }, to: { [name]: {} } });
    }
    return JSON.stringify({ ...config, instances, rules });
}

/** URL with its credentials and path secrets hidden, for replies and logs. */
export function maskUrl(url: string): string {
    const match = /^([a-z][a-z0-9+.-]*:\/\/)(?:[^@/]*@)?([^/?#]*)/i.exec(url);
    return match ? `${match[1]}${/@/.test(url.split('/').slice(0, 3).join('/')) ? '***@' : ''}${match[2]}/***` : '***';
}
