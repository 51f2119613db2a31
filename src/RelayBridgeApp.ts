import { IAppAccessors, IConfigurationExtend, IHttp, ILogger, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { App } from '@rocket.chat/apps-engine/definition/App';
import { IMessage, IPostMessageDeleted, IPostMessageSent, IPostMessageUpdated } from '@rocket.chat/apps-engine/definition/messages';
import { IAppInfo } from '@rocket.chat/apps-engine/definition/metadata';

// Default export: rc-apps looks for an export named after the classFile path, which a file in src/ cannot have.
export default class RelayBridgeApp extends App implements IPostMessageSent, IPostMessageUpdated, IPostMessageDeleted {
    constructor(info: IAppInfo, logger: ILogger, accessors: IAppAccessors) {
        super(info, logger, accessors);
    }

    public async executePostMessageSent(message: IMessage, read: IRead, http: IHttp, persistence: IPersistence, modify: IModify): Promise<void> {
        await http.post('http://127.0.0.1:1/', { data: { text: message.text } }).catch(() => undefined);
    }

    public async executePostMessageUpdated(message: IMessage, read: IRead, http: IHttp, persistence: IPersistence, modify: IModify): Promise<void> {
        return;
    }

    public async executePostMessageDeleted(message: IMessage, read: IRead, http: IHttp, persistence: IPersistence, modify: IModify): Promise<void> {
        return;
    }

    protected async extendConfiguration(configuration: IConfigurationExtend): Promise<void> {
        return;
    }
}
