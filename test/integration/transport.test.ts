// Binary request bodies through the real runtime and the host's HTTP bridge, which applies
// Rocket.Chat's rule (server-fetch JSON-stringifies any body that is not a Node Buffer). The
// engine's transport hands the server a plain Uint8Array for larger messages (from about 64 kB,
// see tools/experiments/transport-shapes.js), so every size must arrive byte-exact, not only
// the small ones.
import { createHash } from 'crypto';

import { eventually, startHostWithApp, LocalHost } from '../support/host';
import { RecordedRequest, Sink } from '../support/sink';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The body of the multipart part named `name` (binary-safe). */
function partBody(request: RecordedRequest, name: string): Buffer | undefined {
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(request.headers['content-type'] || '');
    if (!boundary) return undefined;
    const marker = Buffer.from(`\r\n--${boundary[1] || boundary[2]}`);
    const body = Buffer.concat([Buffer.from('\r\n'), request.body]);
    for (let start = body.indexOf(marker); start >= 0; ) {
        const next = body.indexOf(marker, start + marker.length);
        if (next < 0) return undefined;
        const chunk = body.subarray(start + marker.length + 2, next);
        const split = chunk.indexOf('\r\n\r\n');
        if (chunk.subarray(0, split).toString('utf8').includes(`name="${name}"`)) return chunk.subarray(split + 4);
        start = next;
    }
    return undefined;
}

describe('binary request bodies in the real runtime', () => {
    let host: LocalHost;
    let discord: Sink;
    let nextId = 1;
    /** Deliveries the app has recorded (it writes the message map after the target answers). */
    const recorded = () => [...host.state.appPersistence(host.appId).values()].filter((r: any) => r.keys.includes('misc:relay-bridge:message-map')).length;

    beforeAll(async () => {
        discord = await new Sink(() => ({ body: { id: String(nextId++) } })).start();
        host = await startHostWithApp();
        await host.updateSetting(
            'relay_config',
            JSON.stringify({
                instances: { dc: { type: 'discord', webhook_url: `${discord.url}/api/webhooks/1/tok`, max_file_size: 25000000 } },
                rules: [{ from: { rocketchat: { room: '#general' } }, to: { dc: {} } }],
            }),
        );
    });

    afterAll(async () => {
        await host?.stop();
        await discord?.stop();
    });

    it.each([
        ['1 kB', 1000],
        ['200 kB', 200 * 1000],
        ['5 MB', 5 * 1000 * 1000],
        ['20 MB', 20 * 1000 * 1000],
    ])('uploads %s to Discord as multipart, byte-exact', async (_size, size) => {
        discord.requests.length = 0;
        const before = recorded();
        const bytes = Buffer.alloc(size);
        for (let i = 0; i < size; i += 4) bytes.writeUInt32LE((i * 2654435761) >>> 0, i); // no repeating pattern to hide a shift
        host.uploadFile({ roomId: 'GENERAL', name: `f${size}.bin`, type: 'application/octet-stream', bytes, text: `${size} bytes` });
        const [request] = await discord.waitFor(1, 90000);
        expect(request.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
        const file = partBody(request, 'files[0]');
        expect(file && file.length).toBe(size);
        expect(sha256(file!)).toBe(sha256(bytes));
        await eventually(() => recorded() > before, 20000, 'the delivery recorded'); // nothing left running at teardown
        await host.idle();
    }, 120000);
});
