import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import envPaths from 'env-paths';
import { isProcessAlive } from '../core/process-alive.js';

/**
 * The running instance announces where it listens in a small file under its
 * data directory, so that `layover pull`, `layover prefetch` and friends can
 * find it without flags.
 */
export interface InstanceInfo {
  pid: number;
  /** host:port Docker is pointed at, e.g. "127.0.0.1:5050". */
  mirrorAddress: string;
  /** e.g. "http://127.0.0.1:5051". */
  adminUrl: string;
  dataDir: string;
  startedAt: number;
}

const INSTANCE_FILE = 'instance.json';

/** The per-user application data folder, used when --data is not given. */
export function defaultDataDir(): string {
  return envPaths('layover', { suffix: '' }).data;
}

export async function writeInstance(info: InstanceInfo): Promise<void> {
  await writeFileAtomic(join(info.dataDir, INSTANCE_FILE), JSON.stringify(info, null, 2) + '\n');
}

export async function removeInstance(dataDir: string): Promise<void> {
  await rm(join(dataDir, INSTANCE_FILE), { force: true });
}

/** The instance running from dataDir, or undefined when none is (a stale file of a dead process is ignored). */
export async function findRunningInstance(dataDir = defaultDataDir()): Promise<InstanceInfo | undefined> {
  let info: InstanceInfo;
  try {
    info = JSON.parse(await readFile(join(dataDir, INSTANCE_FILE), 'utf8')) as InstanceInfo;
  } catch {
    return undefined;
  }
  return isProcessAlive(info.pid) ? info : undefined;
}
