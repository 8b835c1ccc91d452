// make-icons.mjs — draws the app's icons (public/icons/*.png) for the web app
// manifest and the home screen: a white speech bubble holding an "N" on the
// brand blue. Run by hand when the mark changes (node scripts/make-icons.mjs);
// the PNGs are committed. Uses only node:zlib: shapes are sampled 4×4 per pixel.
import { deflateSync } from 'node:zlib';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../public/icons');
const BLUE = [0x0b, 0x5f, 0xff]; // --accent in app/globals.css, the manifest's theme_color
const WHITE = [0xff, 0xff, 0xff];
const SAMPLES = 4;

// Shapes in unit coordinates (0..1, y down).
function inRoundedRect(x, y, [x0, y0, x1, y1], r) {
  const dx = Math.max(x0 + r - x, 0, x - (x1 - r));
  const dy = Math.max(y0 + r - y, 0, y - (y1 - r));
  return x >= x0 && x <= x1 && y >= y0 && y <= y1 && dx * dx + dy * dy <= r * r;
}

/** Inside a convex polygon whose points go clockwise on screen (y down). */
function inPolygon(x, y, pts) {
  return pts.every(([ax, ay], i) => {
    const [bx, by] = pts[(i + 1) % pts.length];
    return (bx - ax) * (y - ay) - (by - ay) * (x - ax) >= 0;
  });
}

const bubble = (x, y) => inRoundedRect(x, y, [0.2, 0.22, 0.8, 0.68], 0.12)
  || inPolygon(x, y, [[0.3, 0.64], [0.46, 0.64], [0.26, 0.8]]);
const letterN = (x, y) => inRoundedRect(x, y, [0.37, 0.33, 0.43, 0.57], 0)
  || inRoundedRect(x, y, [0.57, 0.33, 0.63, 0.57], 0)
  || inPolygon(x, y, [[0.37, 0.33], [0.43, 0.33], [0.63, 0.57], [0.57, 0.57]]);

/** The colour at a point, or null (transparent). full: the background fills the square (maskable, Apple). */
function paint(x, y, full) {
  // A maskable icon may be cut to a circle of radius 0.4: the mark is shrunk into it.
  const k = full ? 0.8 : 1;
  const gx = 0.5 + (x - 0.5) / k;
  const gy = 0.5 + (y - 0.5) / k;
  if (!full && !inRoundedRect(x, y, [0, 0, 1, 1], 0.22)) return null;
  return bubble(gx, gy) && !letterN(gx, gy) ? WHITE : BLUE;
}

function render(size, full) {
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let py = 0; py < size; py++) {
    const row = py * (size * 4 + 1);
    rows[row] = 0; // filter: none
    for (let px = 0; px < size; px++) {
      const sum = [0, 0, 0, 0];
      for (let sy = 0; sy < SAMPLES; sy++) {
        for (let sx = 0; sx < SAMPLES; sx++) {
          const c = paint((px + (sx + 0.5) / SAMPLES) / size, (py + (sy + 0.5) / SAMPLES) / size, full);
          if (!c) continue;
          sum[0] += c[0]; sum[1] += c[1]; sum[2] += c[2]; sum[3] += 1;
        }
      }
      const o = row + 1 + px * 4;
      if (sum[3]) for (let i = 0; i < 3; i++) rows[o + i] = Math.round(sum[i] / sum[3]);
      rows[o + 3] = Math.round((255 * sum[3]) / (SAMPLES * SAMPLES));
    }
  }
  return png(size, size, rows);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** An 8-bit RGBA PNG (colour type 6) from filtered rows. */
function png(width, height, rows) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

mkdirSync(OUT, { recursive: true });
for (const [name, size, full] of [
  ['icon-192.png', 192, false],
  ['icon-512.png', 512, false],
  ['icon-maskable-512.png', 512, true],
  ['apple-touch-icon.png', 180, true],
]) {
  writeFileSync(path.join(OUT, name), render(size, full));
  console.log(`public/icons/${name} (${size}×${size})`);
}
