/**
 * The hosts a registry redirects blob downloads to: object stores, and the
 * MSR 2.x/3.x content caches (the central MSR authenticates the client, then
 * answers the blob GET with a 307 to the user's cache, round-robin among
 * several). Each such host is reached without the registry's Authorization,
 * with its own TLS trust (a cache's CA configured for it) and its own health,
 * so a failing cache never marks the central registry down, and the
 * dashboard can say which host served a blob.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { Agent } from 'undici';
import { lazyAgent } from './lazy-undici.js';
import { EndpointHealth } from './endpoint-health.js';
import type { UpstreamTimeouts } from './registry-client.js';

export interface RedirectHostConfig {
  /** https://dtr-cache-fra.example.com (scheme, host and port; a path is ignored). */
  url: string;
  caFile?: string;
  insecureSkipVerify?: boolean;
}

/** A redirect target failed (no answer, or a 5xx): the registry itself answered well. */
export class RedirectTargetError extends Error {
  constructor(readonly host: string, readonly detail: string) {
    super(`redirect target ${host}: ${detail}`);
    this.name = 'RedirectTargetError';
  }
}

/** Hosts beyond this many (a registry redirecting to ever new signed hosts) share no health record. */
const MAX_TRACKED_HOSTS = 32;

/** A host's own connection pool: the system's trust plus its CA file (or none, when told to skip verification). */
export function hostAgent(tls: { caFile?: string; insecureSkipVerify?: boolean }, timeouts: UpstreamTimeouts): Agent {
  return lazyAgent({
    connect: {
      timeout: timeouts.connectMs,
      ...(tls.caFile ? { ca: [...rootCertificates, readFileSync(tls.caFile, 'utf8')] } : {}),
      ...(tls.insecureSkipVerify ? { rejectUnauthorized: false } : {}),
    },
    headersTimeout: timeouts.headersMs,
    bodyTimeout: timeouts.idleMs,
    keepAliveTimeout: 30_000,
  });
}

export class RedirectHosts {
  private readonly configured = new Map<string, Agent>();
  private readonly health = new Map<string, EndpointHealth>();

  constructor(configs: RedirectHostConfig[], timeouts: UpstreamTimeouts, readonly fallback: Agent) {
    for (const config of configs) {
      this.configured.set(new URL(config.url).origin, hostAgent(config, timeouts));
    }
  }

  /** The connection pool for a redirect target: its own (with its CA) when configured, else the system's trust. */
  dispatcherFor(url: URL): Agent {
    return this.configured.get(url.origin) ?? this.fallback;
  }

  healthOf(url: URL): EndpointHealth | undefined {
    let health = this.health.get(url.origin);
    if (!health && (this.configured.has(url.origin) || this.health.size < MAX_TRACKED_HOSTS)) {
      health = new EndpointHealth();
      this.health.set(url.origin, health);
    }
    return health;
  }

  states(): Array<{ url: string; health: EndpointHealth }> {
    return [...this.health].map(([url, health]) => ({ url, health }));
  }

  async close(): Promise<void> {
    await Promise.all([...this.configured.values()].map((agent) => agent.close()));
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.configured.values()].map((agent) => agent.destroy()));
  }
}
