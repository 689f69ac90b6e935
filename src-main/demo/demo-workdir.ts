/**
 * Where a demo run keeps its files: a temp dir of its own, marked with the
 * pid that owns it. A run ends by removing it; one whose process died before
 * that (kill -9, a closed terminal) leaves it behind, and the next run sweeps
 * it away, so the demo never slowly fills the disk.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isProcessAlive } from '../core/process-alive.js';

const PREFIX = 'layover-demo-';
const OWNER_FILE = 'owner.pid';
/** A dir without an owner file is another run being born; past this age it is an orphan. */
const UNMARKED_GRACE_MS = 60_000;

export async function createRunDir(parent: string): Promise<string> {
  await removeAbandonedRuns(parent);
  const dir = await mkdtemp(join(parent, PREFIX));
  await writeFile(join(dir, OWNER_FILE), String(process.pid));
  return dir;
}

async function removeAbandonedRuns(parent: string): Promise<void> {
  const names = await readdir(parent).catch(() => [] as string[]);
  for (const name of names.filter((entry) => entry.startsWith(PREFIX))) {
    const dir = join(parent, name);
    if (await isAbandoned(dir)) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function isAbandoned(dir: string): Promise<boolean> {
  const owner = Number(await readFile(join(dir, OWNER_FILE), 'utf8').catch(() => ''));
  if (Number.isInteger(owner) && owner > 0) return !isProcessAlive(owner);
  const info = await stat(dir).catch(() => undefined);
  return info !== undefined && Date.now() - info.mtimeMs > UNMARKED_GRACE_MS;
}
