/**
 * The tray icons that assets/make-icons.ts drew are all there, in the sizes
 * and formats each platform's tray wants. Reads the files' own headers; no
 * image library needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allTrayIconFiles, iconPlatform, TRAY_ICON_SIZES, trayIconFile } from './tray-icons.js';
import { TRAY_STATES } from './tray-state.js';

const assets = fileURLToPath(new URL('../../assets/', import.meta.url));
const trayDir = join(assets, 'tray');

function pngHeader(path: string): { width: number; height: number; colorType: number } {
  const data = readFileSync(path);
  assert.equal(data.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', `${path} is a PNG`);
  assert.equal(data.subarray(12, 16).toString('ascii'), 'IHDR');
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20), colorType: data[25]! };
}

/** The images of an .ico: size, bit depth, and each pixel's alpha (top-down). */
function icoImages(path: string): Array<{ size: number; bitCount: number; alpha: (x: number, y: number) => number }> {
  const data = readFileSync(path);
  assert.equal(data.readUInt16LE(0), 0);
  assert.equal(data.readUInt16LE(2), 1, `${path} is an icon (type 1)`);
  const images = [];
  for (let i = 0; i < data.readUInt16LE(4); i += 1) {
    const entry = 6 + 16 * i;
    const size = data[entry] || 256;
    assert.equal(data[entry + 1] || 256, size, 'square');
    const bytes = data.readUInt32LE(entry + 8);
    const offset = data.readUInt32LE(entry + 12);
    assert.ok(offset + bytes <= data.length, 'the image lies within the file');
    const dib = data.subarray(offset, offset + bytes);
    assert.equal(dib.readUInt32LE(0), 40, 'a BITMAPINFOHEADER');
    assert.equal(dib.readInt32LE(4), size);
    assert.equal(dib.readInt32LE(8), size * 2, 'the height counts the AND mask');
    const bitCount = dib.readUInt16LE(14);
    assert.equal(bytes, 40 + size * size * 4 + Math.ceil(size / 32) * 4 * size);
    images.push({ size, bitCount, alpha: (x: number, y: number) => dib[40 + ((size - 1 - y) * size + x) * 4 + 3]! });
  }
  return images;
}

test('each state has its icon on each platform', () => {
  for (const state of TRAY_STATES) {
    assert.equal(trayIconFile(state, 'darwin'), `${state}Template.png`, 'macOS takes a file ending in Template as a template image');
    assert.equal(trayIconFile(state, 'win32'), `${state}.ico`);
    assert.equal(trayIconFile(state, 'linux'), `${state}.png`);
    assert.equal(trayIconFile(state, 'freebsd'), `${state}.png`);
  }
  assert.equal(iconPlatform('openbsd'), 'linux');
  const onDisk = readdirSync(trayDir).sort();
  assert.deepEqual(onDisk, [...allTrayIconFiles()].sort(), 'assets/tray holds exactly the icons the tray loads');
  assert.ok(existsSync(join(assets, 'icon.png')), 'the app icon');
});

test('macOS template images: 16 px and @2x 32 px, with alpha', () => {
  for (const state of TRAY_STATES) {
    assert.deepEqual(pngHeader(join(trayDir, `${state}Template.png`)), { width: 16, height: 16, colorType: 6 });
    assert.deepEqual(pngHeader(join(trayDir, `${state}Template@2x.png`)), { width: 32, height: 32, colorType: 6 });
  }
});

test('Linux PNGs: 32 px and @2x 64 px, with alpha', () => {
  for (const state of TRAY_STATES) {
    assert.deepEqual(pngHeader(join(trayDir, `${state}.png`)), { width: TRAY_ICON_SIZES.linux[''], height: 32, colorType: 6 });
    assert.deepEqual(pngHeader(join(trayDir, `${state}@2x.png`)), { width: TRAY_ICON_SIZES.linux['@2x'], height: 64, colorType: 6 });
  }
});

test('Windows .ico: a 32-bit image for every display scale, transparent around the mark', () => {
  for (const state of TRAY_STATES) {
    const images = icoImages(join(trayDir, `${state}.ico`));
    assert.deepEqual(images.map((image) => image.size), [...TRAY_ICON_SIZES.win32]);
    for (const image of images) {
      assert.equal(image.bitCount, 32);
      assert.equal(image.alpha(0, 0), 0, 'the corner is transparent');
      // The bottom layer's left end (x 1..15, y 12..15 of 16) is drawn in every state.
      const at = (unit: number) => Math.floor((unit / 16) * image.size);
      assert.equal(image.alpha(at(3), at(13.5)), 255, `${state} ${image.size}px: the bottom layer is opaque`);
    }
  }
});

test('the app icon is large enough for every installer (electron-builder wants 512 px)', () => {
  assert.deepEqual(pngHeader(join(assets, 'icon.png')), { width: 512, height: 512, colorType: 6 });
});
