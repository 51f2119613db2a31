import { IRead } from '@rocket.chat/apps-engine/definition/accessors';

import { parseAllowList } from '../core/addressPolicy';
import { AdapterRegistry, validateRelayConfig } from '../core/config';
import { ConfigError } from '../core/errors';
import { activate, ActiveConfig } from '../core/relay';
import { linkableFrom, mergeLinks, parseQuickLinks, QuickLinkError, RoomLink } from '../core/links';
import { Redactor } from '../core/redact';
import { DEFAULT_RETRY_POLICY, RetryPolicy } from '../core/retry';
import { SERVER_DEFAULTS, SERVER_SETTING_IDS, serverPostRules, ServerPostRules } from '../inbound/serverRules';
import { parseSecrets, substituteSecrets } from '../core/secrets';
import { listLinks } from './records/links';
import { DEFAULT_MAX_FILE_SIZE, DEFAULT_OUTBOX_MAX_ENTRIES, SettingId } from './settings';

export interface DeliveryLimits {
    maxOutboxEntries: number;
    /** Largest file relayed as bytes or accepted inbound. */
    maxFileSize: number;
    /** Inbound requests per minute per source (0 = no limit). */
    inboundPerMinute: number;
}

/** What every relay needs from the settings, read together and cached together. */
export interface CurrentSettings {
    active?: ActiveConfig;
    siteUrl: string;
    policy: RetryPolicy;
    limits: DeliveryLimits;
    /** What the server will accept in a post (its own settings, read like the app's). */
    server: ServerPostRules;
    /** Private hosts the admin lets the server fetch from (names, IPs, CIDRs). */
    privateHostsAllowed: string[];
}

/**
 * How long settings read are trusted before they are read again. A safety net only: every
 * instance's engine calls onSettingUpdated on a change, which invalidates this cache at once.
 */
const RECHECK_MS = 30000;
/**
 * `/relay link` and `unlink` are persistence writes, which other instances are not told about:
 * the links are re-read this often, so a room's link or unlink reaches every instance within it.
 */
const LINKS_RECHECK_MS = 5000;

/**
 * `dropped`: ids of links left out. `waitsForSecret`: the only problem is a `${NAME}` the Secrets
 * setting does not define (yet: a save that adds it may still be under way).
 */
export type LoadResult = { ok: true; active: ActiveConfig; dropped: Array<{ id: string; error: string }> } | { ok: false; error: string; waitsForSecret?: boolean };

/**
 * Parses the relay configuration once per distinct setting text and keeps the last valid one
 * running when a new text is invalid. A cache only: a settings change invalidates it on every
 * instance (onSettingUpdated), links are re-read every LINKS_RECHECK_MS, and everything after
 * RECHECK_MS.
 */
export class ConfigStore {
    private text?: string;
    /** Rules added with `/relay link`, merged into the settings' configuration. */
    private links: RoomLink[] = [];
    private linksKey = '';
    private quickText = '';
    private secretsText?: string;
    private active?: ActiveConfig;
    private siteUrl = '';
    private policy: RetryPolicy = DEFAULT_RETRY_POLICY;
    private limits: DeliveryLimits = { maxOutboxEntries: DEFAULT_OUTBOX_MAX_ENTRIES, maxFileSize: DEFAULT_MAX_FILE_SIZE, inboundPerMinute: 600 };
    private server: ServerPostRules = SERVER_DEFAULTS;
    private privateHostsAllowed: string[] = [];
    private checkedAt = 0;
    private linksReadAt = 0;
    /** Counts invalidations: a read that was under way when one came may predate the change. */
    private generation = 0;
    /** The last rejected configuration's error (secrets redacted), for status output. */
    public lastError?: string;

    constructor(private readonly registry: AdapterRegistry) {}

