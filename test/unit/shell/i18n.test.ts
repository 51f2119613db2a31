import * as fs from 'fs';
import * as path from 'path';

import { SETTINGS } from '../../../src/shell/settings';

const root = path.join(__dirname, '..', '..', '..');
const languages = fs.readdirSync(path.join(root, 'i18n')).filter((f) => f.endsWith('.json'));

describe('i18n', () => {
    const keysUsed = new Set<string>(['relay_command_description', 'relay_command_params']);
    for (const setting of SETTINGS) {
        for (const key of [setting.i18nLabel, setting.i18nDescription, setting.section]) if (key) keysUsed.add(key);
    }

    it('ships English and at least one more language', () => {
        expect(languages).toEqual(expect.arrayContaining(['en.json']));
        expect(languages.length).toBeGreaterThanOrEqual(2);
    });

    it.each(languages)('%s translates every key the settings and /relay use, and no unused ones', (file) => {
        const strings = JSON.parse(fs.readFileSync(path.join(root, 'i18n', file), 'utf8'));
        expect(Object.keys(strings).sort()).toEqual(Array.from(keysUsed).sort());
        for (const value of Object.values(strings)) expect(String(value).trim().length).toBeGreaterThan(3);
    });

    it('keeps secrets in password settings', () => {
        const passwords = SETTINGS.filter((s) => s.type === 'password').map((s) => s.id).sort();
        expect(passwords).toEqual(['quick_relay', 'relay_secrets', 'status_token']);
    });
});
