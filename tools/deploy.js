#!/usr/bin/env node
// `npm run deploy -- --url https://chat.example.com --username admin --password '…' [--update]`:
// packages the app exactly as `npm run package` does (dist/<slug>_<version>.zip) and runs the real
// `rc-apps deploy` (apps-cli 1.9.0) with every flag passed on, in the same staged folder.
//
// rc-apps deploy, like rc-apps package, compiles every .ts file under the folder it runs in and
// rewrites app.json there; run in the project it fails on the tests and rewrites our app.json. In
// the stage it compiles exactly what ships. It always builds its own zip before uploading (there is
// no flag to upload a given file), so afterwards the uploaded zip is compared, file by file, with
// dist/: only `.packagedby` (it holds the build time) may differ. The working tree is checked too.
'use strict';

const fs = require('fs');
const path = require('path');
const childProcess = require('child_process');
const AdmZip = require('adm-zip');
const { packageApp, runRcApps } = require('./package');

const root = path.resolve(__dirname, '..');

/** `git status --porcelain` of the project, or undefined outside a git checkout. */
function workingTreeState() {
    const result = childProcess.spawnSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: root, encoding: 'utf8' });
    return result.status === 0 ? result.stdout : undefined;
}

/** Files whose bytes differ between two zips (entry names), ignoring `.packagedby`. */
function zipDifferences(a, b) {
    const read = (file) => new Map(new AdmZip(file).getEntries().filter((e) => !e.isDirectory && e.entryName !== '.packagedby').map((e) => [e.entryName, e.getData()]));
    const left = read(a);
    const right = read(b);
    const names = new Set([...left.keys(), ...right.keys()]);
    const differing = [...names].filter((n) => !left.has(n) || !right.has(n) || !left.get(n).equals(right.get(n))).sort();
    return { differing, files: left.size };
}

function deploy(args) {
    const treeBefore = workingTreeState();
    const { zip, stageDir, zipName } = packageApp({ keepStage: true });
    try {
        // A .rcappsconfig (url, username/password or userId/token) is read from the folder the CLI
        // runs in; dotfiles never go into the zip.
        const config = path.join(root, '.rcappsconfig');
        if (fs.existsSync(config)) fs.copyFileSync(config, path.join(stageDir, '.rcappsconfig'));
        const uploaded = path.join(stageDir, 'dist', zipName);
        fs.rmSync(uploaded, { force: true }); // deploy writes the zip it uploads here
        console.log(`running rc-apps deploy ${args.map((a, i) => (/^(-p|--password)$/.test(args[i - 1] || '') || /^--password=/.test(a) ? '***' : a)).join(' ')}`);
        const result = runRcApps(stageDir, ['deploy', ...args], { inherit: true });
        if (result.status !== 0) return { ok: false, message: `rc-apps deploy failed (exit ${result.status}); nothing else was changed` };
        if (!fs.existsSync(uploaded)) return { ok: false, message: 'rc-apps deploy reported success but built no zip' };
        const { differing, files } = zipDifferences(zip, uploaded);
        if (differing.length) {
            return { ok: false, message: `the uploaded zip differs from ${path.relative(root, zip)} in: ${differing.join(', ')}` };
        }
        const treeAfter = workingTreeState();
        if (treeBefore !== undefined && treeAfter !== treeBefore) {
            return { ok: false, message: `the working tree changed during the deploy:\n${treeAfter}` };
        }
        return {
            ok: true,
            message: `deployed ${path.relative(root, zip)}: the uploaded zip has the same ${files} files, byte for byte (only .packagedby, the build time, differs); ${treeBefore === undefined ? 'not a git checkout' : 'working tree unchanged'}`,
        };
    } finally {
        fs.rmSync(stageDir, { recursive: true, force: true });
    }
}

module.exports = { deploy, zipDifferences };

if (require.main === module) {
    try {
        const { ok, message } = deploy(process.argv.slice(2));
        console.log(ok ? message : `✖ ${message}`);
        process.exit(ok ? 0 : 1);
    } catch (e) {
        console.error(e.message);
        process.exit(1);
    }
}
