import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { errorCode, errorMessage, RuntimeError } from './errors.js';

/**
 * Reading and writing daemon.json (and the hosts.toml files) safely: a file
 * that cannot be read is never written, the write is atomic, the previous
 * bytes are kept beside it, and what was written is read back and checked.
 */

export interface FileChange {
  path: string;
  existed: boolean;
  before: string;
  after: string;
  changed: boolean;
}

/** Where the bytes from before Layover's last change of `path` are kept. */
export function backupPathFor(path: string): string {
  return `${path}.layover-backup`;
}

/** The current text of a config file ('' when it does not exist yet). */
export async function readConfigFile(path: string): Promise<{ text: string; existed: boolean }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { text: '', existed: false };
    throw new RuntimeError(`cannot read ${path}: ${describeFsError(error)}`, { cause: error });
  }
  const text = bytes.toString('utf8');
  // Decoding and re-encoding must give the same bytes, or a write would change more than Layover meant to.
  if (!Buffer.from(text, 'utf8').equals(bytes)) {
    throw new RuntimeError(`${path} is not UTF-8 text; it was left unchanged`);
  }
  return { text, existed: true };
}

export async function planFileChange(path: string, edit: (text: string) => string): Promise<FileChange> {
  const { text, existed } = await readConfigFile(path);
  const after = edit(text);
  return { path, existed, before: text, after, changed: after !== text };
}

/**
 * Writes a planned change: the previous bytes to the backup first, then the
 * new text atomically, then reads it back. `verify` checks the read-back
 * content means what was intended (it throws when not).
 */
export async function writeFileChange(
  change: FileChange,
  verify: (text: string) => void = () => {},
): Promise<{ backupPath?: string }> {
  if (!change.changed) return {};
  const backupPath = change.existed ? backupPathFor(change.path) : undefined;
  try {
    await mkdir(dirname(change.path), { recursive: true });
    const mode = change.existed ? (await stat(change.path)).mode & 0o7777 : undefined;
    if (backupPath !== undefined) await writeFileAtomic(backupPath, change.before, { mode });
    await writeFileAtomic(change.path, change.after, mode === undefined ? {} : { mode });
  } catch (error) {
    throw new RuntimeError(`cannot write ${change.path}: ${describeFsError(error)}`, { cause: error });
  }
  await checkReadBack(change, backupPath, verify);
  return { backupPath };
}

async function checkReadBack(change: FileChange, backupPath: string | undefined, verify: (text: string) => void) {
  const restoreHint = backupPath === undefined ? '' : `; the previous version is in ${backupPath}`;
  const { text } = await readConfigFile(change.path);
  if (text !== change.after) {
    throw new RuntimeError(`${change.path} reads back different from what Layover wrote${restoreHint}`);
  }
  try {
    verify(text);
  } catch (error) {
    throw new RuntimeError(`${change.path} was written but does not check out: ${errorMessage(error)}${restoreHint}`);
  }
}

export async function removeFileIfPresent(path: string): Promise<void> {
  try {
    await rm(path, { force: true });
  } catch (error) {
    throw new RuntimeError(`cannot remove ${path}: ${describeFsError(error)}`, { cause: error });
  }
}

function describeFsError(error: unknown): string {
  switch (errorCode(error)) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied (run the command as root, e.g. with sudo)';
    case 'EROFS':
      return 'the file system is read-only';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return errorMessage(error);
  }
}
