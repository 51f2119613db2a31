import { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

// This server's Relay Bridge id, for the relay marker: random, written once, shared by every
// instance of the server (the app id cannot serve: it is the same on every server).

const KEY = [new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, 'relay-bridge:server-id')];

export class ServerIdentity {
    private cached?: string;

    /** The id when one was written; none means no message has left this server with a marker yet. */
    public async existing(reader: IPersistenceRead): Promise<string | undefined> {
        if (!this.cached) {
            const found = (await reader.readByAssociations(KEY)) as Array<{ id: string }>;
            this.cached = found && found.length && found[0].id ? found[0].id : undefined;
        }
        return this.cached;
    }

    public async id(reader: IPersistenceRead, persistence: IPersistence): Promise<string> {
        if (this.cached) {
            return this.cached;
        }
        const found = (await reader.readByAssociations(KEY)) as Array<{ id: string }>;
        if (found && found.length && found[0].id) {
            this.cached = found[0].id;
            return this.cached;
        }
        const id = `rb-${Math.random().toString(36).slice(2, 12)}${Math.random().toString(36).slice(2, 12)}`;
        await persistence.updateByAssociations(KEY, { id }, true);
        this.cached = id;
        return id;
    }
}
