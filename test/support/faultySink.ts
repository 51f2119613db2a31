// A webhook receiver that misbehaves on command: refuses connections (down), answers 429 with
// Retry-After, 500s, stalls without answering, drips its body slowly, or accepts and answers with
// a body of the test's choosing (a hostile or huge one). It de-duplicates by
// Idempotency-Key, as a careful receiver does, and counts raw duplicates separately.
import * as http from 'http';
import { AddressInfo, Socket } from 'net';

export type Mode =
    | { kind: 'ok' }
    | { kind: 'status'; status: number; retryAfter?: string; count: number }
    | { kind: 'stall'; ms: number; count: number }
    | { kind: 'slow'; ms: number; count: number }
    | { kind: 'drip'; byteDelayMs: number; count: number }
    | { kind: 'answer'; body: string; count: number };

export interface Delivery {
    messageId: string;
    event: string;
    text: string;
    at: number;
}

export class FaultySink {
    readonly deliveries: Delivery[] = [];
    readonly seenKeys = new Set<string>();
    rawRequests = 0;
    rawDuplicates = 0;
    private mode: Mode = { kind: 'ok' };
    private server?: http.Server;
    private sockets = new Set<Socket>();
    port = 0;

    get url(): string {
        return `http://127.0.0.1:${this.port}/hook`;
    }

    setMode(mode: Mode): void {
        this.mode = mode;
    }

    async start(port = 0): Promise<this> {
        this.server = http.createServer((req, res) => this.handle(req, res));
        this.server.on('connection', (socket) => {
            this.sockets.add(socket);
            socket.on('close', () => this.sockets.delete(socket));
        });
        await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
        this.port = (this.server!.address() as AddressInfo).port;
        return this;
    }

    /** Connection refused until `up()`. */
    async down(): Promise<void> {
        for (const socket of this.sockets) socket.destroy();
        await new Promise((resolve) => this.server!.close(resolve));
    }

    async up(): Promise<void> {
        await this.start(this.port);
    }

    async stop(): Promise<void> {
        for (const socket of this.sockets) socket.destroy();
        if (this.server && this.server.listening) await new Promise((resolve) => this.server!.close(resolve));
    }

    private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
        const chunks: Buffer[] = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            this.rawRequests += 1;
            const mode = this.mode;
            if (mode.kind !== 'ok' && mode.count > 0) {
                mode.count -= 1;
                if (mode.kind === 'status') {
                    res.writeHead(mode.status, { 'Content-Type': 'application/json', ...(mode.retryAfter ? { 'Retry-After': mode.retryAfter } : {}) });
                    res.end(JSON.stringify({ error: `simulated ${mode.status}` }));
                    return;
                }
                if (mode.kind === 'stall') {
                    // Never answers; the connection is dropped later. Nothing is accepted.
                    setTimeout(() => req.socket.destroy(), mode.ms);
                    return;
                }
                if (mode.kind === 'slow') {
                    // Accepted at once, answered after `ms` (a slow but working target).
                    this.accept(Buffer.concat(chunks), req);
                    setTimeout(() => {
                        res.writeHead(200, { 'Content-Type': 'application/json' });
                        res.end(JSON.stringify({ ok: true }));
                    }, mode.ms);
                    return;
                }
                if (mode.kind === 'answer') {
                    this.accept(Buffer.concat(chunks), req);
                    res.writeHead(200, { 'Content-Type': 'application/json' });
                    res.end(mode.body);
                    return;
                }
                // drip: accepted (recorded) but the answer trickles in slower than the client waits
                this.accept(Buffer.concat(chunks), req);
                res.writeHead(200, { 'Content-Type': 'application/json' });
                const body = JSON.stringify({ ok: true, padding: 'x'.repeat(20) });
                let i = 0;
                const timer = setInterval(() => {
                    if (i >= body.length || res.destroyed) {
                        clearInterval(timer);
                        res.end();
                        return;
                    }
                    res.write(body[i++]);
                }, mode.byteDelayMs);
                return;
            }
            this.accept(Buffer.concat(chunks), req);
            res.writeHead(200, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify({ ok: true }));
        });
    }

    private accept(body: Buffer, req: http.IncomingMessage): void {
        // Keys are per receiver: two webhook targets on this one server are two receivers.
        const key = req.headers['idempotency-key'] ? `${req.url}\n${req.headers['idempotency-key']}` : '';
        if (key && this.seenKeys.has(key)) {
            this.rawDuplicates += 1;
            return; // already have it: a retry of something we accepted
        }
        if (key) this.seenKeys.add(key);
        const json = JSON.parse(body.toString('utf8'));
        this.deliveries.push({ messageId: json.message_id, event: json.event, text: json.text, at: Date.now() });
    }
}
