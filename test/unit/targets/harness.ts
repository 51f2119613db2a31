// Shared fixtures for the adapter tables: a RelayMessage, a DeliveryInput around it, and
// readable views of the requests an adapter builds.

import { ConfigError } from '../../../src/core/errors';
import type { HttpResult, OutboundRequest } from '../../../src/core/http';
import type { RelayMessage } from '../../../src/core/message';
import { targetRegistry } from '../../../src/targets/index';
import { runRequests } from '../../../src/targets/run';
import type { DeliveryInput, OutboundFile, RenderedMessage, TargetAdapter } from '../../../src/core/adapter';

export function makeMessage(overrides: Partial<RelayMessage> = {}): RelayMessage {
    return {
        event: 'sent',
        id: 'MSG1',
        text: 'hello *world*',
        sender: {
            id: 'U1',
            username: 'alice',
            displayName: 'Alice Liddell',
            avatarUrl: 'https://chat.example.com/avatar/alice',
            isBot: false,
        },
        room: { id: 'GENERAL', name: 'general', kind: 'channel' },
        files: [],
        timestamp: '2024-05-01T10:00:00.000Z',
        isSystem: false,
        siteUrl: 'https://chat.example.com',
        ...overrides,
    };
}

export interface InputOptions {
    message?: Partial<RelayMessage>;
    rendered?: Partial<RenderedMessage>;
    channel?: Record<string, string>;
    files?: OutboundFile[];
    remoteIds?: string[];
    remoteThreadId?: string;
    session?: Record<string, string>;
    hostedAvatarUrl?: string;
}

/** Parses the raw config with the adapter (so tests also cover parseConfig) and wraps a message. */
export function makeInput<C>(adapter: TargetAdapter<C>, raw: Record<string, unknown>, options: InputOptions = {}): DeliveryInput<C> {
    const message = makeMessage(options.message);
    return {
        config: adapter.parseConfig(raw),
        channel: options.channel || {},
        message,
        rendered: { text: message.text, alias: 'Alice', avatarUrl: 'https://cdn.example.com/alice.png', ...options.rendered },
        files: options.files || [],
        remoteIds: options.remoteIds || [],
        remoteThreadId: options.remoteThreadId,
        session: options.session,
        carried: {},
        hostedAvatarUrl: options.hostedAvatarUrl,
    };
}

/**
 * Runs an adapter's requests through the delivery loop (src/targets/run.ts) against scripted
 * answers, as the shell would: the requests as sent, and the ids kept.
 */
export async function runScripted<C>(
    adapter: TargetAdapter<C>,
    input: DeliveryInput<C>,
    answer: (request: OutboundRequest, index: number) => HttpResult,
): Promise<{ sent: OutboundRequest[]; remoteIds: string[]; carried: Record<string, string> }> {
    const sent: OutboundRequest[] = [];
    const progress = { partsDone: 0, remoteIds: [] as string[], carried: {} as Record<string, string> };
    await runRequests(adapter, input, progress, async (request) => answer(request, sent.push(request) - 1));
    return { sent, remoteIds: progress.remoteIds, carried: progress.carried };
}

export const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text);

export function file(name: string, mimeType: string, withBytes: boolean, size = 3): OutboundFile {
    const url = `https://chat.example.com/file-upload/${name}`;
    return withBytes ? { url, name, mimeType, size, bytes: bytesOf('abc') } : { url, name, mimeType, size };
}

/** A request with its JSON body parsed and multipart parts summarised, for toEqual tables. */
export function view(request: OutboundRequest): Record<string, unknown> {
    const shown: Record<string, unknown> = { method: request.method, url: request.url, headers: request.headers };
    if (request.body !== undefined) {
        try {
            shown.json = JSON.parse(request.body);
        } catch {
            shown.body = request.body;
        }
    }
    if (request.bytes) {
        shown.bytes = new TextDecoder().decode(request.bytes);
    }
    if (request.multipart) {
        shown.multipart = request.multipart.map((part) => part.file
            ? { name: part.name, filename: part.file.filename, contentType: part.file.contentType, bytes: new TextDecoder().decode(part.file.bytes) }
            : { name: part.name, value: part.name === 'payload_json' ? JSON.parse(part.value || '') : part.value });
    }
    return shown;
}

export function response(status: number, body: unknown = '', headers: Record<string, string> = {}): HttpResult {
    return { status, headers, body: typeof body === 'string' ? body : JSON.stringify(body) };
}

/** What readResponse did: the id it read, or the TargetError it threw, as plain data. */
export function outcome(run: () => { remoteId?: string; carry?: Record<string, string> }): Record<string, unknown> {
    try {
        return run();
    } catch (error) {
        const failure = error as { name: string; message: string; status: number; retryable: boolean; retryAfterMs?: number };
        return { error: failure.name, message: failure.message, status: failure.status, retryable: failure.retryable, retryAfterMs: failure.retryAfterMs };
    }
}

/** A URL the registry must refuse with a ConfigError at path `url` whose message contains `message`. */
export function expectUrlError(url: string, message: string): void {
    let thrown: unknown;
    try {
        targetRegistry.parseTargetUrl(url);
    } catch (error) {
        thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).path).toBe('url');
    expect((thrown as ConfigError).message).toContain(message);
}
