// Where the local host finds the engine, the Deno binary and its cache. One place, used by the
// setup step, the host and the tests.
//
// RELAY_BRIDGE_ENGINE picks the engine the host runs (default: 1.62.0):
//   oldest  1.53.1, the oldest release the app's requiredApiVersion (^1.53.1) admits, with its own
//           server/ and deno-runtime/ (the two go together) on Deno 1.46.3 (see setup-deno.js).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const projectRoot = path.resolve(__dirname, '..');

const ENGINES = {
    // The server half of the engine exists only up to 1.62.0; the app may compile against another version.
    default: { pkg: '@rocket.chat/apps-engine', deno: 'deno' },
    // Runtimes before 1.62 start main.ts from inside node_modules without --config, which Deno 2 refuses.
    oldest: { pkg: 'apps-engine-oldest', deno: 'deno-1' },
};

function resolvePackageDir(name) {
    return path.dirname(require.resolve(`${name}/package.json`, { paths: [projectRoot] }));
}

/** Everything the setup step and the host need to know about one engine. */
function engineInfo(name) {
    const spec = ENGINES[name];
    if (!spec) throw new Error(`RELAY_BRIDGE_ENGINE=${name}: unknown engine (use one of ${Object.keys(ENGINES).join(', ')})`);
    const engineDir = resolvePackageDir(spec.pkg);
    return {
        name,
        engineDir,
        version: require(path.join(engineDir, 'package.json')).version,
        DENO_DIR: path.join(engineDir, '.deno-cache'),
        // Outside the project: Deno walks up from its cwd and would read our package.json (npm aliases it rejects).
        runtimeLinkDir: path.join(os.tmpdir(), 'relay-bridge-deno-install', name === 'default' ? 'deno-runtime' : `deno-runtime-${name}`),
        // The oldest engine's `deno` is a wrapper script written by setup-deno.js (the engine spawns plain `deno`).
        shimDir: name === 'default' ? undefined : path.join(engineDir, '.deno-shim'),
        realDenoBinary: () => realDenoBinary(spec.deno),
        /** What the engine must find as `deno` on PATH. */
        denoBinary() {
            if (!this.shimDir) return realDenoBinary(spec.deno);
            const shim = path.join(this.shimDir, 'deno');
            if (!fs.existsSync(shim)) throw new Error(`${shim} is missing: run \`npm ci\` (postinstall: host/setup-deno.js)`);
            return shim;
        },
    };
}

function realDenoBinary(denoPackage) {
    if (denoPackage === 'deno') return require('deno/install_api.cjs').runInstall();
    // deno-1 is the bare platform package (@deno/linux-x64-glibc@1.46.3): the `deno@1.46.3` wrapper
    // names platform packages the registry does not have, which breaks `npm ci` on the lockfile.
    // Without the wrapper's install script nobody marks the binary executable.
    let dir;
    try {
        dir = resolvePackageDir(denoPackage);
    } catch (e) {
        throw new Error(`${denoPackage} (Deno 1.46.3) is not installed: it exists only for linux-x64 (optionalDependencies)`);
    }
    const binary = path.join(dir, 'deno');
    const mode = fs.statSync(binary).mode;
    if ((mode & 0o111) !== 0o111) fs.chmodSync(binary, mode | 0o755);
    return binary;
}

const engineName = process.env.RELAY_BRIDGE_ENGINE || 'default';
const selected = engineInfo(engineName);
const { engineDir, DENO_DIR, runtimeLinkDir } = selected;

function denoBinary() {
    return selected.denoBinary();
}

module.exports = { projectRoot, engineName, engineDir, DENO_DIR, runtimeLinkDir, denoBinary, engineInfo, ENGINE_NAMES: Object.keys(ENGINES) };
