// Rocket.Chat's REST API for installing and managing apps, as far as `rc-apps deploy` (apps-cli
// 1.9.0) and the admin UI's app pages use it: /api/info, the REST login, /api/v1/me and
// /api/apps[/:id[/settings|/status]]. Each answer has the server's status and shape; sources:
// apps/meteor/ee/server/apps/communication/rest.ts, apps/meteor/app/api/server/ApiClass.ts,
// default/info.ts, lib/getServerInfo.ts, lib/getUploadFormData.ts (RocketChat/Rocket.Chat); the
// rules and their tests are listed in docs/HOST-FIDELITY.md.
'use strict';

const crypto = require('crypto');
const busboy = require('busboy');
const express = require('express');
const bodyParser = require('body-parser');
const { engineRequire } = require('./engine');
const chatRest = require('./chat-rest');

const { AppStatus } = engineRequire('definition/AppStatus');

/** Roles of the permissions these routes check (server/constant/permissions.ts defaults). */
const PERMISSION_ROLES = { 'manage-apps': ['admin'] };

const LOGGED_OUT = 'You must be logged in to do this.';

/** A Meteor.Error as the REST layer sees it: `message` is "reason [error]" (or "[error]"). */
class MeteorError extends Error {
    constructor(error, reason) {
        super(reason ? `${reason} [${error}]` : `[${error}]`);
        this.error = error;
        this.reason = reason;
    }
}

/** API.v1.success / failure / notFound (ApiClass.ts). */
const result = {
    success: (body = {}) => ({ statusCode: 200, body: { ...body, success: true } }),
    failure: (body, errorType) => {
        if (body && typeof body === 'object') return { statusCode: 400, body: { ...body, success: false } };
        if (body === undefined) return { statusCode: 400, body: { success: false } };
        return { statusCode: 400, body: { success: false, error: body, ...(errorType ? { errorType } : {}) } };
    },
    notFound: (msg) => ({ statusCode: 404, body: { success: false, error: msg || 'Resource not found' } }),
};

function hashPassword(password, salt = crypto.randomBytes(16).toString('hex')) {
    return `${salt}:${crypto.scryptSync(String(password), salt, 32).toString('hex')}`;
}

function passwordMatches(stored, password) {
    const [salt] = stored.split(':');
    const candidate = Buffer.from(hashPassword(password, salt));
    return candidate.length === stored.length && crypto.timingSafeEqual(candidate, Buffer.from(stored));
}

/** getUploadFormData: one file in field `field`, up to `sizeLimit` bytes (-1: none), plus fields. */
function readUpload(req, { field, sizeLimit }) {
    return new Promise((resolve, reject) => {
        let bb;
        try {
            bb = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { files: 1, ...(sizeLimit > -1 ? { fileSize: sizeLimit } : {}) } });
        } catch (e) {
            reject(e); // not multipart at all: busboy's own error ("Unsupported content type: …")
            return;
        }
        const fields = Object.create(null);
        let upload;
        let failed = false;
        const fail = (e) => {
            failed = true;
            reject(e);
        };
        bb.on('field', (name, value) => {
            fields[name] = value;
        });
        bb.on('file', (name, file, info) => {
            if (field && name !== field) {
                file.resume();
                fail(new MeteorError('invalid-field'));
                return;
            }
            const chunks = [];
            file.on('data', (chunk) => chunks.push(chunk));
            file.on('end', () => {
                if (file.truncated) {
                    fail(new MeteorError('error-file-too-large'));
                    return;
                }
                upload = { filename: info.filename, mimetype: info.mimeType, fileBuffer: Buffer.concat(chunks) };
            });
        });
        bb.on('filesLimit', () => fail('Just 1 file is allowed'));
        bb.on('error', fail);
        bb.on('finish', () => {
            if (failed) return;
            if (!upload) reject(new MeteorError('No file uploaded'));
            else resolve({ ...upload, fields });
        });
        req.pipe(bb);
    });
}

