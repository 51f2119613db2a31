// The README's "How files travel" table must say what each adapter declares: `upload` exactly for
// the targets whose capabilities say so, and one row per target.
import { readFileSync } from 'fs';
import { join } from 'path';

import { ALL_TARGETS } from '../../../src/targets/index';

function filesTable(): Map<string, string> {
    const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
    const start = readme.indexOf('| target type | files | how and why |');
    const rows = new Map<string, string>();
    for (const line of readme.slice(start).split('\n').slice(2)) {
        const cells = line.split('|').map((cell) => cell.trim());
        if (cells.length < 4) break;
        rows.set(cells[1].replace(/`/g, ''), cells[2]);
    }
    return rows;
}

describe('README: how files travel', () => {
    const rows = filesTable();
    it('has one row per target and no other', () => {
        expect([...rows.keys()].sort()).toEqual(ALL_TARGETS.map((adapter) => adapter.type).sort());
    });
    it.each(ALL_TARGETS.map((adapter) => [adapter.type, adapter.capabilities.upload ? 'upload' : 'link']))('%s: %s', (type, files) => {
        expect(rows.get(type)).toBe(files);
    });
});
