#!/usr/bin/env node
// Writes what is derived from the adapter files (issue 16), so adding a target is one adapter
// file and one test table:
// - src/targets/index.ts: the imports and ALL_TARGETS, one per `export const …: TargetAdapter<…>`
//   in src/targets/*.ts (in file-name order);
// - README.md: the instance `type` list, the "How files travel" table and the target table, from
//   each adapter's `type` and `docs` (src/core/adapter.ts TargetDocs).
// `npm run targets:generate` rewrites both; test/unit/targets/readme.test.ts fails when either
// differs from what this would write.

const fs = require('fs');
const path = require('path');

const README = path.join(__dirname, '..', 'README.md');
const TARGETS_DIR = path.join(__dirname, '..', 'src', 'targets');
const INDEX = path.join(TARGETS_DIR, 'index.ts');
const INDEX_BEGIN = '// generated: adapters (npm run targets:generate)';
const INDEX_END = '// end generated';
const ADAPTER_EXPORT = /^export const (\w+): TargetAdapter</m;

/** The adapter files of src/targets and the adapter each exports, in file-name order. */
function adapterExports(dir = TARGETS_DIR) {
    return fs.readdirSync(dir).filter((name) => /\.ts$/.test(name) && name !== 'index.ts').sort().map((name) => {
        const match = ADAPTER_EXPORT.exec(fs.readFileSync(path.join(dir, name), 'utf8'));
        return match ? { module: `./${name.replace(/\.ts$/, '')}`, name: match[1] } : undefined;
    }).filter((entry) => entry !== undefined);
}

/** src/targets/index.ts with its generated block listing `adapters`. */
function renderIndex(index, adapters) {
    const start = index.indexOf(INDEX_BEGIN);
    const end = start < 0 ? -1 : index.indexOf(INDEX_END, start);
    if (start < 0 || end < 0) {
        throw new Error(`src/targets/index.ts lacks "${INDEX_BEGIN}" … "${INDEX_END}"`);
    }
    const body = adapters.map((adapter) => `import { ${adapter.name} } from '${adapter.module}';`)
        .concat(['', 'export const ALL_TARGETS: TargetAdapter[] = [', ...adapters.map((adapter) => `    ${adapter.name},`), '];']);
    return `${index.slice(0, start)}${INDEX_BEGIN}\n${body.join('\n')}\n${index.slice(end)}`;
}
const TYPE_ROW = /^\| `type` \| .*$/m;
const BLOCKS = {
    files: { begin: '<!-- generated: target files (npm run targets:generate) -->', header: '| target type | files | how and why |\n|---|---|---|' },
    targets: { begin: '<!-- generated: targets (npm run targets:generate) -->', header: '| target | instance | identity | limits and notes |\n|---|---|---|---|' },
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

module.exports = { renderReadme, renderIndex, adapterExports };

function write(file, before, after, what) {
    if (after !== before) {
        fs.writeFileSync(file, after);
        console.log(`${path.relative(process.cwd(), file)}: ${what} rewritten from the adapters`);
    } else {
        console.log(`${path.relative(process.cwd(), file)}: ${what} already match the adapters`);
    }
}

if (require.main === module) {
    const index = fs.readFileSync(INDEX, 'utf8');
    write(INDEX, index, renderIndex(index, adapterExports()), 'imports and ALL_TARGETS');
    const readme = fs.readFileSync(README, 'utf8');
    write(README, readme, renderReadme(readme, loadAdapters()), 'target lists');
}
