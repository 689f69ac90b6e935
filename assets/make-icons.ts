/**
 * Draws Layover's tray icons (one per state, per platform) and the app icon.
 *
 *   npx tsx assets/make-icons.ts [--preview /tmp/tray-preview.png]
 *
 * The mark is a stack of three layers (a cache of image layers); a badge in
 * the lower right says the state: none (ready), an arrow (syncing), a bar
 * (offline: no way through), "!" (problem), two bars (paused). Shapes sit on a 16-unit
 * grid whose edges fall on whole pixels at 16, 32 and 64 px, and are
 * rendered with 8×8 supersampling, so the icons stay crisp where trays show
 * them. The file names are the contract in src-main/electron/tray-icons.ts.
 *
 * Needs pngjs (a dev dependency). The output is committed; run this again
 * only when the drawing changes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { TRAY_ICON_SIZES } from '../src-main/electron/tray-icons.js';
import { TRAY_STATES, type TrayState } from '../src-main/electron/tray-state.js';

type Rgba = readonly [number, number, number, number];
type Shape = (x: number, y: number) => boolean;
type Layer = { shape: Shape; paint: Rgba } | { shape: Shape; erase: true };

const here = dirname(fileURLToPath(import.meta.url));
const SUPERSAMPLE = 8;

// ---- shapes, in a 16 × 16 unit square ------------------------------------------------------------

function roundRect(x0: number, y0: number, x1: number, y1: number, r: number): Shape {
  return (x, y) => {
    if (x < x0 || x > x1 || y < y0 || y > y1) return false;
    const dx = Math.max(x0 + r - x, 0, x - (x1 - r));
    const dy = Math.max(y0 + r - y, 0, y - (y1 - r));
    return dx * dx + dy * dy <= r * r;
  };
}

function circle(cx: number, cy: number, r: number): Shape {
  return (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

function polygon(points: Array<[number, number]>): Shape {
  return (x, y) => {
    let inside = false;
    for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
      const [xi, yi] = points[i]!;
      const [xj, yj] = points[j]!;
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  };
}

const union = (...shapes: Shape[]): Shape => (x, y) => shapes.some((shape) => shape(x, y));

// ---- the mark and its badges ---------------------------------------------------------------------

const LAYERS = union(roundRect(5, 2, 11, 5, 1.5), roundRect(3, 7, 13, 10, 1.5), roundRect(1, 12, 15, 15, 1.5));
const BADGE_CENTER = 11.5;
const BADGE = circle(BADGE_CENTER, BADGE_CENTER, 4.5);
/** The gap between badge and layers, so the badge reads as separate at 16 px. */
const BADGE_GAP = circle(BADGE_CENTER, BADGE_CENTER, 5.75);

// Symbol edges sit on whole pixels at 16 px (the badge spans 7..16), so even the smallest tray keeps them sharp.
const SYMBOLS: Record<Exclude<TrayState, 'ready'>, Shape> = {
  syncing: union(roundRect(11, 8, 12, 11.5, 0), polygon([[8.5, 11], [14.5, 11], [11.5, 14.25]])),
  offline: roundRect(9, 11, 14, 12, 0),
  problem: union(roundRect(11, 8, 12, 12, 0), roundRect(11, 13, 12, 14, 0)),
  paused: union(roundRect(9, 9, 11, 14, 0), roundRect(12, 9, 14, 14, 0)),
};

const COLOR = {
  layers: [0x25, 0x74, 0xdb, 255] as Rgba,
  muted: [0x86, 0x8f, 0x9b, 255] as Rgba,
  syncing: [0x25, 0x74, 0xdb, 255] as Rgba,
  offline: [0xe8, 0x94, 0x10, 255] as Rgba,
  problem: [0xd9, 0x2d, 0x20, 255] as Rgba,
  paused: [0x5c, 0x66, 0x73, 255] as Rgba,
  symbol: [255, 255, 255, 255] as Rgba,
  black: [0, 0, 0, 255] as Rgba,
};

/** Layers muted for the states where Layover is not fully at work. */
const MUTED: ReadonlySet<TrayState> = new Set(['offline', 'paused']);

