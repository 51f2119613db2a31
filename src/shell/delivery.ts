import { IHttp, ILogger, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';

import { checkAddress } from '../core/addressPolicy';
import { outboundFile } from '../core/files';
import type { RelayInstance } from '../core/config';
import { HttpResult, OutboundRequest } from '../core/http';
import { RelayMessage } from '../core/message';
import { paceDelay, PaceState, PublishedLimit, recordAnswer, recordSend } from '../core/pacing';
import { originOf } from '../core/redact';
import { OutboundGuard } from '../core/relay';
import { ServerPostRules } from '../inbound/serverRules';
import { DeliveryProgress, runRequests } from '../targets/run';
import { DeliveryInput, KEPT_LOOKUP, LOOKED_UP, OutboundFile, RenderedMessage, SessionRejected, TargetAdapter, TargetError } from '../core/adapter';
import { DEFAULT_TIMEOUT_MS, executeRequest } from './httpExecutor';
import { readLookup, removeLookup, saveLookup } from './records/lookup';
import { readSession, removeSession, saveSession } from './records/session';

/** How often a wait for the budget looks again while answers that may shorten it are due. */
const ANSWER_RECHECK_MS = 50;

/** One delivery to one target, as the pipeline (src/shell/pipeline.ts) builds it. */
export interface DeliveryJob {
    instance: string;
    adapter: TargetAdapter;
    config: unknown;
    channel: Record<string, string>;
    message: RelayMessage;
    rendered: RenderedMessage;
    /** Requests of this delivery already done (resume point after a partial failure). */
    partsDone: number;
    /** Remote ids of the parts already done. */
    remoteIds: string[];
    /** Values the done requests' responses carried (upload ids), for the requests still to do. */
    carried: Record<string, string>;
    /** Remote ids the message already has at this target (edits and deletes). */
    existingIds: string[];
    /** Remote id of the thread parent at this target. */
    parentId?: string;
    files: OutboundFile[];
    /** The sender's avatar as stored on the target (hostedAvatar.ts), for adapters that need one. */
    hostedAvatarUrl?: string;
    timeoutMs?: number;
    /** The running configuration's address policy and redaction. */
    guard: OutboundGuard;
    /** Where adapters' kept sessions and lookups live (records/session.ts, lookup.ts); without it they last one delivery. */
    sessions?: { read: IRead; persistence: IPersistence };
    /** Called before every request (the pipeline renews its claim there when the lease runs short). */
    beforeRequest?: () => Promise<void>;
    /** The destination's rate budget (core/pacing.ts), for adapters that declare rate limits; updated in place. */
    pace?: DestinationPace;
}

/** A destination's budget as deliveries read and update it; one object per destination, shared by its deliveries. */
export interface DestinationPace {
    /** Where the budget is kept: the destination's key, or the account's when the service counts per account (RateLimits.sharedBy). */
    key: string;
    state?: PaceState;
    limits: PublishedLimit[];
    /** Waits up to this long before a request; a longer wait ends the attempt as `paced` (retried then, not counted as a failure). */
    maxWaitMs: number;
    /**
     * The service states or shows its limit (the adapter declares rate limits): every send is
     * passed on to the other instances, not only a wait still to come. A spacing learned from a
     * 429 counts from the service's last accepted request, whichever instance sent it.
     */
    passOnSends?: boolean;
    /** Requests of this budget out now (this runtime's): an answer is surely its request's only when it was the one out. */
    out?: number;
    /**
     * One request out at a time: the service's limit shows only in its 429s (no published
     * limit), so until one came, several deliveries sharing the budget (one Matrix account's
     * rooms) would each run into it with a request out (3 rooms × 20 at once: 3 to 5 429s
     * where one shows the limit, issue 18). Once learned, the bucket keeps them apart anyway.
     */
    oneAtATime?: boolean;
    /** Deliveries waiting for this runtime's request out to be answered (oneAtATime). */
    idle?: Array<() => void>;
}

/** The delivery stopped before a request because the service's budget is spent for `waitMs`. */
class PacedStop extends TargetError {
    constructor(public readonly waitMs: number) {
        super(`waiting ${waitMs} ms for the service's rate limit`, 0, true, waitMs);
    }
}

/**
 * The delivery's hold on its entry (the line's claim, the job's hold on the destination) ran out,
 * or could not be renewed before a request it would not outlast: another runtime may be working the entry now, so not
 * one more request goes and nothing of this attempt is stored (a write could bring back an entry
 * the other runtime has delivered and removed).
 */
export class HoldLost extends TargetError {
    constructor(reason: string) {
        super(reason, 0, true);
    }
}

function endRequest(pace: DestinationPace): void {
    pace.out = Math.max(0, (pace.out || 0) - 1);
}

/** Wakes the deliveries waiting for this runtime's requests of the budget to be answered (oneAtATime). */
function wakeIfIdle(pace: DestinationPace): void {
    if (!pace.out && pace.idle) {
        const waiting = pace.idle;
        pace.idle = undefined;
        waiting.forEach((wake) => wake());
    }
}

/**
 * Waits until the budget lets a request go (checked again after every wait: another delivery to
 * this destination shares it and may take the slot meanwhile); a wait longer than `maxWaitMs`
 * ends the attempt (PacedStop). With `oneAtATime`, first until this runtime's request out is answered.
 */
async function waitForBudget(pace: DestinationPace): Promise<void> {
    while (pace.oneAtATime && pace.out) {
        await new Promise<void>((resolve) => (pace.idle = pace.idle || []).push(resolve));
    }
    for (let wait = paceDelay(pace.state, pace.limits, Date.now()); wait > 0; wait = paceDelay(pace.state, pace.limits, Date.now())) {
        if (wait > pace.maxWaitMs) {
            throw new PacedStop(wait);
        }
        // While this budget's requests are out, their answers may shorten the wait (a leaky
        // bucket tightens once every request is answered): look again soon.
        await new Promise((resolve) => setTimeout(resolve, pace.out ? Math.min(wait, ANSWER_RECHECK_MS) : wait));
    }
}

export type AttemptResult =
    | { ok: true; remoteIds: string[] }
    | { ok: false; remoteIds: string[]; partsDone: number; carried: Record<string, string>; retryable: boolean; retryAfterMs?: number; error: string; paced?: boolean; holdLost?: boolean };

/**
 * Runs the adapter's requests for one delivery from `partsDone` on. A failure reports how far it
 * got, so a retry never repeats a part the target already has.
 */
export async function attemptDelivery(job: DeliveryJob, http: IHttp): Promise<AttemptResult> {
    const input: DeliveryInput<unknown> = {
        config: job.config,
        channel: job.channel,
        message: job.message,
        rendered: job.rendered,
        files: job.files,
        remoteIds: job.existingIds,
        remoteThreadId: job.parentId,
        carried: job.carried,
        hostedAvatarUrl: job.hostedAvatarUrl,
    };
    const progress: DeliveryProgress = { partsDone: job.partsDone, remoteIds: job.remoteIds.slice(), carried: job.carried };
    const timeoutMs = job.timeoutMs || DEFAULT_TIMEOUT_MS;
    let current: OutboundRequest | undefined;
    /** Whether the service counts this request against its limit (RateLimits.counts). */
    const counted = (request: OutboundRequest) => !job.adapter.rateLimits || !job.adapter.rateLimits.counts || job.adapter.rateLimits.counts(request);
    /** The budget a 429 answered and is not noted in yet (its request still counts as out). */
    let refusal: DestinationPace | undefined;
    /** The 429's request is over: its wait is noted, or the adapter read it as something else than a refusal. */
    const endRefusal = () => {
        if (refusal) {
            endRequest(refusal);
            refusal = undefined;
        }
    };
    // Checked before every request, not only for the configured base URL: a request may go
    // where an earlier answer pointed (an upload URL).
    const execute = async (request: OutboundRequest, timeout?: number): Promise<HttpResult> => {
        const verdict = checkAddress(request.url, job.guard.privateHostsAllowed);
        if (!verdict.allowed) {
            throw new TargetError(`refused to contact ${originOf(request.url) || 'the target'}: ${verdict.reason}; an admin may allow it in the "Private hosts" setting`, 0, false);
        }
        endRefusal();
        const pace = counted(request) ? job.pace : undefined;
        // The hold is kept (renewed, or found run out: HoldLost) right before the request, after
        // any wait for the budget: a wait of up to maxWaitMs would otherwise come out of the
        // lease the request needs. A renewal awaits a write, and another delivery to this
        // destination (the backlog job beside a line) may take the slot meanwhile: the budget
        // is looked at again, and the send noted right before the request leaves, nothing
        // awaited in between.
        for (;;) {
            if (pace) {
                await waitForBudget(pace);
            }
            if (job.beforeRequest) {
                await job.beforeRequest(); // HoldLost: stops here
            }
            if (!pace || (paceDelay(pace.state, pace.limits, Date.now()) === 0 && !(pace.oneAtATime && pace.out))) {
                break;
            }
        }
        if (pace) {
            pace.state = recordSend(pace.state, pace.limits, Date.now());
            pace.out = (pace.out || 0) + 1;
        }
        let response: HttpResult;
        try {
            response = await executeRequest(http, request, timeout);
        } catch (e) {
            if (pace) {
                endRequest(pace);
                wakeIfIdle(pace);
            }
            throw e;
        }
        if (pace && response.status === 429) {
            // Noted where the adapter reads it (the catch below), with the wait it asked for;
            // until then it counts as out, so no delivery sharing the budget sends into it.
            refusal = pace;
        } else if (pace) {
            endRequest(pace);
            const announced = job.adapter.rateLimits && job.adapter.rateLimits.announced;
            pace.state = recordAnswer(pace.state, announced ? announced(response, Date.now()) : undefined, undefined, Date.now(), false, pace.out === 0, pace.limits);
            wakeIfIdle(pace);
        }
        return response;
    };
    const lookupScope = job.adapter.keptLookup ? job.adapter.keptLookup.scope(input) : undefined;
    const run = async () => {
        // A kept lookup (a channel name's room id): the stored answer, unless this delivery has one already.
        if (lookupScope !== undefined && job.sessions && progress.carried[KEPT_LOOKUP] === undefined && progress.carried[LOOKED_UP] === undefined) {
            const kept = await readLookup(job.sessions.read.getPersistenceReader(), lookupScope);
            if (kept !== undefined) {
                progress.carried = Object.assign({}, progress.carried, { [KEPT_LOOKUP]: kept });
            }
        }
        await runRequests(job.adapter, input, progress, (request) => execute(request, timeoutMs), (request) => {
            current = request;
        });
    };
    /** Keeps what this delivery's own lookup read; drops a kept answer a delivery failed with for good. */
    const settleLookup = async (failedForGood: boolean) => {
        if (lookupScope === undefined || !job.sessions) {
            return;
        }
        if (progress.carried[LOOKED_UP] !== undefined) {
            await saveLookup(job.sessions.persistence, lookupScope, progress.carried[LOOKED_UP]);
        } else if (failedForGood && progress.carried[KEPT_LOOKUP] !== undefined) {
            await removeLookup(job.sessions.persistence, lookupScope);
        }
    };
    const kept = job.adapter.keptSession;
    const scope = kept ? kept.scope(job.config) : undefined;
    // A kept session: the stored one, else a login whose answer is stored for every instance.
    const openSession = async (previous?: Record<string, string>): Promise<Record<string, string>> => {
        const known = previous || !job.sessions ? undefined : await readSession(job.sessions.read.getPersistenceReader(), scope!);
        if (known) {
            return known;
        }
        const login = kept!.login(input.config, previous);
        current = login;
        const values = kept!.read(input.config, await execute(login, timeoutMs));
        if (job.sessions) {
            await saveSession(job.sessions.persistence, scope!, values);
        }
        return values;
    };
    try {
        if (job.adapter.login && job.adapter.readLogin) {
            const login = job.adapter.login(input.config);
            if (login) {
                current = login;
                input.session = job.adapter.readLogin(input.config, await execute(login, job.timeoutMs));
            }
        }
        if (kept && scope !== undefined) {
            input.session = await openSession();
            try {
                await run();
            } catch (e) {
                if (!(e instanceof SessionRejected)) {
                    throw e;
                }
                // The target no longer takes the session (expired, logged out). Another server
                // instance may have logged in again already: its session is used; else one fresh
                // login (replacing the rejected one), then on from where the delivery stopped.
                const rejected = input.session;
                const stored = job.sessions ? await readSession(job.sessions.read.getPersistenceReader(), scope) : undefined;
                if (stored && JSON.stringify(stored) !== JSON.stringify(rejected)) {
                    input.session = stored;
                } else {
                    if (job.sessions) {
                        await removeSession(job.sessions.persistence, scope);
                    }
                    input.session = await openSession(rejected);
                }
                await run();
            }
        } else {
            await run();
        }
        await settleLookup(false);
        endRefusal();
        if (job.pace) {
            wakeIfIdle(job.pace);
        }
        return { ok: true, remoteIds: progress.remoteIds };
    } catch (e) {
        await settleLookup(!(e instanceof TargetError && e.retryable)).catch(() => undefined);
        endRefusal();
        if (job.pace && e instanceof TargetError && e.status === 429 && e.retryAfterMs !== undefined && (!current || counted(current))) {
            // The service said how long: nothing goes to this destination before then. A service
            // whose limit shows only in its 429s has just shown it (core/pacing.ts, learnFromRefusal).
            const learn = !!(job.adapter.rateLimits && job.adapter.rateLimits.learnedFrom429);
            job.pace.state = recordAnswer(job.pace.state, undefined, e.retryAfterMs, Date.now(), learn, !job.pace.out, job.pace.limits);
        }
        if (job.pace) {
            wakeIfIdle(job.pace); // the 429 is noted: deliveries waiting for the budget may look
        }
        if (e instanceof HoldLost) {
            return { ok: false, remoteIds: progress.remoteIds, partsDone: progress.partsDone, carried: progress.carried, retryable: true, error: job.guard.redactor.scrub(e.message), holdLost: true };
        }
        if (e instanceof PacedStop) {
            return { ok: false, remoteIds: progress.remoteIds, partsDone: progress.partsDone, carried: progress.carried, retryable: true, retryAfterMs: e.waitMs, error: e.message, paced: true };
        }
        const where = current ? `${current.method} ${originOf(current.url) || '(invalid url)'}` : job.adapter.describe(job.config);
        const status = e instanceof TargetError && e.status ? ` HTTP ${e.status}` : '';
        // Everything after this leaves the app (logs, counters, dead letters, replies): the
        // target's answer may echo its URL or token, so it is scrubbed here, once.
        return {
            ok: false,
            remoteIds: progress.remoteIds,
            partsDone: progress.partsDone,
            carried: progress.carried,
            // Anything that is not a target's answer (a bug, a bad request we built) is not retried.
            retryable: e instanceof TargetError ? e.retryable : false,
            retryAfterMs: e instanceof TargetError ? e.retryAfterMs : undefined,
            error: job.guard.redactor.scrub(`[${where}]${status}: ${e instanceof Error ? e.message : String(e)}`),
        };
    }
}

/**
 * What a room owner who is not an admin may see of a delivery error (its HTTP status, or that
 * no answer came): the rest quotes the target's answer and where it was sent.
 */
export function errorOutline(error: string): string {
    const match = /\] HTTP (\d{3}):/.exec(error);
    return match ? `HTTP ${match[1]}` : 'no HTTP answer (network, timeout or refused address)';
}

