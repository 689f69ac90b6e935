/** What the numbers were measured on: they only compare with numbers from the same machine and run. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  os: string;
  kernel: string;
  node: string;
  date: string;
  /** 1-minute load average when the run started: other work on the machine makes every number noisier. */
  loadAverage: number;
}

export function describeMachine(now = new Date()): MachineInfo {
  const cores = cpus();
  return {
    cpuModel: cores[0]?.model.trim() ?? 'unknown',
    cores: cores.length,
    memoryBytes: totalmem(),
    os: prettyOsName() ?? osType(),
    kernel: `${osType()} ${release()}`,
    node: process.version,
    date: now.toISOString(),
    loadAverage: loadavg()[0] ?? 0,
  };
}

/** The commit of the Layover that was measured, with "+ local changes" when src-main differs from it. */
export function describeRevision(repoRoot: string): string {
  try {
    const git = (args: string[]) => execFileSync('git', ['-C', repoRoot, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git(['rev-parse', '--short', 'HEAD']);
    return git(['status', '--porcelain', '--', 'src-main', 'bin']) ? `${commit} + local changes` : commit;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

function prettyOsName(): string | undefined {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}