class AppsRestApi {
    /**
     * @param {import('./host').LocalHost} host
     * @param {object} [options]
     * @param {Record<string, string>} [options.passwords] username → password of the seeded users
     */
    constructor(host, { passwords = {} } = {}) {
        this.host = host;
        this.passwords = new Map(); // userId -> scrypt hash
        this.tokens = new Map(); // login token -> userId (the server keeps hashed resume tokens)
        this.initialPasswords = passwords;
        /** Every zip received by POST /api/apps[/:id], in order: what a deploy uploaded. */
        this.uploads = [];
        /** Requests answered per route (`GET /api/v1/rooms.info`), for tests that count calls. */
        this.calls = {};
        this.router = this.buildRouter();
    }

    /** Sets the seeded users' passwords once the host has its users. */
    seed() {
        for (const [username, password] of Object.entries(this.initialPasswords)) this.setPassword(username, password);
    }

    setPassword(username, password) {
        const user = this.host.state.findUserByUsername(username);
        if (!user) throw new Error(`no user ${username}`);
        this.passwords.set(user.id, hashPassword(password));
    }

    /** For LocalHost.handle: resolves true when one of these routes answered. */
    handle(req, res) {
        return new Promise((resolve, reject) => {
            res.once('finish', () => resolve(true));
            this.router(req, res, (err) => (err ? reject(err) : resolve(false)));
        });
    }

    buildRouter() {
        const router = express();
        router.disable('x-powered-by');
        const json = [bodyParser.json(), bodyParser.urlencoded({ extended: true })];
        const route = (method, path, options, action) => {
            router[method](path, ...(method === 'get' || options.multipart ? [] : json), (req, res) => {
                const call = `${method.toUpperCase()} ${path}`;
                this.calls[call] = (this.calls[call] || 0) + 1;
                this.run(req, options, action)
                    .then(({ statusCode, body }) => res.status(statusCode).json(body))
                    .catch((e) => res.status(500).json({ success: false, error: e.message }));
            });
        };
        const appRoute = { authRequired: true, permissionsRequired: ['manage-apps'] };
        route('get', '/api/info', {}, () => this.info());
        route('post', '/api/v1/login', {}, (ctx) => this.login(ctx));
        route('get', '/api/v1/me', { authRequired: true }, (ctx) => result.success(this.userInfo(ctx.user)));
        route('post', '/api/apps', { ...appRoute, multipart: true }, (ctx) => this.install(ctx));
        route('post', '/api/v1/chat.sendMessage', { authRequired: true }, (ctx) => chatRest.sendMessage(this.host, ctx, result));
        route('get', '/api/v1/chat.getMessage', { authRequired: true }, (ctx) => chatRest.getMessage(this.host, ctx, result));
        route('get', '/api/v1/rooms.info', { authRequired: true }, (ctx) => chatRest.roomsInfo(this.host, ctx, result, MeteorError));
        route('post', '/api/v1/rooms.media/:rid', { authRequired: true, multipart: true }, (ctx) => chatRest.roomsMedia(this.host, ctx, result, readUpload));
        route('post', '/api/v1/rooms.mediaConfirm/:rid/:fileId', { authRequired: true }, (ctx) => chatRest.roomsMediaConfirm(this.host, ctx, result, MeteorError));
        for (const path of ['/api/v1/im.create', '/api/v1/dm.create']) route('post', path, { authRequired: true }, (ctx) => chatRest.imCreate(this.host, ctx, result, MeteorError));
        route('get', '/api/apps/:id', appRoute, (ctx) => this.getApp(ctx));
        route('post', '/api/apps/:id', { ...appRoute, multipart: true }, (ctx) => this.update(ctx));
        route('get', '/api/apps/:id/settings', appRoute, (ctx) => this.getSettings(ctx));
        route('post', '/api/apps/:id/settings', appRoute, (ctx) => this.saveSettings(ctx));
        route('get', '/api/apps/:id/status', appRoute, (ctx) => this.getStatus(ctx));
        route('post', '/api/apps/:id/status', appRoute, (ctx) => this.setStatus(ctx));
        return router;
    }

