#!/usr/bin/env node
// Prepares the Apps-Engine Deno runtime cache OFFLINE (run by `npm install` / `npm ci`).
//
// apps-engine 1.62.0 starts its Deno subprocess with `--cached-only` and an import map that names
// three jsr.io packages this machine cannot reach. The runtime uses one function from each
// (parseArgs, writeAll, toArrayBuffer) plus one value import from the unpublished src/ folder
// (AppsEngineException). We write small stand-ins, point the import map at them, and run
// `deno install` so the npm: packages land in DENO_DIR from the npm registry alone.
'use strict';

const fs = require('fs');
const path = require('path');
const childProcess = require('child_process');
const { engineDir, denoBinary, runtimeLinkDir, DENO_DIR } = require('./paths');

const MARKER = '.relay-bridge-offline';

function writeStandIns(runtimeDir) {
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

function rewriteImportMap(runtimeDir) {
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
    if (/jsr:/.test(text)) {
        throw new Error(`deno.jsonc still names jsr packages after the rewrite: ${configPath}`);
    }
    fs.writeFileSync(configPath, text);
    const lock = path.join(runtimeDir, 'deno.lock');
    if (fs.existsSync(lock)) {
        fs.renameSync(lock, `${lock}.jsr`); // it pins the jsr packages we replaced
    }
}

function main() {
    const runtimeDir = path.join(engineDir, 'deno-runtime');
    const deno = denoBinary();
    const marker = path.join(DENO_DIR, MARKER);
    if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === deno) {
        console.log('[relay-bridge] Deno runtime cache already prepared');
        return;
    }
    writeStandIns(runtimeDir);
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
    fs.writeFileSync(marker, deno);
    console.log(`[relay-bridge] Deno runtime cache prepared in ${DENO_DIR} (${Date.now() - started} ms)`);
}

main();
