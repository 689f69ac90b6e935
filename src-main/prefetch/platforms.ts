import type { Platform } from '../api/types.js';
import type { PlatformChoice } from '../api/selectors.js';

// How platforms are written and read is the vocabulary everyone shares (src-main/api/selectors.ts).
export { formatPlatform, parsePlatformChoice, type PlatformChoice } from '../api/selectors.js';

/** Node's process.arch -> the OCI (GOARCH) name images use. */
const OCI_ARCHITECTURES: Record<string, string> = {
  x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x',
  riscv64: 'riscv64', loong64: 'loong64', mips: 'mips', mipsel: 'mipsle',
};

/**
 * The platform this machine's containers run as. Docker Desktop on macOS and
 * Windows runs Linux containers in a VM, so the OS is linux there too; only
 * the architecture is the machine's.
 */
export function hostPlatform(arch: string = process.arch, armVersion: unknown = (process.config.variables as Record<string, unknown>).arm_version): Platform {
  const architecture = OCI_ARCHITECTURES[arch] ?? arch;
  const variant = architecture === 'arm' && armVersion !== undefined ? `v${String(armVersion)}` : undefined;
  return { os: 'linux', architecture, ...(variant ? { variant } : {}) };
}

/** The platforms a choice stands for; undefined means every one. */
export function platformsOf(choice: PlatformChoice): Platform[] | undefined {
  if (choice === 'all') return undefined;
  return choice === 'host' ? [hostPlatform()] : choice;
}

/** Whether an index entry's platform is wanted. A variant is only compared when the wanted platform names one. */
export function platformMatches(wanted: Platform, entry: Partial<Platform> | undefined): boolean {
  if (!entry) return false;
  if (entry.os !== wanted.os || entry.architecture !== wanted.architecture) return false;
  return !wanted.variant || entry.variant === wanted.variant;
}
