// Filter patterns come from the configuration and run on every message inside the app's runtime,
// where one catastrophic backtrack stalls everything (the engine gives each call 30 s). Patterns
// that can backtrack exponentially are refused when the configuration is saved, and matching only
// ever sees the first FILTER_TEXT_LIMIT characters, which bounds what polynomial patterns cost.

/**
 * Filters (`match`, `ignore`) look at this many characters of a message at most. Two `.*` in an
 * unanchored pattern cost about the length cubed: ~0.1 s at this cap, ~9 s at 4096.
 */
export const FILTER_TEXT_LIMIT = 1000;

/**
 * Why `pattern` may backtrack catastrophically, or undefined when it cannot: backreferences, and
 * repeated groups whose body holds a quantifier or an alternation (`(a+)+`, `(a|aa)*`,
 * `(\w+\s?)*`, `(.*a){3}`), and more than two `.*`/`.+`. A group of fixed text may repeat (`(ab)+`).
 */
export function unsafeRegexReason(pattern: string): string | undefined {
    // One frame per open group: did its body have a quantifier / an alternation?
    const stack: Array<{ quantified: boolean; alternation: boolean }> = [{ quantified: false, alternation: false }];
    for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i];
        const top = stack[stack.length - 1];
        if (c === '\\') {
            const next = pattern[i + 1] || '';
            if (/[1-9]/.test(next) || next === 'k') {
                return 'backreferences are not allowed in filters';
            }
            i++;
            if (quantifierAt(pattern, i + 1)) {
                top.quantified = true;
            }
            continue;
        }
        if (c === '[') {
            i = classEnd(pattern, i);
            if (quantifierAt(pattern, i + 1)) {
                top.quantified = true;
            }
            continue;
        }
        if (c === '(') {
            stack.push({ quantified: false, alternation: false });
            continue;
        }
        if (c === '|') {
            top.alternation = true;
            continue;
        }
        if (c === ')') {
            const group = stack.length > 1 ? stack.pop()! : top;
            const repeat = quantifierAt(pattern, i + 1);
            // Any repetition of a group that repeats or alternates multiplies the ways to match:
            // exponential when unbounded, a power of the text length even with a fixed count.
            if (repeat !== undefined && repeat !== 'optional' && (group.quantified || group.alternation)) {
                return `nested repetition at "${excerpt(pattern, i)}" can take exponential time; rewrite it without a repeated group that itself repeats or alternates`;
            }
            const parent = stack[stack.length - 1];
            parent.quantified = parent.quantified || group.quantified || repeat !== undefined;
            continue;
        }
        if (quantifierAt(pattern, i + 1)) {
            top.quantified = true;
        }
    }
    // Each `.*`/`.+` can take any share of the text: three of them cost the text length cubed.
    const wildcards = pattern.replace(/\\./g, '').replace(/\[(?:\\.|[^\]])*\]/g, '').match(/\.[*+{]/g) || [];
    if (wildcards.length > 2) {
        return `more than two ".*"/".+" in one pattern can take very long on long messages; split it into several rules or anchor the parts`;
    }
    return undefined;
}

/** The quantifier starting at `i`: 'optional' (`?`, `{0,1}`, `{1}`), 'repeated' (anything more), or none. */
function quantifierAt(pattern: string, i: number): 'optional' | 'repeated' | undefined {
    const c = pattern[i];
    if (c === '*' || c === '+') {
        return 'repeated';
    }
    if (c === '?') {
        return 'optional';
    }
    if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
        if (!m) {
            return undefined;
        }
        const most = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3]);
        return most > 1 ? 'repeated' : 'optional';
    }
    return undefined;
}

/** Index of the `]` closing the character class that opens at `start`. */
function classEnd(pattern: string, start: number): number {
    let i = start + 1;
    if (pattern[i] === '^') {
        i++;
    }
    if (pattern[i] === ']') {
        i++;
    }
    for (; i < pattern.length; i++) {
        if (pattern[i] === '\\') {
            i++;
        } else if (pattern[i] === ']') {
            return i;
        }
    }
    return pattern.length;
}

function excerpt(pattern: string, at: number): string {
    return pattern.slice(Math.max(0, at - 12), at + 2);
}
