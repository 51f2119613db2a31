// Secrets live in a password setting (`NAME=value` pairs) and are referenced from the relay
// configuration as `${NAME}`, so the JSON the admin edits — and any error quoting it — holds no
// tokens.

import { ConfigError } from './errors';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REFERENCE = /\$\{([^}]*)\}/g;

/** Parses `NAME=value` pairs separated by whitespace, `;` or newlines. */
export function parseSecrets(text: string): Map<string, string> {
    const secrets = new Map<string, string>();
    for (const pair of (text || '').split(/[\s;]+/)) {
        if (!pair) {
            continue;
        }
        const eq = pair.indexOf('=');
        const name = eq > 0 ? pair.slice(0, eq) : '';
        if (!NAME.test(name)) {
            throw new ConfigError('secrets', `"${maskSecret(pair)}" is not NAME=value (names are letters, digits and _)`);
        }
        if (secrets.has(name)) {
            throw new ConfigError('secrets', `${name} is defined twice`);
        }
        secrets.set(name, pair.slice(eq + 1));
    }
    return secrets;
}

/** Replaces every `${NAME}` with its secret, JSON-escaped; an unknown name is an error. */
export function substituteSecrets(json: string, secrets: Map<string, string>): string {
    return json.replace(REFERENCE, (_whole, name: string) => {
        const value = secrets.get(name);
        if (value === undefined) {
            const known = Array.from(secrets.keys());
            throw new ConfigError(`\${${name}}`, `no secret named "${name}" in the Secrets setting${known.length ? ` (defined: ${known.join(', ')})` : ''}`);
        }
        // Escape for use inside a JSON string literal.
        return JSON.stringify(value).slice(1, -1);
    });
}

/** Shows the first two characters only, for error messages about malformed secrets. */
export function maskSecret(value: string): string {
    return value.length <= 2 ? '**' : `${value.slice(0, 2)}${'*'.repeat(Math.min(8, value.length - 2))}`;
}
