/**
 * Peak resident memory of a server process, from the kernel's own high-water
 * mark (VmHWM in /proc/<pid>/status), which catches peaks that sampling
 * would miss. Writing 5 to /proc/<pid>/clear_refs resets that mark, so each
 * case gets the peak it caused (as root, or for our own children).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The node flags the installed `layover` command runs with: those on the #!
 * line of bin/layover.js (--max-semi-space-size), so a memory figure is that
 * of `layover serve` as installed, though the bench starts it as `node bin/layover.js`.
 */
export function installedNodeFlags(): string[] {
  const [shebang = ''] = readFileSync(join(import.meta.dirname, '..', 'bin', 'layover.js'), 'utf8').split('\n', 1);
  return shebang.startsWith('#!') ? shebang.split(/\s+/).filter((word) => word.startsWith('--')) : [];
}

/** The pid and every descendant (nginx's workers, say). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = parentOf(Number(entry));
    if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const tree: number[] = [];
  const visit = (current: number) => {
    tree.push(current);
    for (const child of children.get(current) ?? []) visit(child);
  };
  visit(pid);
  return tree;
}

function parentOf(pid: number): number | undefined {
  try {
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined; // exited meanwhile
  }
}

/** The first process whose command line contains `needle` (for children started by helpers that do not expose the pid). */
export function findProcess(needle: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) return Number(entry);
    } catch {
      // exited meanwhile
    }
  }
  return undefined;
}

/** Sum of VmHWM over the pids, in bytes. */
export function peakRss(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + statusKiB(pid, 'VmHWM') * 1024, 0);
}

export function currentRss(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + statusKiB(pid, 'VmRSS') * 1024, 0);
}

/** Resident memory split the kernel's way: anonymous (heap, buffers) and file-backed (code, the mapped index). */
export function residentSplit(pid: number): { rss: number; anon: number; file: number } {
  return { rss: statusKiB(pid, 'VmRSS') * 1024, anon: statusKiB(pid, 'RssAnon') * 1024, file: statusKiB(pid, 'RssFile') * 1024 };
}

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of /proc/<pid>/stat, 12 and 13 after "pid (comm)", in clock ticks (100 a second).
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

const CLOCK_TICKS_PER_SECOND = 100;

/** Starts a new high-water mark at the current RSS. */
export function resetPeakRss(pids: number[]): void {
  for (const pid of pids) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      // not ours to reset (then the peak covers the process's whole life, which only overstates it)
    }
  }
}

function statusKiB(pid: number, field: 'VmHWM' | 'VmRSS' | 'RssAnon' | 'RssFile'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}