/** What decides how files travel: the app's size limit and whether this server's file links open for anyone. */
export interface FileRules {
    maxFileSize: number;
    /** The server's FileUpload_ProtectFiles is off. */
    filesPublic: boolean;
}

export function fileRulesOf(maxFileSize: number, server: ServerPostRules): FileRules {
    return { maxFileSize, filesPublic: !server.filesProtected };
}

/** Reads file bytes for targets that upload (within the size limit); the others get a link or a label (core/files.ts). */
export async function loadFiles(message: RelayMessage, instance: RelayInstance, read: IRead, logger: ILogger, cache: Map<string, OutboundFile>, rules: FileRules): Promise<OutboundFile[]> {
    const withoutBytes = () => message.files.map((file) => outboundFile(file, rules.filesPublic));
    if (message.files.length === 0 || !(instance.capabilities && instance.capabilities.upload) || message.event !== 'sent') {
        return withoutBytes();
    }
    const out: OutboundFile[] = [];
    for (const file of message.files) {
        let loaded = cache.get(file.url);
        if (!loaded && file.uploadId && file.size <= rules.maxFileSize) {
            try {
                const bytes = await read.getUploadReader().getBufferById(file.uploadId);
                loaded = outboundFile(file, rules.filesPublic, new Uint8Array(bytes));
                cache.set(file.url, loaded);
            } catch (e) {
                logger.warn(`file ${file.name} of message ${message.id} could not be read; sending ${rules.filesPublic ? 'a link' : 'a label'}: ${e instanceof Error ? e.message : e}`);
            }
        }
        out.push(loaded || outboundFile(file, rules.filesPublic));
    }
    return out;
}
