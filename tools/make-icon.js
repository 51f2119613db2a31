#!/usr/bin/env node
// Draws icon.png (256×256): two chat nodes joined by a bridge arch on Rocket.Chat red.
// Run once when the design changes; the PNG is committed.
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const SIZE = 256;

function crc32(buf) {
    let c;
    let crc = 0xffffffff;
    for (let n = 0; n < buf.length; n++) {
        c = (crc ^ buf[n]) & 0xff;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        crc = (crc >>> 8) ^ c;
    }
    return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
}

// Signed distances (negative inside) for the shapes.
const roundedSquare = (x, y) => {
    const r = 56;
    const qx = Math.abs(x - 128) - (128 - r);
    const qy = Math.abs(y - 128) - (128 - r);
    return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
};
const circle = (cx, cy, r) => (x, y) => Math.hypot(x - cx, y - cy) - r;
const arch = (x, y) => {
    // Upper half of a ring centred at (128, 170).
    const d = Math.abs(Math.hypot(x - 128, y - 170) - 76) - 11;
    return y > 170 ? Math.max(d, y - 170) : d;
};
const deck = (x, y) => Math.max(Math.abs(y - 176) - 8, Math.abs(x - 128) - 92);
const bubbleLeft = circle(52, 176, 26);
const bubbleRight = circle(204, 176, 26);
const dotLeft = circle(52, 176, 9);
const dotRight = circle(204, 176, 9);

function coverage(d) {
    return Math.min(1, Math.max(0, 0.5 - d));
}

const raw = Buffer.alloc(SIZE * (SIZE * 4 + 1));
for (let y = 0; y < SIZE; y++) {
    raw[y * (SIZE * 4 + 1)] = 0; // filter: none
    for (let x = 0; x < SIZE; x++) {
        const px = x + 0.5;
        const py = y + 0.5;
        const bg = coverage(roundedSquare(px, py));
        // Rocket.Chat red, darker towards the bottom.
        let r = 245 - (py / SIZE) * 40;
        let g = 69 - (py / SIZE) * 25;
        let b = 92 - (py / SIZE) * 25;
        const white = Math.max(coverage(arch(px, py)), coverage(deck(px, py)), coverage(bubbleLeft(px, py)), coverage(bubbleRight(px, py)));
        r = r * (1 - white) + 255 * white;
        g = g * (1 - white) + 255 * white;
        b = b * (1 - white) + 255 * white;
        const dot = Math.max(coverage(dotLeft(px, py)), coverage(dotRight(px, py)));
        r = r * (1 - dot) + 29 * dot;
        g = g * (1 - dot) + 116 * dot;
        b = b * (1 - dot) + 245 * dot;
        const o = y * (SIZE * 4 + 1) + 1 + x * 4;
        raw[o] = Math.round(r);
        raw[o + 1] = Math.round(g);
        raw[o + 2] = Math.round(b);
        raw[o + 3] = Math.round(bg * 255);
    }
}

const header = Buffer.alloc(13);
header.writeUInt32BE(SIZE, 0);
header.writeUInt32BE(SIZE, 4);
header[8] = 8; // bit depth
header[9] = 6; // RGBA
const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
]);
fs.writeFileSync(path.join(__dirname, '..', 'icon.png'), png);
console.log(`icon.png written (${png.length} bytes)`);
