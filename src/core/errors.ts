/** A configuration problem with the exact place it was found, e.g. `rules[2].msg.rc_alias`. */
export class ConfigError extends Error {
    constructor(public readonly path: string, public readonly problem: string) {
        super(path ? `${path}: ${problem}` : problem);
        this.name = 'ConfigError';
    }
}
