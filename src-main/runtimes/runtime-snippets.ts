import { join } from 'node:path';
import { stringify } from 'smol-toml';
import type { RuntimeSnippet } from '../api/types.js';
import { RuntimeError } from './errors.js';
import { DOCKER_HUB_ENDPOINT } from '../core/oci/docker-hub.js';
import { DOCKER_HUB, registryAsPathComponent } from './image-reference.js';
import { isLoopback, mirrorUrl, parseMirrorAddress, type MirrorAddress } from './mirror-address.js';

/**
 * Config files that point the other runtimes at Layover, for every registry
 * Layover serves (Docker Engine's own registry-mirrors covers Docker Hub only):
 * - a registries.conf drop-in for Podman, CRI-O, Buildah and skopeo;
 * - a hosts.toml per registry for containerd (ctr, nerdctl, the CRI plugin),
 *   which Docker Engine's containerd image store reads from /etc/docker/certs.d too.
 */

export interface SnippetOptions {
  /** Layover's mirror, host:port (plain HTTP) or a URL. */
  mirror: string;
  /** The registry names clients use: "docker.io", "dtr.example.com". */
  registries: string[];
  /** The registry the mirror serves without a path prefix (Docker Hub unless configured otherwise). */
  defaultRegistry?: string;
}

export const PODMAN_DROP_IN = '/etc/containers/registries.conf.d/50-layover.conf';
export const CONTAINERD_HOSTS_DIR = '/etc/containerd/certs.d';
export const DOCKER_CERTS_DIR = '/etc/docker/certs.d';

const HEADER = '# Written by Layover: pull through its mirror first, the registry itself when the mirror does not answer.\n';

/**
 * Every snippet for the dashboard. A registry on a port cannot be named in
 * the mirror's path, so it is left out of the Podman file (and said so)
 * rather than failing the whole answer; containerd's ?ns= reaches it.
 */
export function runtimeSnippets(options: SnippetOptions): RuntimeSnippet[] {
  const routable = options.registries.filter((name) => isPathRoutable(name, options.defaultRegistry ?? DOCKER_HUB));
  const left = options.registries.filter((name) => !routable.includes(name));
  const podman = podmanRegistriesConf({ ...options, registries: routable });
  const note = left.length === 0 ? '' : ` Not listed: ${left.join(', ')} (a registry on a port cannot be named in the mirror's path; containerd's hosts.toml reaches it).`;
  return [{ ...podman, explanation: podman.explanation + note }, ...containerdHostsTomls(options)];
}

function isPathRoutable(registry: string, defaultRegistry: string): boolean {
  if (registry === defaultRegistry) return true;
  try {
    registryAsPathComponent(registry);
    return true;
  } catch {
    return false;
  }
}

/**
 * One [[registry]] per registry with Layover as its [[registry.mirror]].
 * The mirror routes a first path component that names a registry, so the
 * mirror location carries the registry name; the default registry is served
 * at the root. insecure = true only for plain HTTP to a loopback mirror.
 */
export function podmanRegistriesConf(options: SnippetOptions, path = PODMAN_DROP_IN): RuntimeSnippet {
  const mirror = parseMirrorAddress(options.mirror);
  const insecure = plainHttpAllowed(mirror);
  const registry = options.registries.map((name) => ({
    prefix: name,
    location: name,
    mirror: [{
      location: podmanMirrorLocation(mirror, name, options.defaultRegistry ?? DOCKER_HUB),
      ...(insecure ? { insecure: true } : {}),
    }],
  }));
  return {
    runtime: 'podman',
    path,
    content: HEADER + stringify({ registry }),
    explanation: [
      `Save as ${path} (rootless Podman also reads ~/.config/containers/registries.conf.d/).`,
      'Podman, Buildah and skopeo read it on their next command; CRI-O after `systemctl reload crio`.',
      'Pulls of each listed registry go to Layover first, and to the registry itself when Layover does not answer.',
    ].join(' '),
  };
}

function podmanMirrorLocation(mirror: MirrorAddress, registry: string, defaultRegistry: string): string {
  return registry === defaultRegistry ? mirror.host : `${mirror.host}/${registryAsPathComponent(registry)}`;
}

/** Podman's "insecure" also turns off certificate checks, so it is written only where nothing leaves the machine. */
function plainHttpAllowed(mirror: MirrorAddress): boolean {
  if (mirror.scheme === 'https') return false;
  if (isLoopback(mirror)) return true;
  throw new RuntimeError(
    `${mirrorUrl(mirror)} is plain HTTP on the network: Podman would need insecure = true for it, which Layover writes `
      + `only for a loopback mirror; serve Layover over HTTPS and pass --mirror https://${mirror.host}`,
  );
}

/**
 * One hosts.toml per registry: the origin as `server`, Layover as a host
 * that may pull and resolve. containerd asks a mirror host for
 * /v2/<repo>/...?ns=<registry>, and the mirror routes ?ns= to that
 * registry, so no override_path is needed and registries on a port work too.
 */
export function containerdHostsTomls(options: SnippetOptions, hostsDir = CONTAINERD_HOSTS_DIR): RuntimeSnippet[] {
  const mirror = parseMirrorAddress(options.mirror);
  return options.registries.map((registry) => ({
    runtime: 'containerd',
    path: join(hostsDir, registry, 'hosts.toml'),
    content: HEADER + stringify({
      server: originUrl(registry),
      host: { [mirrorUrl(mirror)]: { capabilities: ['pull', 'resolve'] } },
    }),
    explanation: [
      `Save each registry's file as ${join(hostsDir, '<registry>', 'hosts.toml')}; containerd reads it on the next pull, no restart.`,
      `The CRI plugin needs config_path = "${hostsDir}" in the registry section of /etc/containerd/config.toml;`,
      `ctr needs --hosts-dir ${hostsDir}; nerdctl reads it as it is.`,
      `Docker Engine with the containerd image store reads the same files from ${join(DOCKER_CERTS_DIR, '<registry>', 'hosts.toml')}.`,
    ].join(' '),
  }));
}

function originUrl(registry: string): string {
  // Docker Hub's API is not served at docker.io itself.
  return registry === DOCKER_HUB ? DOCKER_HUB_ENDPOINT : `https://${registry}`;
}
