// The app API routing Rocket.Chat does: /api/apps/public/<appId>/<path> and
// /api/apps/private/<appId>/<hash>/<path>, endpoint paths may hold `:name` parameters.
'use strict';

class RouteTable {
    constructor() {
        this.byApp = new Map(); // appId -> [{ path, segments, visibility, methods }]
    }

    register(appId, { path, visibility, methods }) {
        const list = this.byApp.get(appId) || [];
        // ApiVisibility is numeric in the engine: PUBLIC = 0, PRIVATE = 1.
        const kind = visibility === 1 || visibility === 'private' ? 'private' : 'public';
        list.push({ path, segments: path.split('/').filter(Boolean), visibility: kind, methods });
        this.byApp.set(appId, list);
    }

    unregister(appId) {
        this.byApp.delete(appId);
    }

    list(appId) {
        return (this.byApp.get(appId) || []).map((r) => r.path);
    }

    /** Resolves a URL path to { appId, path, params, privateHash } or undefined. */
    resolve(urlPath) {
        const parts = urlPath.split('/').filter(Boolean).map(decodeURIComponent);
        if (parts[0] !== 'api' || parts[1] !== 'apps') return undefined;
        const visibility = parts[2];
        let appId;
        let rest;
        let privateHash;
        if (visibility === 'public') {
            [appId, ...rest] = parts.slice(3);
        } else if (visibility === 'private') {
            [appId, privateHash, ...rest] = parts.slice(3);
        } else {
            return undefined;
        }
        for (const route of this.byApp.get(appId) || []) {
            if (route.visibility !== visibility) continue;
            const params = matchSegments(route.segments, rest);
            if (params) return { appId, path: route.path, params, privateHash };
        }
        return undefined;
    }
}

function matchSegments(pattern, actual) {
    if (pattern.length !== actual.length) return undefined;
    const params = {};
    for (let i = 0; i < pattern.length; i++) {
        if (pattern[i].startsWith(':')) {
            params[pattern[i].slice(1).replace(/\?$/, '')] = actual[i];
        } else if (pattern[i] !== actual[i]) {
            return undefined;
        }
    }
    return params;
}

module.exports = { RouteTable };
