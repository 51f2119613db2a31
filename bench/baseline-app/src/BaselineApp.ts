import { IAppAccessors, IConfigurationExtend, IEnvironmentRead, IHttp, ILogger, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { ApiEndpoint, ApiSecurity, ApiVisibility, IApiEndpointInfo, IApiRequest, IApiResponse } from '@rocket.chat/apps-engine/definition/api';
import { App } from '@rocket.chat/apps-engine/definition/App';
import { IMessage, IPostMessageSent } from '@rocket.chat/apps-engine/definition/messages';
import { IAppInfo } from '@rocket.chat/apps-engine/definition/metadata';
import { SettingType } from '@rocket.chat/apps-engine/definition/settings';

// The benchmark's floor: the least work an app can do for the two things Relay Bridge does.
// Outbound: one http.post per message sent. Inbound: read a room, create a message. Anything
// Relay Bridge costs beyond this is its own overhead.

const SINK_URL_SETTING = 'sink_url';

class PostEndpoint extends ApiEndpoint {
    public path = 'inbound';

    public async post(request: IApiRequest, endpoint: IApiEndpointInfo, read: IRead, modify: IModify): Promise<IApiResponse> {
        const room = await read.getRoomReader().getById(String(request.content.room_id));
        if (!room) {
            return { status: 404, content: { success: false } };
        }
        const builder = modify.getCreator().startMessage().setRoom(room).setText(String(request.content.text || ''));
        const messageId = await modify.getCreator().finish(builder);
        return { status: 200, content: { success: true, message_id: messageId, room_id: room.id } };
    }
}

// Default export: rc-apps looks for an export named after the classFile path, which a file in src/ cannot have.
export default class BaselineApp extends App implements IPostMessageSent {
    /** Read once, like Relay Bridge's cached configuration: the floor is one round trip per message. */
    private sinkUrl?: string;

    constructor(info: IAppInfo, logger: ILogger, accessors: IAppAccessors) {
        super(info, logger, accessors);
    }

    public async executePostMessageSent(message: IMessage, read: IRead, http: IHttp, persistence: IPersistence): Promise<void> {
        if (message.sender.type === 'app') {
            return; // its own posts (the inbound endpoint's) are not relayed
        }
        if (this.sinkUrl === undefined) {
            this.sinkUrl = String(await read.getEnvironmentReader().getSettings().getValueById(SINK_URL_SETTING) || '');
        }
        if (!this.sinkUrl) {
            return;
        }
        const payload = {
            channel_id: message.room.id,
            channel_name: message.room.slugifiedName,
            message_id: message.id,
            user_id: message.sender.id,
            user_name: message.sender.username,
            text: message.text || '',
        };
        await http.post(this.sinkUrl, { headers: { 'Content-Type': 'application/json' }, content: JSON.stringify(payload) });
    }

    public async onSettingUpdated(): Promise<void> {
        this.sinkUrl = undefined;
    }

    protected async extendConfiguration(configuration: IConfigurationExtend, environment: IEnvironmentRead): Promise<void> {
        await configuration.settings.provideSetting({
            id: SINK_URL_SETTING,
            type: SettingType.STRING,
            packageValue: '',
            required: false,
            public: false,
            i18nLabel: SINK_URL_SETTING,
        });
        await configuration.api.provideApi({
            visibility: ApiVisibility.PUBLIC,
            security: ApiSecurity.UNSECURE,
            endpoints: [new PostEndpoint(this)],
        });
    }
}
