#!/usr/bin/env node
// Prepares the Apps-Engine Deno runtime cache OFFLINE (run by `npm install` / `npm ci`).
//
// apps-engine 1.62.0 starts its Deno subprocess with `--cached-only` and an import map that names
// three jsr.io packages this machine cannot reach. The runtime uses one function from each
// (parseArgs, writeAll, toArrayBuffer) plus one value import from the unpublished src/ folder
// (AppsEngineException). We write small stand-ins, point the import map at them, and run
// `deno install` so the npm: packages land in DENO_DIR from the npm registry alone.
//
// apps-engine 1.53.1 (RELAY_BRIDGE_ENGINE=oldest) is prepared too, differently: see prepareOldest().
'use strict';

const fs = require('fs');
const path = require('path');
const childProcess = require('child_process');
const { engineInfo } = require('./paths');

const MARKER = '.relay-bridge-offline';

function writeStandIns(runtimeDir, engineDir, { sourceStandIn = true } = {}) {
    const dir = path.join(runtimeDir, 'offline-std');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
        path.join(dir, 'cli.ts'),
        `// Stand-in for jsr:@std/cli parseArgs: the runtime passes only --flag value / --flag=value pairs.
export function parseArgs(args: string[]): Record<string, unknown> {
    const out: Record<string, unknown> = { _: [] };
    const convert = (v: string): unknown => (/^-?\\d+(\\.\\d+)?$/.test(v) ? Number(v) : v);
    for (let i = 0; i < args.length; i++) {
        const arg = args[i];
        if (!arg.startsWith('--')) { (out._ as unknown[]).push(convert(arg)); continue; }
        const eq = arg.indexOf('=');
        if (eq > 0) { out[arg.slice(2, eq)] = convert(arg.slice(eq + 1)); continue; }
        const next = args[i + 1];
        if (next !== undefined && !next.startsWith('--')) { out[arg.slice(2)] = convert(next); i++; }
        else { out[arg.slice(2)] = true; }
    }
    return out;
}
`,
    );
    fs.writeFileSync(
        path.join(dir, 'io.ts'),
        `// Stand-in for jsr:@std/io writeAll.
export async function writeAll(writer: { write(p: Uint8Array): Promise<number> }, data: Uint8Array): Promise<void> {
    let written = 0;
    while (written < data.length) {
        written += await writer.write(data.subarray(written));
    }
}
`,
    );
    fs.writeFileSync(
        path.join(dir, 'streams.ts'),
        `// Stand-in for jsr:@std/streams toArrayBuffer.
export async function toArrayBuffer(stream: ReadableStream<Uint8Array>): Promise<ArrayBuffer> {
    const chunks: Uint8Array[] = [];
    let length = 0;
    for await (const chunk of stream) { chunks.push(chunk); length += chunk.length; }
    const out = new Uint8Array(length);
    let offset = 0;
    for (const chunk of chunks) { out.set(chunk, offset); offset += chunk.length; }
    return out.buffer;
}
`,
    );
    // 1.53.1 loads the exception with require() of the published .js: nothing to stand in for.
    if (!sourceStandIn) return;
    // The import map maps @rocket.chat/apps-engine/ to ../src/, which is not published.
    const exceptionDir = path.join(engineDir, 'src', 'definition', 'exceptions');
    fs.mkdirSync(exceptionDir, { recursive: true });
    fs.writeFileSync(
        path.join(exceptionDir, 'AppsEngineException.ts'),
        `// Stand-in for the unpublished source; mirrors definition/exceptions/AppsEngineException.js.
export class AppsEngineException extends Error {
    public static JSONRPC_ERROR_CODE = -32070;
    constructor(message?: string) {
        super();
        this.name = 'AppsEngineException';
        this.message = message ?? '';
    }
    public getErrorInfo() {
        return { name: this.name, message: this.message };
    }
}
`,
    );
}

function rewriteImportMap(runtimeDir, extraImports = {}, { trimLock = false } = {}) {
    const configPath = path.join(runtimeDir, 'deno.jsonc');
    const original = path.join(runtimeDir, 'deno.jsonc.orig');
    if (!fs.existsSync(original)) {
        fs.copyFileSync(configPath, original);
    }
    let text = fs.readFileSync(original, 'utf8');
    text = text
        .replace(/"@std\/cli": "jsr:[^"]+"/, '"@std/cli/parse-args": "./offline-std/cli.ts"')
        .replace(/"@std\/io": "jsr:[^"]+"/, '"@std/io": "./offline-std/io.ts"')
        .replace(/"@std\/streams": "jsr:[^"]+"/, '"@std/streams": "./offline-std/streams.ts"');
    for (const [from, to] of Object.entries(extraImports)) {
        text = text.replace('"imports": {', `"imports": {\n\t\t${JSON.stringify(from)}: ${JSON.stringify(to)},`);
    }
    if (/jsr:/.test(text)) {
        throw new Error(`deno.jsonc still names jsr packages after the rewrite: ${configPath}`);
    }
    fs.writeFileSync(configPath, text);
    const lock = path.join(runtimeDir, 'deno.lock');
    if (fs.existsSync(lock) && !fs.existsSync(`${lock}.jsr`)) {
        fs.renameSync(lock, `${lock}.jsr`); // it pins the jsr packages we replaced
    }
    if (trimLock && fs.existsSync(`${lock}.jsr`)) {
        // Keep the npm versions the release pinned (Deno 1.46 reads deno.lock next to the config;
        // without it @rocket.chat/ui-kit's peer @rocket.chat/icons floats from 0.32.0 to the latest).
        const pinned = JSON.parse(fs.readFileSync(`${lock}.jsr`, 'utf8'));
        const { specifiers = {} } = pinned.packages || {};
        for (const key of Object.keys(specifiers)) if (key.startsWith('jsr:')) delete specifiers[key];
        if (pinned.packages) delete pinned.packages.jsr;
        if (pinned.workspace && pinned.workspace.dependencies) {
            pinned.workspace.dependencies = pinned.workspace.dependencies.filter((d) => !d.startsWith('jsr:'));
        }
        fs.writeFileSync(lock, `${JSON.stringify(pinned, null, 2)}\n`);
    }
}