    /** The running configuration, site URL and delivery settings, reading settings only when stale. */
    public async current(read: IRead): Promise<CurrentSettings> {
        if (Date.now() - this.checkedAt <= RECHECK_MS && Date.now() - this.linksReadAt > LINKS_RECHECK_MS && this.text !== undefined) {
            this.linksReadAt = Date.now();
            this.links = await listLinks(read.getPersistenceReader());
            this.apply(this.text, this.secretsText || ''); // re-validates only when the links changed
        }
        if (Date.now() - this.checkedAt > RECHECK_MS) {
            const generation = this.generation;
            const settings = read.getEnvironmentReader().getSettings();
            const [text, secrets, siteUrl, baseDelay, maxDelay, giveUpHours, maxEntries, links, quick, maxFileSize, inboundPerMinute, privateHosts] = await Promise.all([
                settings.getValueById(SettingId.RelayConfig),
                settings.getValueById(SettingId.Secrets),
                settings.getValueById(SettingId.SiteUrl),
                settings.getValueById(SettingId.RetryBaseDelayMs),
                settings.getValueById(SettingId.RetryMaxDelayMs),
                settings.getValueById(SettingId.GiveUpAfterHours),
                settings.getValueById(SettingId.OutboxMaxEntries),
                listLinks(read.getPersistenceReader()),
                settings.getValueById(SettingId.QuickRelay),
                settings.getValueById(SettingId.MaxFileSize),
                settings.getValueById(SettingId.InboundRatePerMinute),
                settings.getValueById(SettingId.PrivateHostsAllowed),
            ]);
            this.privateHostsAllowed = parseAllowList(String(privateHosts || ''));
            this.links = links;
            this.quickText = String(quick || '');
            this.siteUrl = await this.resolveSiteUrl(read, siteUrl);
            this.policy = {
                baseDelayMs: positive(baseDelay, DEFAULT_RETRY_POLICY.baseDelayMs),
                maxDelayMs: positive(maxDelay, DEFAULT_RETRY_POLICY.maxDelayMs),
                horizonMs: positive(giveUpHours, DEFAULT_RETRY_POLICY.horizonMs / 3600000) * 3600000,
                jitter: DEFAULT_RETRY_POLICY.jitter,
            };
            this.limits = {
                maxOutboxEntries: Math.floor(positive(maxEntries, DEFAULT_OUTBOX_MAX_ENTRIES)),
                maxFileSize: Math.floor(positive(maxFileSize, DEFAULT_MAX_FILE_SIZE)),
                inboundPerMinute: Math.max(0, Number(inboundPerMinute) || 0),
            };
            this.server = await readServerRules(read);
            this.apply(String(text || ''), String(secrets || ''));
            // Settings saved while these reads were under way may not be in them: the next call reads again.
            this.checkedAt = generation === this.generation ? Date.now() : 0;
            this.linksReadAt = Date.now();
        }
        return { active: this.active, siteUrl: this.siteUrl, policy: this.policy, limits: this.limits, server: this.server, privateHostsAllowed: this.privateHostsAllowed };
    }

    /**
     * Validates the settings' configuration with its secrets, the Quick relay and the `/relay`
     * links, without activating it. The admin's settings win over links: a link that no longer
     * fits them (its instance removed, say) is left out with a warning instead of failing the
     * whole configuration. Every input comes from storage, so every server instance decides alike.
     */
    public check(text: string, secretsText: string, links: RoomLink[] = this.links, quickText: string = this.quickText, privateHostsAllowed: string[] = this.privateHostsAllowed): LoadResult {
        let secrets: Map<string, string> = new Map();
        const redact = (message: string) => Redactor.of(secrets).scrub(message);
        try {
            secrets = parseSecrets(secretsText);
            const base = substituteSecrets(text || '{}', secrets);
            // A password setting is never refused (see onPreSettingUpdate): a malformed Quick relay is left out.
            let quick: RoomLink[] = [];
            let quickProblem: string | undefined;
            try {
                quick = parseQuickLinks(quickText);
            } catch (e) {
                if (!(e instanceof QuickLinkError)) {
                    throw e;
                }
                quickProblem = e.message;
            }
            const validate = (extra: RoomLink[]) => validateRelayConfig(mergeLinks(base, quick.concat(extra)), this.registry, { privateHostsAllowed });
            let result = validate(links);
            const dropped: Array<{ link: RoomLink; error: string }> = [];
            if (result.ok) {
                // A room owner's link lasts only while the admin keeps its instance linkable from that room.
                const config = result.config;
                const revoked = links.filter((l) => l.byOwner && (l.url || !linkableFrom(config.instances.get(l.instance || '')!, { id: l.roomId, name: l.roomName })));
                if (revoked.length > 0) {
                    revoked.forEach((link) => dropped.push({ link, error: `instance "${link.instance || 'URL'}" is not linkable from #${link.roomName} by its owners` }));
                    result = validate(links.filter((l) => revoked.indexOf(l) < 0));
                }
            }
            if (!result.ok && links.length > 0) {
                // Keep each link that fits with the ones kept before it (a link-only setup has no rules of its own).
                let kept: RoomLink[] = [];
                for (const link of links.filter((l) => !dropped.some((d) => d.link === l))) {
                    const attempt = validate(kept.concat([link]));
                    if (attempt.ok) {
                        kept = kept.concat([link]);
                    } else {
                        dropped.push({ link, error: attempt.error.message });
                    }
                }
                result = validate(kept);
            }
            if (!result.ok) {
                return { ok: false, error: redact(result.error.message) };
            }
            if (quickProblem) {
                result.config.warnings.push({ path: 'Quick relay', problem: `left out until corrected: ${quickProblem}` });
            }
            for (const { link, error } of dropped) {
                result.config.warnings.push({
                    path: `/relay link ${link.id} (#${link.roomName})`,
                    problem: `left out, the configuration no longer allows it: ${redact(error)}. \`/relay unlink ${link.id}\` in that room removes it`,
                });
            }
            return { ok: true, active: activate(result.config, secrets, privateHostsAllowed), dropped: dropped.map((d) => ({ id: d.link.id, error: redact(d.error) })) };
        } catch (e) {
            if (e instanceof ConfigError) {
                const waitsForSecret = e instanceof ConfigError && e.path.indexOf('${') === 0;
                return { ok: false, error: redact(e.message), ...(waitsForSecret ? { waitsForSecret } : {}) };
            }
            throw e;
        }
    }

