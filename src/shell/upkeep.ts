import { ILogger, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';

import { listHostedAvatars, removeHostedAvatar } from './records/hostedAvatar';
import { listInboundResults, removeInboundResult } from './records/inboundMap';
import { listMessageMaps, removeMessageMap } from './records/messageMap';
import { listOrigins, removeOrigin } from './records/origin';
import { listDeadLetters, removeDeadLetter } from './records/outbox';
import { expirePaceHolds } from './records/pace';

// Storage upkeep, run by the delivery job (src/shell/pipeline.ts) about once an hour.

/** Id maps (for edits, deletes, threads) and inbound idempotency records live this long… */
export const ID_MAP_MAX_AGE_MS = 30 * 24 * 3600000;
/** …and at most this many are kept (the oldest go first). */
export const ID_MAP_MAX_RECORDS = 100000;
/** Dead letters kept for the admin; beyond this the oldest are dropped (and logged). */
export const DEAD_LETTER_MAX = 1000;
/** Copied avatars are uploaded again after this long (a sender's avatar URL stays the same when the picture changes). */
export const HOSTED_AVATAR_MAX_AGE_MS = 24 * 3600000;
export const MAINTENANCE_EVERY_MS = 3600000;
/** A lapsed budget hold is removed this long after its end (a live runtime renews or removes its own long before). */
const PACE_HOLD_GRACE_MS = 600000;

/**
 * Keeps storage bounded: id maps and inbound records older than ID_MAP_MAX_AGE_MS or beyond
 * ID_MAP_MAX_RECORDS go (edits of such old messages are then not relayed), and dead letters
 * beyond DEAD_LETTER_MAX, budget holds of runtimes that died holding them. Anything removed for a
 * cap is reported in the log.
 */
export async function expireRecords(read: IRead, persistence: IPersistence, logger: ILogger): Promise<{ maps: number; inbound: number; origins: number; avatars: number; deadLetters: number }> {
    const reader = read.getPersistenceReader();
    const maps = expired(await listMessageMaps(reader));
    for (const map of maps.expired) {
        await removeMessageMap(persistence, map.messageId);
    }
    const inbound = expired(await listInboundResults(reader));
    for (const record of inbound.expired) {
        await removeInboundResult(persistence, record);
    }
    const origins = expired(await listOrigins(reader));
    for (const record of origins.expired) {
        await removeOrigin(persistence, record.messageId);
    }
    const avatars = expired(await listHostedAvatars(reader), HOSTED_AVATAR_MAX_AGE_MS);
    for (const record of avatars.expired) {
        await removeHostedAvatar(persistence, record);
    }
    const letters = await listDeadLetters(reader);
    const overflow = letters.slice(0, Math.max(0, letters.length - DEAD_LETTER_MAX));
    for (const letter of overflow) {
        await removeDeadLetter(persistence, letter.id);
    }
    await expirePaceHolds(reader, persistence, Date.now(), PACE_HOLD_GRACE_MS);
    if (maps.overCap || inbound.overCap || origins.overCap || avatars.overCap || overflow.length > 0) {
        logger.warn(`storage caps reached: removed ${maps.expired.length} id maps, ${inbound.expired.length} inbound records, ${origins.expired.length} origin records, ${avatars.expired.length} avatar records, ${overflow.length} dead letters (caps ${ID_MAP_MAX_RECORDS} / ${DEAD_LETTER_MAX})`);
    }
    return { maps: maps.expired.length, inbound: inbound.expired.length, origins: origins.expired.length, avatars: avatars.expired.length, deadLetters: overflow.length };
}

/** Records older than `maxAgeMs`, and the oldest beyond ID_MAP_MAX_RECORDS. */
function expired<T extends { createdAt: string }>(records: T[], maxAgeMs = ID_MAP_MAX_AGE_MS): { expired: T[]; overCap: boolean } {
    const now = Date.now();
    const sorted = records.slice().sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
    return {
        expired: sorted.filter((r, i) => now - Date.parse(r.createdAt) > maxAgeMs || sorted.length - i > ID_MAP_MAX_RECORDS),
        overCap: sorted.length > ID_MAP_MAX_RECORDS,
    };
}