function trayLayers(state: TrayState, template: boolean): Layer[] {
  const body: Rgba = template ? (MUTED.has(state) ? [0, 0, 0, 110] : COLOR.black) : MUTED.has(state) || state === 'problem' ? COLOR.muted : COLOR.layers;
  if (state === 'ready') return [{ shape: LAYERS, paint: body }];
  const badge = template ? COLOR.black : COLOR[state];
  return [
    { shape: LAYERS, paint: body },
    { shape: BADGE_GAP, erase: true },
    { shape: BADGE, paint: badge },
    template ? { shape: SYMBOLS[state], erase: true } : { shape: SYMBOLS[state], paint: COLOR.symbol },
  ];
}

/** The app icon: the white layers on a blue rounded square. */
function appIconLayers(): Layer[] {
  // The layers, scaled to 10/16 and centred (they span y 2..15 of their own 16).
  const inset = (shape: Shape): Shape => (x, y) => shape((x - 3) * (16 / 10), (y - 2.7) * (16 / 10));
  return [
    { shape: roundRect(0.5, 0.5, 15.5, 15.5, 3.5), paint: COLOR.layers },
    { shape: inset(LAYERS), paint: COLOR.symbol },
  ];
}

// ---- rendering -----------------------------------------------------------------------------------

/** Straight-alpha RGBA pixels, size × size, from layers drawn in order. */
function render(layers: Layer[], size: number): Uint8Array {
  const out = new Uint8Array(size * size * 4);
  const scale = 16 / size;
  for (let py = 0; py < size; py += 1) {
    for (let px = 0; px < size; px += 1) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = 0; sy < SUPERSAMPLE; sy += 1) {
        for (let sx = 0; sx < SUPERSAMPLE; sx += 1) {
          const x = (px + (sx + 0.5) / SUPERSAMPLE) * scale;
          const y = (py + (sy + 0.5) / SUPERSAMPLE) * scale;
          // Premultiplied "over" compositing of each layer at this sample.
          let cr = 0;
          let cg = 0;
          let cb = 0;
          let ca = 0;
          for (const layer of layers) {
            if (!layer.shape(x, y)) continue;
            if ('erase' in layer) {
              cr = cg = cb = ca = 0;
              continue;
            }
            const la = layer.paint[3] / 255;
            cr = layer.paint[0] * la + cr * (1 - la);
            cg = layer.paint[1] * la + cg * (1 - la);
            cb = layer.paint[2] * la + cb * (1 - la);
            ca = la + ca * (1 - la);
          }
          r += cr;
          g += cg;
          b += cb;
          a += ca;
        }
      }
      const n = SUPERSAMPLE * SUPERSAMPLE;
      const i = (py * size + px) * 4;
      out[i + 3] = Math.round((a / n) * 255);
      if (a > 0) {
        out[i] = Math.round(r / a);
        out[i + 1] = Math.round(g / a);
        out[i + 2] = Math.round(b / a);
      }
    }
  }
  return out;
}

function png(pixels: Uint8Array, size: number): Buffer {
  const image = new PNG({ width: size, height: size });
  image.data = Buffer.from(pixels);
  return PNG.sync.write(image, { colorType: 6 });
}

/**
 * A Windows .ico with one 32-bit BMP (DIB) image per size: the form every
 * Windows version reads for small icons (PNG-in-ICO is meant for 256 px).
 */
