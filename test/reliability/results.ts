/**
 * The reliability tests write what they measured to results.json (one section
 * per test), and write-readme.ts turns that file into the README's Reliability
 * table: no figure there is typed by hand. Each section names the commit it
 * measured and whether product files differed from it.
 */
import { execFileSync } from 'node:child_process';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const RESULTS_FILE = join(import.meta.dirname, 'results.json');

/** Folders whose uncommitted changes would make "measured on commit X" untrue. */
const PRODUCT_PATHS = ['src-main', 'bin', 'package.json', 'package-lock.json'];

export type Figures = Record<string, number | string | boolean | Record<string, number>>;

export interface SectionResult {
  figures: Figures;
  passed: boolean;
  /** The first line of the assertion that failed, when it did. */
  failure?: string;
  commit: string;
  /** Product files that differed from the commit when it was measured (shared work trees are rarely clean). */
  uncommittedFiles: number;
  measuredAt: string;
}

export type Results = Record<string, SectionResult>;

export async function readResults(file = RESULTS_FILE): Promise<Results> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Results;
  } catch {
    return {};
  }
}

/**
 * Runs a test's body and records, under `section`, the figures it counted so
 * far and whether it passed: a failed run is written down too (with the first
 * line of its failure), then its error rethrown.
 */
export async function recordResults(section: string, figures: () => Figures, body: () => Promise<void>): Promise<void> {
  let failure: string | undefined;
  try {
    await body();
  } catch (error) {
    failure = String((error as Error)?.message ?? error).split('\n')[0];
    throw error;
  } finally {
    await writeResults(section, figures(), failure);
  }
}

/** Records one section's figures; `failure` says what failed, when something did. For files of several tests (an after hook). */
export async function writeResults(section: string, figures: Figures, failure?: string): Promise<void> {
  const result: SectionResult = { figures, passed: failure === undefined, ...(failure ? { failure } : {}), ...measuredCommit(), measuredAt: new Date().toISOString() };
  const results = { ...(await readResults()), [section]: result };
  const temporary = `${RESULTS_FILE}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(results, null, 2)}\n`);
  await rename(temporary, RESULTS_FILE);
}

function measuredCommit(): { commit: string; uncommittedFiles: number } {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: import.meta.dirname, encoding: 'utf8' }).trim();
  try {
    const commit = git('rev-parse', '--short=7', 'HEAD');
    const changed = git('status', '--porcelain', '--', ...PRODUCT_PATHS.map((path) => `:/${path}`));
    return { commit, uncommittedFiles: changed ? changed.split('\n').length : 0 };
  } catch {
    return { commit: 'unknown (not a git checkout)', uncommittedFiles: 0 };
  }
}
