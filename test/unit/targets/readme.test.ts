// The README's target lists are written from the adapters (tools/readme-targets.js): the instance
// type list, the "How files travel" table and the target table. This fails when someone edits
// the README or an adapter's docs without the other (`npm run readme:targets` fixes it).
import { readFileSync } from 'fs';
import { join } from 'path';

import { ALL_TARGETS } from '../../../src/targets/index';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { renderReadme } = require('../../../tools/readme-targets.js');

describe('README: target lists come from the adapters', () => {
    const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
    it('matches what npm run readme:targets writes', () => {
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
