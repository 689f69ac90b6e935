/** Builders for the shell's unit tests (not shipped: electron-builder.yml leaves test files out). */
import type { DockerStatus, JobStatus, RegistryStatus, Status, TransferStatus } from '../api/types.js';

export function status(overrides: Partial<Status> = {}): Status {
  return {
    version: '0.1.0',
    state: 'ready',
    summary: 'Mirror ready on 127.0.0.1:5050',
    mirrorAddress: '127.0.0.1:5050',
    mirrorUrl: 'http://127.0.0.1:5050',
    adminUrl: 'http://127.0.0.1:5051',
    dataDir: '/data',
    registries: [registry('docker.io', 'healthy')],
    counters: { hits: 0, misses: 0, bytesServedFromCache: 0, bytesFetchedUpstream: 0, upstreamErrors: 0, secondsSaved: 0, upstreamBytesPerSecond: 0 },
    usage: { bytesUsed: 0, quotaBytes: 0, blobs: 0, repositories: 0 },
    transfers: [],
    prefetchPaused: false,
    startedAt: 0,
    ...overrides,
  };
}

export function registry(name: string, ...health: Array<'healthy' | 'degraded' | 'down' | 'unknown'>): RegistryStatus {
  return {
    name,
    isDefault: name === 'docker.io',
    endpoints: health.map((state, index) => ({
      url: `https://${name}/${index}`,
      health: state,
      ...(state === 'down' ? { lastError: 'connect ECONNREFUSED' } : {}),
    })),
  };
}

export function transfer(kind: 'pull' | 'prefetch', bytesPerSecond = 0): TransferStatus {
  return { id: `t-${kind}`, registry: 'docker.io', repository: 'library/alpine', digest: 'sha256:00', bytesDone: 0, bytesPerSecond, clients: 1, kind, startedAt: 0 };
}

export function job(id: string, state: JobStatus['state'], overrides: Partial<JobStatus> = {}): JobStatus {
  return {
    id, registry: 'docker.io', repository: 'library/alpine', tags: ['3.20'], state,
    bytesDone: 3 * 1024 * 1024, bytesTotal: 3 * 1024 * 1024, blobsDone: 2, blobsTotal: 2, bytesPerSecond: 0, createdAt: 0,
    ...overrides,
  };
}

export function docker(usesLayover: boolean, overrides: Partial<DockerStatus> = {}): DockerStatus {
  return { available: true, mirrors: usesLayover ? ['http://127.0.0.1:5050'] : [], usesLayover, ...overrides };
}
