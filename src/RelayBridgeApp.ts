import {
    IAppAccessors,
    IConfigurationExtend,
    IConfigurationModify,
    IEnvironmentRead,
    IHttp,
    ILogger,
    IModify,
    IPersistence,
    IRead,
} from '@rocket.chat/apps-engine/definition/accessors';
import { ApiSecurity, ApiVisibility } from '@rocket.chat/apps-engine/definition/api';
import { App } from '@rocket.chat/apps-engine/definition/App';
import {
    IMessage, IPostMessageDeleted, IPostMessageSent, IPostMessageUpdated, IPostSystemMessageSent, IPreMessageSentPrevent,
} from '@rocket.chat/apps-engine/definition/messages';
import { IAppInfo } from '@rocket.chat/apps-engine/definition/metadata';
import { StartupType } from '@rocket.chat/apps-engine/definition/scheduler';
import { ISetting } from '@rocket.chat/apps-engine/definition/settings';

import { RelayEvent } from './core/message';
import { RateLimiter } from './core/rateLimit';
import { loopRefusal, markerFromMessageId } from './core/relayMarker';
import { targetRegistry } from './targets/index';
import { ConfigStore } from './shell/configStore';
import { InboundEndpoint } from './shell/inboundEndpoint';
import { OutboundRelay } from './shell/outbound';
import { filesOf } from './shell/normalize';
import { DeliveryPipeline, OUTBOX_PROCESSOR_ID } from './shell/pipeline';
import { ServerIdentity } from './shell/records/serverId';
import { isOwnFilesBack } from './shell/records/unmarkedRelays';
import { RelayCommand } from './shell/relayCommand';
import { SETTINGS, SettingId } from './shell/settings';
import { StatusEndpoint } from './shell/statusEndpoint';

/**
 * The switchboard: declares what the app provides (settings, endpoint) and hands every event to the
 * shell module that handles it. No relay logic lives here.
 */
