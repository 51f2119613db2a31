#!/usr/bin/env node
// `npm run package`: builds dist/relay-bridge_<version>.zip with rc-apps, offline. `packageApp`
// also packages other app folders (the benchmark's baseline app) the same way.
//
// rc-apps compiles every .ts file under the folder it runs in and zips every other file, so it runs
// in a staged copy that holds only what ships (app.json, icon, src/, i18n/); tests and tooling
// never reach the compiler or the zip. The stage's node_modules links to ours: the old compiler
// needs the engine definitions, ui-kit, @types/node@16 and typescript there.
'use strict';

const fs = require('fs');
const path = require('path');
const childProcess = require('child_process');

const root = path.resolve(__dirname, '..');
const SHIPPED = ['app.json', 'icon.png', 'src', 'i18n'];

function stageApp(appDir, stageDir) {
    fs.rmSync(stageDir, { recursive: true, force: true });
    fs.mkdirSync(stageDir, { recursive: true });
    for (const entry of SHIPPED) {
        const from = path.join(appDir, entry);
        if (fs.existsSync(from)) {
            fs.cpSync(from, path.join(stageDir, entry), { recursive: true });
        }
    }
    // rc-apps requires an icon; an app folder without one (the benchmark baseline) borrows ours.
    if (!fs.existsSync(path.join(stageDir, 'icon.png'))) {
        fs.copyFileSync(path.join(root, 'icon.png'), path.join(stageDir, 'icon.png'));
    }
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(stageDir, 'node_modules'), 'dir');
    // rc-apps overwrites app.json's requiredApiVersion with this spec: keep the one app.json declares.
    const appJson = JSON.parse(fs.readFileSync(path.join(appDir, 'app.json'), 'utf8'));
    const stagePackage = {
        name: appJson.nameSlug,
        version: appJson.version,
        private: true,
        devDependencies: { '@rocket.chat/apps-engine': appJson.requiredApiVersion },
    };
    fs.writeFileSync(path.join(stageDir, 'package.json'), `${JSON.stringify(stagePackage, null, 2)}\n`);
}

/** rc-apps (apps-cli 1.9.0) run in a staged folder; its output is returned (or shown, `inherit`). */
function runRcApps(stageDir, args, { inherit = false } = {}) {
    const cli = path.join(root, 'node_modules', '@rocket.chat', 'apps-cli', 'bin', 'run');
    return childProcess.spawnSync(process.execPath, [cli, ...args], {
        cwd: stageDir,
        encoding: 'utf8',
        stdio: inherit ? 'inherit' : 'pipe',
        env: { ...process.env, FORCE_COLOR: '0' },
    });
}

/**
 * Stages the app (one stage per process: parallel runs — tests, benchmarks, npm start — never
 * collide), runs `rc-apps package` there and copies the zip to <workDir>/dist/.
 * @param {object} [options]
 * @param {string} [options.appDir] folder holding app.json and what ships (default: this project)
 * @param {string} [options.workDir] where .stage/ and dist/ go (default: this project); a private
 *     one keeps concurrent packaging runs (tests, benchmarks) from replacing each other's stage
 * @param {boolean} [options.quiet]
 * @param {boolean} [options.keepStage] leave the stage in place (the caller removes it): `npm run
 *     deploy` runs `rc-apps deploy` in the very folder this zip was built from
 * @returns {string} path of the zip in <workDir>/dist/ (with keepStage: `{ zip, stageDir, zipName }`)
 */
function packageApp({ appDir = root, workDir = root, quiet = false, keepStage = false } = {}) {
    const appJson = JSON.parse(fs.readFileSync(path.join(appDir, 'app.json'), 'utf8'));
    const stageDir = path.join(workDir, '.stage', `${appJson.nameSlug}-${process.pid}`);
    stageApp(appDir, stageDir);
    let handedOver = false;
    try {
        const result = runRcApps(stageDir, ['package']);
        const output = `${result.stdout || ''}${result.stderr || ''}`;
        if (result.status !== 0 || /error/i.test(output.replace(/0 errors?/gi, ''))) {
            throw new Error(`rc-apps package failed (exit ${result.status}):\n${output}`);
        }

        const zipName = `${appJson.nameSlug}_${appJson.version}.zip`;
        const built = path.join(stageDir, 'dist', zipName);
        if (!fs.existsSync(built)) {
            throw new Error(`rc-apps reported success but ${built} is missing:\n${output}`);
        }
        const distDir = path.join(workDir, 'dist');
        fs.mkdirSync(distDir, { recursive: true });
        const target = path.join(distDir, zipName);
        // Copy then rename: a reader never sees a half-written zip.
        fs.copyFileSync(built, `${target}.${process.pid}.tmp`);
        fs.renameSync(`${target}.${process.pid}.tmp`, target);
        if (!quiet) {
            console.log(`packaged ${path.relative(root, target)} (${fs.statSync(target).size} bytes)`);
        }
        handedOver = keepStage;
        return keepStage ? { zip: target, stageDir, zipName } : target;
    } finally {
        if (!handedOver) fs.rmSync(stageDir, { recursive: true, force: true });
    }
}

module.exports = { packageApp, runRcApps, stageApp };

if (require.main === module) {
    try {
        packageApp();
    } catch (e) {
        console.error(e.message);
        process.exit(1);
    }
}
