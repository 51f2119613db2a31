import { IHttp, ILogger, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';

import { checkAddress } from '../core/addressPolicy';
import { OutboundGuard } from '../core/relay';
import { RenderedMessage, TargetAdapter } from '../core/adapter';
import { fetchFile } from './fileFetch';
import { DEFAULT_TIMEOUT_MS, executeRequest } from './httpExecutor';
import { readHostedAvatar, saveHostedAvatar } from './records/hostedAvatar';

// Avatars are small; a bigger one is not worth the upload.
export const MAX_AVATAR_BYTES = 1024 * 1024;
/** After a failed copy, this runtime sends without that avatar for a while instead of trying on every message. */
const RETRY_FAILED_AFTER_MS = 10 * 60000;

/** Per runtime: copies under way (one upload for messages arriving together) and recent failures. */
const inFlight = new Map<string, Promise<string | undefined>>();
const failedAt = new Map<string, number>();

export interface HostedAvatarAccess {
    read: IRead;
    http: IHttp;
    persistence: IPersistence;
    logger: ILogger;
}

/**
 * The sender's avatar as stored on a target that needs it there (the adapter's `hostedAvatar`):
 * read from the record, or downloaded (address policy, 1 MB) and uploaded once, then recorded.
 * Any failure means no avatar, never a failed delivery.
 */
export async function hostedAvatarFor(adapter: TargetAdapter, config: unknown, rendered: RenderedMessage, guard: OutboundGuard, acc: HostedAvatarAccess): Promise<string | undefined> {
    const hosting = adapter.hostedAvatar;
    const avatarUrl = rendered.avatarUrl || rendered.httpAvatarUrl;
    if (!hosting || !avatarUrl) {
        return undefined;
    }
    const scope = hosting.scope(config);
    const key = `${scope}\n${avatarUrl}`;
    if (Date.now() - (failedAt.get(key) || 0) < RETRY_FAILED_AFTER_MS) {
        return undefined;
    }
    let copy = inFlight.get(key);
    if (!copy) {
        copy = copyAvatar(adapter, config, scope, avatarUrl, guard, acc).then((hostedUrl) => {
            if (hostedUrl) {
                failedAt.delete(key);
            } else {
                failedAt.set(key, Date.now());
            }
            return hostedUrl;
        });
        copy.then(() => inFlight.delete(key), () => inFlight.delete(key));
        inFlight.set(key, copy);
    }
    return copy;
}

async function copyAvatar(adapter: TargetAdapter, config: unknown, scope: string, avatarUrl: string, guard: OutboundGuard, acc: HostedAvatarAccess): Promise<string | undefined> {
    const hosting = adapter.hostedAvatar!;
    try {
        const known = await readHostedAvatar(acc.read.getPersistenceReader(), scope, avatarUrl);
        if (known) {
            return known.hostedUrl;
        }
        const fetched = await fetchFile(acc.http, { url: avatarUrl }, MAX_AVATAR_BYTES, guard.privateHostsAllowed);
        if (!fetched.ok) {
            acc.logger.warn(`avatar not copied to ${adapter.type}: ${fetched.reason}`);
            return undefined;
        }
        const upload = hosting.upload(config, { bytes: fetched.file.bytes, mimeType: fetched.file.mimeType });
        if (!checkAddress(upload.url, guard.privateHostsAllowed).allowed) {
            return undefined;
        }
        const hostedUrl = hosting.read(await executeRequest(acc.http, upload, DEFAULT_TIMEOUT_MS));
        if (!hostedUrl) {
            acc.logger.warn(`avatar not copied to ${adapter.type}: the upload was refused`);
            return undefined;
        }
        await saveHostedAvatar(acc.persistence, scope, avatarUrl, hostedUrl);
        return hostedUrl;
    } catch (e) {
        acc.logger.warn(`avatar not copied to ${adapter.type}: ${e instanceof Error ? e.name : 'error'}`);
        return undefined;
    }
}
