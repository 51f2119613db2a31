// GET /file-upload/<id>/<name>: the server's route for uploaded files
// (apps/meteor/app/file-upload/server/lib/requests.ts) with its access check
// (FileUpload.ts `requestCanAccessFiles`).
'use strict';

const PATH = '/file-upload/';

/** Answers the request when it is for /file-upload/…; returns false for every other path. */
function serveFileUpload(host, req, res, url) {
    if (!url.pathname.startsWith(PATH)) return false;
    const match = /^\/([^/]+)\/(.*)/.exec(url.pathname.slice(PATH.length - 1));
    const stored = match && host.state.uploads.get(decodeURIComponent(match[1]));
    if (!stored) {
        res.writeHead(404);
        res.end();
        return true;
    }
    if (!canAccessFiles(host, req, url)) {
        res.writeHead(403);
        res.end();
        return true;
    }
    res.setHeader('Content-Security-Policy', "default-src 'none'");
    res.setHeader('Cache-Control', 'max-age=31536000');
    res.writeHead(200, { 'Content-Type': stored.upload.type || 'application/octet-stream', 'Content-Length': stored.bytes.length });
    res.end(req.method === 'HEAD' ? undefined : Buffer.from(stored.bytes));
    return true;
}

/**
 * With FileUpload_ProtectFiles off anyone may read; on, only a logged-in user: `rc_uid`/`rc_token`
 * from the query or the cookies, else the X-User-Id/X-Auth-Token headers. (The room-based check
 * for livechat visitors, JWT links and the room-member restrictions, all off by default, are not
 * modelled.)
 */
function canAccessFiles(host, req, url) {
    if (!host.serverSettings.FileUpload_ProtectFiles) return true;
    const cookies = parseCookies(req.headers.cookie);
    let uid = url.searchParams.get('rc_uid');
    let token = url.searchParams.get('rc_token');
    if (!uid && req.headers.cookie) {
        uid = cookies.rc_uid;
        token = cookies.rc_token;
    }
    uid = uid || req.headers['x-user-id'];
    token = token || req.headers['x-auth-token'];
    return Boolean(host.appsRest.userByLoginToken(uid, token));
}

function parseCookies(header) {
    const out = {};
    for (const part of String(header || '').split(';')) {
        const eq = part.indexOf('=');
        if (eq > 0) out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
    }
    return out;
}

module.exports = { serveFileUpload };
