#!/usr/bin/env node
// Writes the README's target lists from the adapters (issue 16): the instance `type` list, the
// "How files travel" table and the target table come from each adapter's `type` and `docs`
// (src/core/adapter.ts TargetDocs), so adding a target is one adapter file and one test table.
// `npm run readme:targets` rewrites README.md; test/unit/targets/readme.test.ts fails when the
// README differs from what this would write.

const fs = require('fs');
const path = require('path');

const README = path.join(__dirname, '..', 'README.md');
const TYPE_ROW = /^\| `type` \| .*$/m;
const BLOCKS = {
    files: { begin: '<!-- generated: target files (npm run readme:targets) -->', header: '| target type | files | how and why |\n|---|---|---|' },
    targets: { begin: '<!-- generated: targets (npm run readme:targets) -->', header: '| target | instance | identity | limits and notes |\n|---|---|---|---|' },
};
const END = '<!-- end generated -->';

function typeRow(adapters) {
    const types = adapters.map((adapter) => `\`${adapter.type}\``).join(', ');
    return `| \`type\` | a target type (${types}) or \`inbound\` (only sends to us) |`;
}

function filesTable(adapters) {
    return adapters.map((adapter) => `| \`${adapter.type}\` | ${adapter.docs.files} | ${adapter.docs.filesHow} |`).join('\n');
}

function targetsTable(adapters) {
    const rows = [];
    adapters.forEach((adapter) => adapter.docs.rows.forEach((row) => rows.push(`| ${row.target} | ${row.instance} | ${row.identity} | ${row.notes} |`)));
    return rows.join('\n');
}

function replaceBlock(readme, block, body) {
    const start = readme.indexOf(block.begin);
    const end = start < 0 ? -1 : readme.indexOf(END, start);
    if (start < 0 || end < 0) {
        throw new Error(`README.md lacks "${block.begin}" … "${END}"`);
    }
    return `${readme.slice(0, start)}${block.begin}\n${block.header}\n${body}\n${readme.slice(end)}`;
}

/** The README with its target lists as the adapters state them. */
function renderReadme(readme, adapters) {
    if (!TYPE_ROW.test(readme)) {
        throw new Error('README.md lacks the "| `type` |" row of the instance keys table');
    }
    let out = readme.replace(TYPE_ROW, typeRow(adapters));
    out = replaceBlock(out, BLOCKS.files, filesTable(adapters));
    out = replaceBlock(out, BLOCKS.targets, targetsTable(adapters));
    return out;
}

/** Loads src/targets/index.ts with TypeScript's transpiler (no build step, no extra dependency). */
function loadAdapters() {
    const ts = require('typescript');
    require.extensions['.ts'] = (module, filename) => {
        const source = fs.readFileSync(filename, 'utf8');
        const output = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2019 }, fileName: filename });
        module._compile(output.outputText, filename);
    };
    return require(path.join(__dirname, '..', 'src', 'targets', 'index.ts')).ALL_TARGETS;
}

module.exports = { renderReadme };

if (require.main === module) {
    const before = fs.readFileSync(README, 'utf8');
    const after = renderReadme(before, loadAdapters());
    if (after !== before) {
        fs.writeFileSync(README, after);
        console.log('README.md: target lists rewritten from the adapters');
    } else {
        console.log('README.md: target lists already match the adapters');
    }
}