function alreadyPrepared(DENO_DIR, deno) {
    const marker = path.join(DENO_DIR, MARKER);
    return fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === deno;
}

function prepareDefault(info) {
    const { engineDir, runtimeLinkDir, DENO_DIR } = info;
    const runtimeDir = path.join(engineDir, 'deno-runtime');
    const deno = info.realDenoBinary();
    if (alreadyPrepared(DENO_DIR, deno)) {
        console.log(`[relay-bridge] Deno runtime cache already prepared (apps-engine ${info.version})`);
        return;
    }
    writeStandIns(runtimeDir, engineDir);
    rewriteImportMap(runtimeDir);

    // Deno ignores the import map for files under node_modules: install through a symlink outside it.
    fs.mkdirSync(path.dirname(runtimeLinkDir), { recursive: true });
    try {
        fs.unlinkSync(runtimeLinkDir);
    } catch (e) {
        if (e.code !== 'ENOENT') throw e;
    }
    fs.symlinkSync(runtimeDir, runtimeLinkDir, 'dir');
    const started = Date.now();
    childProcess.execFileSync(deno, ['install', '--config=deno.jsonc', '--entrypoint', 'main.ts'], {
        cwd: runtimeLinkDir,
        env: { ...process.env, DENO_DIR, DENO_NO_UPDATE_CHECK: '1' },
        stdio: 'inherit',
    });
    fs.writeFileSync(path.join(DENO_DIR, MARKER), deno);
    console.log(`[relay-bridge] Deno runtime cache prepared in ${DENO_DIR} (${Date.now() - started} ms)`);
}

/**
 * apps-engine 1.53.1 on Deno 1.46.3. Its runtime differs from 1.62.0's: the import map names only
 * jsr:@std/cli; writeAll comes from a plain https://deno.land URL (unreachable here), mapped to the
 * stand-in by a URL key in the import map; nothing value-imports from src/. The engine spawns
 * `deno run <node_modules>/…/deno-runtime/main.ts` with neither --config nor --cached-only, and
 * Deno 1.46 skips config files under node_modules and, finding our package.json, refuses main.ts
 * ("TypeScript files are not supported in npm packages"). Older 1.x found deno.jsonc next to
 * main.ts; a `deno` wrapper (what the host puts on PATH) names it and turns package.json off.
 */
function prepareOldest(info) {
    const { engineDir, DENO_DIR, shimDir } = info;
    let deno;
    try {
        deno = info.realDenoBinary();
    } catch (e) {
        console.warn(`[relay-bridge] apps-engine ${info.version} (RELAY_BRIDGE_ENGINE=oldest) not prepared: ${e.message}`);
        return;
    }
    const runtimeDir = path.join(engineDir, 'deno-runtime');
    const config = path.join(runtimeDir, 'deno.jsonc');
    const shim = path.join(shimDir, 'deno');
    if (alreadyPrepared(DENO_DIR, deno) && fs.existsSync(shim)) {
        console.log(`[relay-bridge] Deno runtime cache already prepared (apps-engine ${info.version})`);
        return;
    }
    writeStandIns(runtimeDir, engineDir, { sourceStandIn: false });
    rewriteImportMap(runtimeDir, { 'https://deno.land/std@0.216.0/io/write_all.ts': './offline-std/io.ts' }, { trimLock: true });

    fs.mkdirSync(shimDir, { recursive: true });
    fs.writeFileSync(
        shim,
        `#!/bin/sh
# Written by host/setup-deno.js: Deno 1.x as the apps-engine ${info.version} runtime expects it (see prepareOldest).
export DENO_NO_PACKAGE_JSON=1 DENO_NO_UPDATE_CHECK=1
if [ "$1" = run ]; then shift; exec "${deno}" run "--config=${config}" "$@"; fi
exec "${deno}" "$@"
`,
        { mode: 0o755 },
    );
    const started = Date.now();
    // What the engine's own scripts/deno-cache.js does (`deno cache main.ts`), with the config named.
    // Deno 1.46 ignores SSL_CERT_FILE: trust the system store too (a TLS-inspecting proxy here).
    childProcess.execFileSync(shim, ['cache', `--config=${config}`, 'main.ts'], {
        cwd: runtimeDir,
        env: { ...process.env, DENO_DIR, DENO_TLS_CA_STORE: process.env.DENO_TLS_CA_STORE || 'mozilla,system' },
        stdio: 'inherit',
    });
    fs.writeFileSync(path.join(DENO_DIR, MARKER), deno);
    console.log(`[relay-bridge] Deno runtime cache prepared in ${DENO_DIR} (${Date.now() - started} ms)`);
}

prepareDefault(engineInfo('default'));
prepareOldest(engineInfo('oldest'));