function ico(images: Array<{ size: number; pixels: Uint8Array }>): Buffer {
  const header = Buffer.alloc(6 + 16 * images.length);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2);
  header.writeUInt16LE(images.length, 4);
  const bodies: Buffer[] = [];
  let offset = header.length;
  images.forEach(({ size, pixels }, index) => {
    const maskRow = Math.ceil(size / 32) * 4;
    const dib = Buffer.alloc(40 + size * size * 4 + maskRow * size);
    dib.writeUInt32LE(40, 0);
    dib.writeInt32LE(size, 4);
    dib.writeInt32LE(size * 2, 8);
    dib.writeUInt16LE(1, 12);
    dib.writeUInt16LE(32, 14);
    dib.writeUInt32LE(0, 16);
    dib.writeUInt32LE(size * size * 4 + maskRow * size, 20);
    for (let y = 0; y < size; y += 1) {
      const row = size - 1 - y; // bottom-up
      for (let x = 0; x < size; x += 1) {
        const from = (y * size + x) * 4;
        const to = 40 + (row * size + x) * 4;
        dib[to] = pixels[from + 2]!;
        dib[to + 1] = pixels[from + 1]!;
        dib[to + 2] = pixels[from]!;
        dib[to + 3] = pixels[from + 3]!;
        if (pixels[from + 3] === 0) {
          const maskAt = 40 + size * size * 4 + row * maskRow + (x >> 3);
          dib[maskAt] = dib[maskAt]! | (0x80 >> (x & 7));
        }
      }
    }
    const entry = 6 + 16 * index;
    header.writeUInt8(size >= 256 ? 0 : size, entry);
    header.writeUInt8(size >= 256 ? 0 : size, entry + 1);
    header.writeUInt8(0, entry + 2);
    header.writeUInt8(0, entry + 3);
    header.writeUInt16LE(1, entry + 4);
    header.writeUInt16LE(32, entry + 6);
    header.writeUInt32LE(dib.length, entry + 8);
    header.writeUInt32LE(offset, entry + 12);
    offset += dib.length;
    bodies.push(dib);
  });
  return Buffer.concat([header, ...bodies]);
}

// ---- output --------------------------------------------------------------------------------------

function write(path: string, data: Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
  console.log(`${path.slice(here.length + 1)}  ${data.length} bytes`);
}

const trayDir = join(here, 'tray');
for (const state of TRAY_STATES) {
  for (const [suffix, size] of Object.entries(TRAY_ICON_SIZES.darwin)) write(join(trayDir, `${state}Template${suffix}.png`), png(render(trayLayers(state, true), size), size));
  for (const [suffix, size] of Object.entries(TRAY_ICON_SIZES.linux)) write(join(trayDir, `${state}${suffix}.png`), png(render(trayLayers(state, false), size), size));
  write(join(trayDir, `${state}.ico`), ico(TRAY_ICON_SIZES.win32.map((size) => ({ size, pixels: render(trayLayers(state, false), size) }))));
}
write(join(here, 'icon.png'), png(render(appIconLayers(), 512), 512));

// A contact sheet for eyes only (not shipped): every state at 16, 32 and 128 px, colour and template, on light and dark.
const previewAt = process.argv.indexOf('--preview');
if (previewAt > 0 && process.argv[previewAt + 1]) {
  const placements = [{ size: 16, x: 4 }, { size: 32, x: 26 }, { size: 128, x: 64 }];
  const cellWidth = 196;
  const cellHeight = 136;
  const rows: Array<{ template: boolean; bg: Rgba }> = [
    { template: false, bg: [246, 246, 246, 255] },
    { template: false, bg: [32, 33, 36, 255] },
    { template: true, bg: [246, 246, 246, 255] },
    { template: true, bg: [32, 33, 36, 255] },
  ];
  const sheet = new PNG({ width: cellWidth * TRAY_STATES.length, height: cellHeight * rows.length });
  rows.forEach(({ template, bg }, row) => {
    for (let y = row * cellHeight; y < (row + 1) * cellHeight; y += 1) {
      for (let x = 0; x < sheet.width; x += 1) sheet.data.set(bg, (y * sheet.width + x) * 4);
    }
    TRAY_STATES.forEach((state, column) => {
      for (const { size, x: left } of placements) {
        const pixels = render(trayLayers(state, template), size);
        for (let y = 0; y < size; y += 1) {
          for (let x = 0; x < size; x += 1) {
            const from = (y * size + x) * 4;
            // A menu bar tints template images: black on light, white on dark.
            const tint = template ? (bg[0] > 128 ? [0, 0, 0] : [255, 255, 255]) : [pixels[from]!, pixels[from + 1]!, pixels[from + 2]!];
            const alpha = pixels[from + 3]! / 255;
            const to = ((row * cellHeight + 4 + y) * sheet.width + column * cellWidth + left + x) * 4;
            for (let c = 0; c < 3; c += 1) sheet.data[to + c] = Math.round(tint[c]! * alpha + bg[c]! * (1 - alpha));
          }
        }
      }
    });
  });
  writeFileSync(process.argv[previewAt + 1]!, PNG.sync.write(sheet));
  console.log(`preview: ${process.argv[previewAt + 1]}`);
}
