// App API endpoints served the way Rocket.Chat serves them: an express app with body-parser's
// urlencoded() and json() at their defaults (100 kB, other content types → `{}`), one express
// Router per app with `router.all(path)`, and the server's answers for parser errors, unknown
// paths and endpoints that throw. Sources: apps/meteor/app/apps/server/bridges/router.ts and
// api.ts (RocketChat/Rocket.Chat); see docs/HOST-FIDELITY.md.
'use strict';

const express = require('express');
const bodyParser = require('body-parser');
const finalhandler = require('finalhandler');

class AppRouter {
    /**
     * @param {() => object} apiManager the engine's ApiManager (executeApi)
     * @param {(call: Promise) => void} [track] told of every call under way (the host waits for them before it stops)
     */
    constructor(apiManager, track = () => undefined) {
        this.apiManager = apiManager;
        this.track = track;
        this.routers = new Map(); // appId -> express.Router
        this.paths = new Map(); // appId -> endpoint paths, in registration order
        const server = express();
        server.disable('x-powered-by');
        // Rocket.Chat calls urlencoded() without options; `extended: true` is what that means in
        // body-parser 1.x (it only adds a deprecation warning). Limits stay at the 100 kB default.
        const parsers = [bodyParser.urlencoded({ extended: true }), bodyParser.json()];
        server.use('/api/apps/private/:appId/:hash', ...parsers);
        server.use('/api/apps/public/:appId', ...parsers);
        server.use('/api/apps/private/:appId/:hash', (req, res) => this.dispatch(req, res, req.params.hash));
        server.use('/api/apps/public/:appId', (req, res) => this.dispatch(req, res));
        // Parser errors (400, 413, 415) fall through to Meteor's connect stack, which ends in
        // finalhandler in production mode: an HTML page with the status text, no stack. (Its
        // console logging is left out: the tests send thousands of such requests.)
        // eslint-disable-next-line no-unused-vars
        server.use((err, req, res, next) => finalhandler(req, res, { env: 'production' })(err));
        this.server = server;
    }

    dispatch(req, res, privateHash) {
        const router = this.routers.get(req.params.appId);
        if (!router) return res.sendStatus(404);
        req._privateHash = privateHash;
        return router(req, res, () => res.sendStatus(404));
    }

    /** bridges/api.ts registerApi: one route per endpoint, every method, `:param` paths allowed. */
    register(appId, { path }) {
        let router = this.routers.get(appId);
        if (!router) {
            router = express.Router();
            this.routers.set(appId, router);
            this.paths.set(appId, []);
        }
        this.paths.get(appId).push(path);
        const routePath = path.trim().startsWith('/') ? path.trim() : `/${path.trim()}`;
        router.all(routePath, (req, res) => this.execute(appId, path, req, res));
    }

    unregister(appId) {
        this.routers.delete(appId);
        this.paths.delete(appId);
    }

    list(appId) {
        return [...(this.paths.get(appId) || [])];
    }

    /** bridges/api.ts _appApiExecutor: the request as the app sees it, and the reply as sent. */
    execute(appId, path, req, res) {
        const request = {
            method: req.method.toLowerCase(),
            headers: req.headers,
            query: req.query || {},
            params: req.params || {},
            content: req.body,
            privateHash: req._privateHash,
        };
        const call = this.apiManager().executeApi(appId, path, request);
        this.track(call);
        call.then(({ status, headers = {}, content }) => {
            res.set(headers);
            res.status(status);
            res.send(content);
        }).catch((reason) => {
            res.status(500).send(reason.message);
        });
    }
}

module.exports = { AppRouter };