    /** ApiClass addRoute's wrapper: authentication, permissions, and thrown errors → 400/403. */
    async run(req, options, action) {
        const ctx = { req, urlParams: req.params, bodyParams: req.body || {}, queryParams: req.query };
        if (options.authRequired) {
            ctx.user = this.authenticate(req);
            if (!ctx.user) return { statusCode: 401, body: { success: false, error: LOGGED_OUT, status: 'error', message: LOGGED_OUT } };
        }
        try {
            if (options.permissionsRequired) {
                const allowed = options.permissionsRequired.every((p) => (PERMISSION_ROLES[p] || []).some((role) => ctx.user.roles.includes(role)));
                if (!allowed) throw new MeteorError('error-unauthorized', 'User does not have the permissions required for this action');
            }
            return (await action(ctx)) || result.success();
        } catch (e) {
            const message = typeof e === 'string' ? e : e.message;
            if (e && (e.error === 'unauthorized' || e.error === 'error-unauthorized')) return { statusCode: 403, body: { success: false, error: message } };
            return result.failure(message, e && e.error);
        }
    }

    /** X-User-Id + X-Auth-Token, both required (ApiClass authenticatedRoute). */
    authenticate(req) {
        return this.userByLoginToken(req.headers['x-user-id'], req.headers['x-auth-token']);
    }

    /** The user a login token belongs to (Users.findOneByIdAndLoginToken). */
    userByLoginToken(userId, token) {
        if (!userId || !token || this.tokens.get(String(token)) !== String(userId)) return undefined;
        return this.host.state.users.get(String(userId));
    }

    info() {
        // authRequired is false, so the route never knows the caller: everyone gets major.minor.
        return result.success({ version: this.host.serverVersion.replace(/(\d+\.\d+).*/, '$1') });
    }

    login({ bodyParams }) {
        const { user, username, email, password } = bodyParams;
        const name = typeof user === 'string' ? user : username || email;
        const found = name ? [...this.host.state.users.values()].find((u) => u.username === name || (u.emails || []).some((e) => e.address === name)) : undefined;
        const hash = found && this.passwords.get(found.id);
        if (!found || !hash) {
            return { statusCode: 401, body: { success: false, status: 'error', error: 'Unauthorized', message: 'Unauthorized' } };
        }
        if (password == null || !passwordMatches(hash, typeof password === 'string' ? password : '')) {
            return { statusCode: 401, body: { success: false, status: 'error', error: 403, message: 'Incorrect password' } };
        }
        const authToken = crypto.randomBytes(32).toString('base64url');
        this.tokens.set(authToken, found.id);
        return result.success({ status: 'success', data: { userId: found.id, authToken, me: this.userInfo(found) } });
    }

    userInfo(user) {
        return { _id: user.id, username: user.username, name: user.name, status: user.status, active: user.isEnabled, roles: user.roles, emails: user.emails, utcOffset: user.utcOffset, type: user.type };
    }

    /** The acting admin as the converters hand it to the engine. */
    appUser(user) {
        return user;
    }

    async install({ req, user }) {
        if (req.body && req.body.url) return result.failure('local host: installing from a URL is not supported');
        const upload = await readUpload(req, { field: 'app', sizeLimit: this.host.serverSettings.FileUpload_MaxFileSize });
        this.uploads.push({ method: 'install', zip: upload.fileBuffer });
        const { manager } = this.host;
        const aff = await manager.add(upload.fileBuffer, { permissionsGranted: grantedPermissions(upload.fields), enable: false, user: this.appUser(user) });
        const info = aff.getAppInfo();
        if (aff.hasStorageError()) return result.failure({ error: 'app_storage_error', status: 'storage_error', messages: [aff.getStorageError()] });
        if (aff.hasAppUserError()) {
            const e = aff.getAppUserError();
            return result.failure({ error: 'app_user_error', status: 'app_user_error', messages: [e.message], payload: { username: e.username } });
        }
        info.status = await aff.getApp().getStatus();
        try {
            const enabled = await manager.changeStatus(info.id, AppStatus.MANUALLY_ENABLED);
            info.status = await enabled.getStatus();
        } catch (e) {
            this.host.emit('restWarning', `App was installed but could not be enabled: ${e.message}`);
        }
        this.host.adoptApp(aff.getApp());
        return result.success({ app: info, implemented: aff.getImplementedInferfaces(), licenseValidation: aff.getLicenseValidationResult() });
    }

