// Where the local host finds the engine, the Deno binary and its cache. One place, used by the
// setup step, the host and the tests.
'use strict';

const os = require('os');
const path = require('path');

const projectRoot = path.resolve(__dirname, '..');
// The server half of the engine exists only up to 1.62.0; the app may compile against another version.
const engineDir = path.dirname(require.resolve('@rocket.chat/apps-engine/package.json', { paths: [projectRoot] }));
const DENO_DIR = path.join(engineDir, '.deno-cache');
// Outside the project: Deno walks up from its cwd and would read our package.json (npm aliases it rejects).
const runtimeLinkDir = path.join(os.tmpdir(), 'relay-bridge-deno-install', 'deno-runtime');

function denoBinary() {
    return require('deno/install_api.cjs').runInstall();
}

module.exports = { projectRoot, engineDir, DENO_DIR, runtimeLinkDir, denoBinary };
