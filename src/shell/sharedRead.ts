/**
 * A read that many callers share: each asks for one that started at or after a given time (so it
 * sees what that caller wrote before), one read is in flight at a time, and callers that need a
 * later one wait for a single queued read. A burst then costs a read per database round trip,
 * not one per caller. `mark` is a counter value the caller cares about, taken when the read (or
 * the wait for the queued one) started.
 */
export interface SharedReadResult<T> {
    startedAt: number;
    result: Promise<T>;
    mark: number;
}

export class SharedRead<T> {
    private current?: SharedReadResult<T> & { done: boolean };
    private queued?: Promise<SharedReadResult<T>>;

    constructor(private readonly mark: () => number = () => 0) {}

    /** A read started at `since` or later; `start` runs it when a new one is needed. */
    public get(since: number, start: () => Promise<T>): SharedReadResult<T> {
        const current = this.current;
        if (current && current.startedAt >= since) {
            return current;
        }
        if (!current || current.done) {
            return this.begin(start);
        }
        if (!this.queued) {
            this.queued = current.result
                .then(
                    () => undefined,
                    () => undefined,
                )
                .then(() => {
                    this.queued = undefined;
                    return this.begin(start);
                });
        }
        return { startedAt: since, result: this.queued.then((read) => read.result), mark: this.mark() };
    }

    /** Forgets the last read: the next caller starts a new one. */
    public clear(): void {
        this.current = undefined;
    }

    private begin(start: () => Promise<T>): SharedReadResult<T> {
        const read = { startedAt: Date.now(), done: false, result: start(), mark: this.mark() };
        const finished = () => (read.done = true);
        read.result.then(finished, finished);
        this.current = read;
        return read;
    }
}