    /**
     * Checks the configuration as stored — settings and links read now, not this cache — with
     * `change` (a setting about to be saved) in place of its stored value and `newLink` added.
     */
    public async checkStored(read: IRead, change?: { id: string; value?: unknown }, newLink?: RoomLink): Promise<LoadResult> {
        const settings = read.getEnvironmentReader().getSettings();
        const valueOf = async (id: string) => String((change && change.id === id ? change.value : await settings.getValueById(id)) || '');
        const [text, secrets, quick, privateHosts, links] = await Promise.all([
            valueOf(SettingId.RelayConfig),
            valueOf(SettingId.Secrets),
            valueOf(SettingId.QuickRelay),
            valueOf(SettingId.PrivateHostsAllowed),
            listLinks(read.getPersistenceReader()),
        ]);
        return this.check(text, secrets, newLink ? links.concat([newLink]) : links, quick, parseAllowList(privateHosts));
    }

    /** Activates a configuration text if valid; otherwise keeps the previous one and records why. */
    public apply(text: string, secretsText: string): LoadResult | undefined {
        const linksKey = JSON.stringify(this.links) + this.quickText + this.privateHostsAllowed.join(',');
        if (text === this.text && secretsText === this.secretsText && linksKey === this.linksKey) {
            return undefined;
        }
        this.linksKey = linksKey;
        this.text = text;
        this.secretsText = secretsText;
        const result = this.check(text, secretsText);
        if (result.ok) {
            this.active = result.active;
            this.lastError = undefined;
        } else {
            this.lastError = result.error;
            if (this.active && this.active.privateHostsAllowed.join(',') !== this.privateHostsAllowed.join(',')) {
                // The last valid configuration keeps running, but under today's address policy.
                this.active = { ...this.active, privateHostsAllowed: this.privateHostsAllowed };
            }
        }
        return result;
    }

    /** Forces the next `current` call to re-read the settings. */
    public invalidate(): void {
        this.checkedAt = 0;
        this.generation++;
    }

    private async resolveSiteUrl(read: IRead, override: unknown): Promise<string> {
        let url = typeof override === 'string' ? override.trim() : '';
        if (!url) {
            url = String((await read.getEnvironmentReader().getServerSettings().getValueById('Site_Url')) || '');
        }
        return url.replace(/\/+$/, '');
    }
}

/** The server's own settings that decide what a post may contain; one unreadable keeps its default. */
async function readServerRules(read: IRead): Promise<ServerPostRules> {
    const settings = read.getEnvironmentReader().getServerSettings();
    const keys = Object.keys(SERVER_SETTING_IDS) as Array<keyof ServerPostRules>;
    const values = await Promise.all(keys.map((key) => settings.getValueById(SERVER_SETTING_IDS[key]).catch(() => undefined)));
    const raw: Partial<Record<keyof ServerPostRules, unknown>> = {};
    keys.forEach((key, i) => (raw[key] = values[i]));
    return serverPostRules(raw);
}

function positive(value: unknown, fallback: number): number {
    const n = Number(value);
    return isFinite(n) && n > 0 ? n : fallback;
}
