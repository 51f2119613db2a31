// A real local HTTP server standing in for a target (Discord, a webhook consumer, a remote
// Rocket.Chat…): records every request and answers with what the test scripts.
import * as http from 'http';
import { AddressInfo } from 'net';

export interface RecordedRequest {
    method: string;
    path: string;
    query: Record<string, string>;
    headers: Record<string, string>;
    body: Buffer;
    text: string;
    json?: any;
    at: number;
}

export interface SinkReply {
    status?: number;
    headers?: Record<string, string>;
    body?: unknown;
}

export type SinkHandler = (req: RecordedRequest, index: number) => SinkReply | Promise<SinkReply>;

export class Sink {
    readonly requests: RecordedRequest[] = [];
    private server?: http.Server;
    private waiters: Array<() => void> = [];
    url = '';

    constructor(private handler: SinkHandler = () => ({ status: 200, body: { ok: true } })) {}

    async start(): Promise<this> {
        this.server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on('data', (c) => chunks.push(c));
            req.on('end', async () => {
                const body = Buffer.concat(chunks);
                const url = new URL(req.url || '/', 'http://sink');
                const recorded: RecordedRequest = {
                    method: req.method || 'GET',
                    path: url.pathname,
                    query: Object.fromEntries(url.searchParams),
                    headers: req.headers as Record<string, string>,
                    body,
                    text: body.toString('utf8'),
                    at: Date.now(),
                };
                try {
                    recorded.json = JSON.parse(recorded.text);
                } catch {
                    recorded.json = undefined;
                }
                const index = this.requests.push(recorded) - 1;
                const reply = await this.handler(recorded, index);
                const payload = reply.body === undefined ? '' : typeof reply.body === 'string' || Buffer.isBuffer(reply.body) ? reply.body : JSON.stringify(reply.body);
                res.writeHead(reply.status || 200, { 'Content-Type': 'application/json', ...(reply.headers || {}) });
                res.end(payload);
                this.waiters.splice(0).forEach((w) => w());
            });
        });
        await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
        this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
        return this;
    }

    setHandler(handler: SinkHandler): void {
        this.handler = handler;
    }

    /** Resolves once `count` requests have arrived (fails after `timeoutMs`). */
    async waitFor(count: number, timeoutMs = 15000): Promise<RecordedRequest[]> {
        const deadline = Date.now() + timeoutMs;
        while (this.requests.length < count) {
            const left = deadline - Date.now();
            if (left <= 0) {
                throw new Error(`sink: expected ${count} request(s), got ${this.requests.length}: ${this.requests.map((r) => `${r.method} ${r.path}`).join(', ')}`);
            }
            await new Promise<void>((resolve) => {
                const timer = setTimeout(resolve, left);
                this.waiters.push(() => {
                    clearTimeout(timer);
                    resolve();
                });
            });
        }
        return this.requests.slice(0, count);
    }

    async stop(): Promise<void> {
        if (this.server) {
            (this.server as http.Server & { closeAllConnections(): void }).closeAllConnections();
            await new Promise((resolve) => this.server!.close(resolve));
        }
    }
}
