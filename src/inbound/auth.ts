// Who is posting: every inbound source has a name and a shared secret token. The token may come as
// `Authorization: Bearer <token>`, `X-Relay-Token: <token>`, the password of
// `Authorization: Basic` (Apprise `json://source:token@host`), `?token=`, or a `token` field in the
// body (Rocket.Chat outgoing-webhook style) — first one found, in that order.

import { InboundError } from './errors';
import { base64DecodedLength, decodeBase64 } from './base64';
import { decodeBody } from './body';
import { DEFAULT_LIMITS } from './types';
import { ownValue } from './values';
import { utf8Decode, utf8Encode } from '../core/utf8';
import type { InboundRequest } from './request';

export interface InboundSource {
    name: string;
    token: string;
}

const MAX_TOKEN_LENGTH = 1024;

export function extractToken(req: InboundRequest): string | undefined {
    const headers = req.headers || {};
    const authorization = ownValue(headers, 'authorization');
    if (typeof authorization === 'string') {
        const bearer = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization);
        if (bearer) {
            return usable(bearer[1]);
        }
    }
    const header = ownValue(headers, 'x-relay-token');
    if (typeof header === 'string' && header.trim() !== '') {
        return usable(header.trim());
    }
    if (typeof authorization === 'string') {
        const basic = /^\s*basic\s+([A-Za-z0-9+\/=]+)\s*$/i.exec(authorization);
        if (basic && typeof base64DecodedLength(basic[1]) === 'number') {
            const password = basicPassword(basic[1]);
            if (password !== undefined) {
                return usable(password);
            }
        }
    }
    const query = ownValue(req.query || {}, 'token');
    if (typeof query === 'string' && query !== '') {
        return usable(query);
    }
    return bodyToken(req);
}

function basicPassword(encoded: string): string | undefined {
    try {
        const decoded = utf8Decode(decodeBase64(encoded, 'authorization', MAX_TOKEN_LENGTH * 2));
        const colon = decoded.indexOf(':');
        return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : undefined;
    } catch {
        return undefined;
    }
}

function bodyToken(req: InboundRequest): string | undefined {
    try {
        const { body } = decodeBody(req, DEFAULT_LIMITS);
        const token = ownValue(body, 'token');
        return typeof token === 'string' && token !== '' ? usable(token) : undefined;
    } catch {
        return undefined; // a bad body is the parser's to report, after authentication
    }
}

/** Oversized or control-laden tokens are treated as absent rather than compared. */
function usable(token: string): string | undefined {
    return token.length <= MAX_TOKEN_LENGTH && !/[\u0000-\u001F\u007F]/.test(token) ? token : undefined;
}

/**
 * Compares UTF-8 bytes of `a` (the presented value) and `b` (the secret) in time that depends only
 * on the secret's length: every byte of `b` is visited and the length difference folds into the
 * result instead of returning early.
 */
export function constantTimeEqual(a: string, b: string): boolean {
    const presented = utf8Encode(typeof a === 'string' ? a : '');
    const secret = utf8Encode(typeof b === 'string' ? b : '');
    let difference = presented.length ^ secret.length;
    for (let i = 0; i < secret.length; i++) {
        // Out-of-range reads give undefined, `| 0` makes that 0 without a branch.
        difference |= (presented[i] | 0) ^ secret[i];
    }
    return difference === 0;
}

/**
 * With a named source (`?source=`): 404 when no such source, 401 unless its token
 * matches. Without: the source whose token matches, comparing against every source so the time
 * taken does not reveal which one matched. Sources with an empty token never match.
 */
export function authenticate<S extends InboundSource>(req: InboundRequest, sources: S[], namedSource?: string): { source: S } | InboundError {
    const token = extractToken(req);
    if (namedSource !== undefined && namedSource !== '') {
        const named = sources.filter((source) => source.name === namedSource)[0];
        if (named === undefined) {
            return new InboundError(404, `unknown source ${JSON.stringify(namedSource)}`);
        }
        if (token === undefined) {
            return new InboundError(401, 'missing token');
        }
        return named.token !== '' && constantTimeEqual(token, named.token) ? { source: named } : new InboundError(401, 'invalid token');
    }
    if (token === undefined) {
        return new InboundError(401, 'missing token');
    }
    let matched: S | undefined;
    for (const source of sources) {
        const equal = constantTimeEqual(token, source.token) && source.token !== '';
        // Keep the first match but keep comparing: no early exit.
        if (equal && matched === undefined) {
            matched = source;
        }
    }
    return matched ? { source: matched } : new InboundError(401, 'invalid token');
}