    async update({ req, user }) {
        if (req.body && req.body.url) return result.failure('local host: updating from a URL is not supported');
        const upload = await readUpload(req, { field: 'app', sizeLimit: this.host.serverSettings.FileUpload_MaxFileSize });
        // A private app on a workspace without a valid license may not be updated ("exempt app").
        if (!this.host.license.valid) return result.failure({ error: 'Cannot_Update_Exempt_App' });
        this.uploads.push({ method: 'update', zip: upload.fileBuffer });
        // The server updates whatever app the zip declares; the :id in the path is not compared.
        const aff = await this.host.manager.update(upload.fileBuffer, grantedPermissions(upload.fields), { user: this.appUser(user), loadApp: true });
        const info = aff.getAppInfo();
        if (aff.hasStorageError()) return result.failure({ status: 'storage_error', messages: [aff.getStorageError()] });
        if (aff.hasAppUserError()) {
            const e = aff.getAppUserError();
            return result.failure({ status: 'app_user_error', messages: [e.message], payload: { username: e.username } });
        }
        info.status = await aff.getApp().getStatus();
        this.host.adoptApp(this.host.manager.getOneById(info.id));
        return result.success({ app: info, implemented: aff.getImplementedInferfaces(), licenseValidation: aff.getLicenseValidationResult() });
    }

    async getApp({ urlParams }) {
        const app = this.host.manager.getOneById(urlParams.id);
        if (!app) return result.notFound(`No App found by the id of: ${urlParams.id}`);
        const item = app.getStorageItem();
        const formatted = {
            ...app.getInfo(),
            status: await app.getStatus(),
            languages: item.languageContent,
            private: (item.installationSource || ('marketplaceInfo' in item ? 'marketplace' : 'private')) === 'private',
            migrated: !!item.migrated,
        };
        return result.success({ app: formatted });
    }

    getSettings({ urlParams }) {
        const app = this.host.manager.getOneById(urlParams.id);
        if (!app) return result.notFound(`No App found by the id of: ${urlParams.id}`);
        const settings = { ...app.getStorageItem().settings };
        for (const key of Object.keys(settings)) if (settings[key].hidden) delete settings[key];
        return result.success({ settings });
    }

    /** The admin UI posts every setting; only those whose value changed are applied, in order. */
    async saveSettings({ urlParams, bodyParams }) {
        if (!bodyParams || !bodyParams.settings) return result.failure('The settings to update must be present.');
        const app = this.host.manager.getOneById(urlParams.id);
        if (!app) return result.notFound(`No App found by the id of: ${urlParams.id}`);
        return result.success({ updated: await this.host.applyChangedSettings(urlParams.id, bodyParams.settings) });
    }

    async getStatus({ urlParams }) {
        const app = this.host.manager.getOneById(urlParams.id);
        if (!app) return result.notFound(`No App found by the id of: ${urlParams.id}`);
        return result.success({ status: await app.getStatus() });
    }

    async setStatus({ urlParams, bodyParams }) {
        const { status } = bodyParams;
        if (!status || typeof status !== 'string') return result.failure('Invalid status provided, it must be "status" field and a string.');
        const app = this.host.manager.getOneById(urlParams.id);
        if (!app) return result.notFound(`No App found by the id of: ${urlParams.id}`);
        const changed = await this.host.manager.changeStatus(app.getID(), status);
        // The server answers `{ status: result.getStatus() }` without awaiting it: a Promise,
        // which JSON turns into {}. Clients read the status again (GET …/status) instead.
        return result.success({ status: changed.getStatus() });
    }
}

function grantedPermissions(fields) {
    try {
        const permissions = JSON.parse(fields.permissions || '');
        return permissions.length ? permissions : undefined;
    } catch {
        return undefined;
    }
}

module.exports = { AppsRestApi };
