/** What the numbers were measured on: they only compare with numbers from the same machine and run. */
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

function prettyOsName(): string | undefined {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}
