import { IHttp, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { ApiEndpoint, IApiEndpointInfo, IApiRequest, IApiResponse } from '@rocket.chat/apps-engine/definition/api';
import { IApp } from '@rocket.chat/apps-engine/definition/IApp';

import { constantTimeEqual, extractToken } from '../inbound/auth';
import { inboundRequest } from '../inbound/request';
import { FailedAuthLimit } from '../core/failedAuth';
import { RateLimiter } from '../core/rateLimit';
import { NO_SECRETS } from '../core/redact';
import { ConfigStore } from './configStore';
import { DeliveryPipeline } from './pipeline';
import { readCounters } from './records/counters';
import { listDeadLetters, listOutbox } from './records/outbox';
import { SettingId } from './settings';

/**
 * `GET …/status` for monitoring: per-target counters, last error, outbox depth and dead letters,
 * as JSON. Protected by the Status token setting (Bearer, X-Relay-Token or ?token=); disabled
 * while that setting is shorter than MIN_STATUS_TOKEN_LENGTH; failed tokens are limited per client.
 */
/** Shorter status tokens leave the endpoint disabled. */
export const MIN_STATUS_TOKEN_LENGTH = 16;

export class StatusEndpoint extends ApiEndpoint {
    public path = 'status';

    private readonly failedAuth: FailedAuthLimit;

    constructor(app: IApp, private readonly configStore: ConfigStore, private readonly outbox: DeliveryPipeline, limiter: RateLimiter) {
        super(app);
        this.failedAuth = new FailedAuthLimit(limiter, 'status-auth');
    }

    public async get(request: IApiRequest, endpoint: IApiEndpointInfo, read: IRead, modify: IModify, http: IHttp, persistence: IPersistence): Promise<IApiResponse> {
        try {
            const expected = String((await read.getEnvironmentReader().getSettings().getValueById(SettingId.StatusToken)) || '');
            // A short token can be guessed: it leaves the endpoint off (refusing the setting instead
            // would put its value into the engine's log).
            if (expected.length < MIN_STATUS_TOKEN_LENGTH) {
                return { status: 404, content: { success: false, error: `the status endpoint is disabled: set a "Status token" of at least ${MIN_STATUS_TOKEN_LENGTH} characters in the app settings` } };
            }
            const req = inboundRequest({ method: request.method, headers: request.headers, query: request.query, body: undefined });
            const failureKeys = this.failedAuth.keys(req.headers);
            const wait = this.failedAuth.blocked(failureKeys);
            if (wait !== undefined) {
                return { status: 429, headers: { 'Retry-After': String(wait) }, content: { success: false, error: `too many failed authentications; retry after ${wait} s` } };
            }
            const token = extractToken(req);
            if (!token || !constantTimeEqual(token, expected)) {
                this.failedAuth.failed(failureKeys);
                return { status: 401, content: { success: false, error: token ? 'invalid token' : 'missing token' } };
            }
            const { active } = await this.configStore.current(read);
            // Scrubbed again on the way out: stored records may predate a secret or this scrubbing.
            const scrub = (text?: string) => (text === undefined ? undefined : (active ? active.redactor : NO_SECRETS).scrub(text));
            const reader = read.getPersistenceReader();
            const [counters, outbox, dead] = await Promise.all([readCounters(reader, this.outbox.counters), listOutbox(reader), listDeadLetters(reader)]);
            const targets = counters.map((c) => ({
                instance: c.instance,
                target: c.targetKey,
                sent: c.sent,
                retried: c.retried,
                failed: c.failed,
                deadLettered: c.deadLettered,
                waiting: outbox.filter((e) => e.targetKey === c.targetKey).length,
                lastError: scrub(c.lastError),
                lastErrorAt: c.lastErrorAt ? new Date(c.lastErrorAt).toISOString() : undefined,
                lastSuccessAt: c.lastSuccessAt ? new Date(c.lastSuccessAt).toISOString() : undefined,
            }));
            return {
                status: 200,
                content: {
                    success: true,
                    config: active ? { ok: !this.configStore.lastError, rules: active.config.rules.length, instances: active.config.instances.size, lastError: scrub(this.configStore.lastError) } : { ok: false, lastError: scrub(this.configStore.lastError) },
                    targets,
                    outbox: { depth: outbox.length, oldest: outbox.length ? new Date(Math.min(...outbox.map((e) => e.firstAttemptAt))).toISOString() : undefined },
                    deadLetters: { count: dead.length, recent: dead.slice(-10).map((d) => ({ id: d.id, instance: d.entry.instance, event: d.entry.event, messageId: d.entry.message.id, reason: scrub(d.reason), at: new Date(d.deadAt).toISOString() })) },
                },
            };
        } catch (e) {
            this.app.getLogger().error(`status endpoint failed: ${NO_SECRETS.scrub(e instanceof Error ? e.message : String(e))}`);
            return { status: 503, content: { success: false, error: 'status temporarily unavailable' } };
        }
    }
}
