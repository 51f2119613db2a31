// What is derived from the adapter files is written by tools/generate-targets.js: the registry's
// imports and ALL_TARGETS (src/targets/index.ts), and the README's instance type list, "How files
// travel" table and target table. This fails when someone edits one without the other
// (`npm run targets:generate` fixes it), so adding a target is one adapter file + one test table.
import { readFileSync } from 'fs';
import { join } from 'path';

import { ALL_TARGETS } from '../../../src/targets/index';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { renderReadme, renderIndex, adapterExports } = require('../../../tools/generate-targets.js');

describe('src/targets/index.ts lists every adapter file', () => {
    it('matches what npm run targets:generate writes', () => {
        const index = readFileSync(join(__dirname, '../../../src/targets/index.ts'), 'utf8');
        expect(renderIndex(index, adapterExports())).toBe(index);
        expect(ALL_TARGETS).toHaveLength(adapterExports().length);
    });
});

describe('README: target lists come from the adapters', () => {
    const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
    it('matches what npm run targets:generate writes', () => {
        expect(renderReadme(readme, ALL_TARGETS)).toBe(readme);
    });
    it('fails when an adapter changes and the README does not', () => {
        const renamed = ALL_TARGETS.map((adapter, i) => (i === 0 ? { ...adapter, docs: { ...adapter.docs, filesHow: 'changed' } } : adapter));
        expect(renderReadme(readme, renamed)).not.toBe(readme);
    });
    it('has a test table (test/unit/targets/<type>.test.ts) per adapter', () => {
        for (const adapter of ALL_TARGETS) {
            expect(() => readFileSync(join(__dirname, `${adapter.type}.test.ts`))).not.toThrow();
        }
    });
});
