import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parse } from 'smol-toml';
import type { RuntimeSnippet } from '../api/types.js';
import { planFileChange, writeFileChange } from './daemon-json-file.js';
import { containerdHostsTomls, podmanRegistriesConf, PODMAN_DROP_IN, type SnippetOptions } from './runtime-snippets.js';

export type RuntimeName = 'podman' | 'containerd';

export interface WrittenFile {
  path: string;
  changed: boolean;
  backupPath?: string;
}

/** The snippets for one runtime, with paths under `out` when given (a file for Podman, the hosts directory for containerd). */
export async function snippetsFor(runtime: RuntimeName, options: SnippetOptions, out?: string): Promise<RuntimeSnippet[]> {
  if (runtime === 'containerd') return containerdHostsTomls(options, out);
  return [podmanRegistriesConf(options, out === undefined ? undefined : await podmanPath(out))];
}

/** A directory (existing, or written with a trailing slash) gets Layover's drop-in file name inside it. */
async function podmanPath(out: string): Promise<string> {
  const isDirectory = out.endsWith('/') || await stat(out).then((s) => s.isDirectory(), () => false);
  return isDirectory ? join(out, basename(PODMAN_DROP_IN)) : out;
}

/** Writes each snippet atomically, keeping a differing earlier file as a backup, and parses what it wrote back. */
export async function writeSnippets(snippets: RuntimeSnippet[]): Promise<WrittenFile[]> {
  const written: WrittenFile[] = [];
  for (const snippet of snippets) {
    const change = await planFileChange(snippet.path, () => snippet.content);
    const { backupPath } = await writeFileChange(change, (text) => void parse(text));
    written.push({ path: snippet.path, changed: change.changed, backupPath });
  }
  return written;
}