// Default export: rc-apps looks for an export named after the classFile path, which a file in src/ cannot have.
export default class RelayBridgeApp extends App
    implements IPreMessageSentPrevent, IPostMessageSent, IPostSystemMessageSent, IPostMessageUpdated, IPostMessageDeleted {
    private readonly configStore = new ConfigStore(targetRegistry);
    private readonly pipeline = new DeliveryPipeline(this.configStore, () => this.getLogger());
    private readonly outbound = new OutboundRelay(this.configStore, this.pipeline);
    private readonly inboundLimiter = new RateLimiter();
    private readonly serverIdentity = new ServerIdentity();

    constructor(info: IAppInfo, logger: ILogger, accessors: IAppAccessors) {
        super(info, logger, accessors);
    }

    /** Only a message whose id carries a relay marker (another Relay Bridge chose it), or with files, is looked at. */
    public async checkPreMessageSentPrevent(message: IMessage): Promise<boolean> {
        return markerFromMessageId(message.id) !== undefined || filesOf(message, '').length > 0;
    }

    /**
     * A message another Relay Bridge posts here through chat.sendMessage that started on this
     * server (it went round) or passed too many relays is not stored: the same rule as the
     * inbound endpoint's for the marker headers, so a room relayed both ways shows each message once.
     */
    public async executePreMessageSentPrevent(message: IMessage, read: IRead): Promise<boolean> {
        const marker = markerFromMessageId(message.id);
        if (marker === undefined) {
            // An uploaded file's message has no chosen id: this server's own file coming back is
            // recognised by who posts it and what it is (records/unmarkedRelays.ts).
            return message.sender !== undefined && isOwnFilesBack(read.getPersistenceReader(), message.sender.id, filesOf(message, ''));
        }
        const ownServer = await this.serverIdentity.existing(read.getPersistenceReader());
        return loopRefusal(marker, ownServer || '') !== undefined;
    }

    public async executePostMessageSent(message: IMessage, read: IRead, http: IHttp, persistence: IPersistence, modify: IModify): Promise<void> {
        await this.relay('sent', message, read, http, persistence, modify);
    }

    /**
     * The server fires this instead of executePostMessageSent for every message with a type:
     * joins, topic changes… and end-to-end encrypted messages. Rules decide (`system_messages`).
     */
    public async executePostSystemMessageSent(message: IMessage, read: IRead, http: IHttp, persistence: IPersistence, modify: IModify): Promise<void> {
        await this.relay('sent', message, read, http, persistence, modify);
    }

    public async executePostMessageUpdated(message: IMessage, read: IRead, http: IHttp, persistence: IPersistence, modify: IModify): Promise<void> {
        await this.relay('edited', message, read, http, persistence, modify);
    }

    public async executePostMessageDeleted(message: IMessage, read: IRead, http: IHttp, persistence: IPersistence, modify: IModify): Promise<void> {
        await this.relay('deleted', message, read, http, persistence, modify);
    }

    /** Relays one event; a failure is logged with its stack, never thrown back into the server. */
    private async relay(event: RelayEvent, message: IMessage, read: IRead, http: IHttp, persistence: IPersistence, modify: IModify): Promise<void> {
        try {
            await this.outbound.handle(event, message, { read, http, persistence, modify, logger: this.getLogger(), appUserId: () => this.appUserId(read), serverId: () => this.serverIdentity.id(read.getPersistenceReader(), persistence) });
        } catch (e) {
            this.getLogger().error(`relaying ${event} message ${message.id} failed: ${e instanceof Error ? e.stack || e.message : String(e)}`);
        }
    }

    /**
     * The admin UI saves every setting at once, one by one in storage order (Quick relay and
     * Secrets before the configuration). Only the configuration is ever refused, and only for its
     * own mistakes: a `${NAME}` not in Secrets yet is accepted (a later save may add it; until
     * then the last valid configuration keeps running) and a `/relay` link it breaks is left out.
     * So saves converge in any order. Refusing keeps the old value: the engine stores what this
     * hook returns (a thrown error is swallowed by the Deno runtime) and writes it into the app's
     * debug log — so an accepted setting returns nothing (the engine then stores it as given):
     * password values never reach the log.
     */
    public async onPreSettingUpdate(context: { oldSetting: ISetting; newSetting: ISetting }, configurationModify: IConfigurationModify, read: IRead): Promise<ISetting> {
        const { oldSetting, newSetting } = context;
        if (newSetting.id === SettingId.RelayConfig) {
            const result = await this.configStore.checkStored(read, newSetting);
            if (!result.ok && !result.waitsForSecret) {
                this.configStore.lastError = `refused at ${new Date().toISOString()}: ${result.error}`;
                this.getLogger().error(`Relay configuration refused, the previous one keeps running: ${result.error}`);
                return oldSetting; // the configuration is not a password setting
            }
        }
        return undefined as unknown as ISetting;
    }

    /** Reports what the saved settings now run, as every instance will find it on its next read. */
    public async onSettingUpdated(setting: ISetting, configurationModify: IConfigurationModify, read: IRead): Promise<void> {
        this.configStore.invalidate();
        const relaySettings: string[] = [SettingId.RelayConfig, SettingId.Secrets, SettingId.QuickRelay];
        if (relaySettings.indexOf(setting.id) < 0) {
            return;
        }
        const result = await this.configStore.checkStored(read);
        if (!result.ok) {
            this.getLogger().error(`Relay configuration not active, the previous one keeps running: ${result.error}`);
            return;
        }
        for (const warning of result.active.config.warnings) {
            this.getLogger().warn(`Relay configuration: ${warning.path}: ${warning.problem}`);
        }
    }

    /** A re-enabled app starts with a clean pipeline (a run cut off by the disable may hang; what it held is in the backlog). */
    public async onEnable(environment: IEnvironmentRead, configurationModify: IConfigurationModify): Promise<boolean> {
        this.pipeline.reset();
        this.configStore.invalidate();
        // A restarted runtime looks at the backlog soon (what a killed one held waits for its claim
        // to run out), instead of at the recurring job's next minute.
        // Not awaited: the enable must not wait on the scheduler (a server may answer only once the app is enabled).
        Promise.resolve()
            .then(() => configurationModify.scheduler.scheduleOnce({ id: OUTBOX_PROCESSOR_ID, when: new Date(Date.now() + 1000) }))
            .catch((e) => this.getLogger().warn(`backlog job not scheduled at enable: ${e instanceof Error ? e.message : String(e)}`));
        return true;
    }

    protected async extendConfiguration(configuration: IConfigurationExtend, environment: IEnvironmentRead): Promise<void> {
        for (const setting of SETTINGS) {
            await configuration.settings.provideSetting(setting);
        }
        await configuration.scheduler.registerProcessors([
            {
                id: OUTBOX_PROCESSOR_ID,
                // Also runs every minute, so entries left by a restart or another instance get picked up.
                startupSetting: { type: StartupType.RECURRING, interval: '60 seconds' },
                processor: async (jobContext, read, modify, http, persistence) => {
                    try {
                        await this.pipeline.process(read, modify, http, persistence);
                    } catch (e) {
                        this.getLogger().error(`outbox run failed: ${e instanceof Error ? e.stack || e.message : String(e)}`);
                    }
                },
            },
        ]);
        await configuration.api.provideApi({
            visibility: ApiVisibility.PUBLIC,
            security: ApiSecurity.UNSECURE, // the endpoint authenticates every request itself
            endpoints: [
                // One fixed path: engines before 1.62 split API calls on ':' and never find a
                // `:param` route, so the source comes from the token (or `?source=`).
                new InboundEndpoint(this, this.configStore, this.inboundLimiter, this.serverIdentity, 'inbound'),
                new StatusEndpoint(this, this.configStore, this.pipeline, this.inboundLimiter),
            ],
        });
        try {
            await configuration.slashCommands.provideSlashCommand(new RelayCommand(this.configStore, this.pipeline, () => this.getID()));
        } catch (e) {
            // Re-enabling: the engine kept /relay from before and refuses to add it twice.
            this.getLogger().debug(`/relay not registered again: ${e instanceof Error ? e.message : String(e)}`);
        }
    }

    private appUserIdCache?: string;

    private async appUserId(read: IRead): Promise<string | undefined> {
        if (!this.appUserIdCache) {
            const user = await read.getUserReader().getAppUser(this.getID());
            this.appUserIdCache = user ? user.id : undefined;
        }
        return this.appUserIdCache;
    }
}
