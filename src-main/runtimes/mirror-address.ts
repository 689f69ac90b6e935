import { isLoopbackHost } from '../core/net/loopback.js';
import { RuntimeError } from './errors.js';

/**
 * Where Layover's mirror listens, as the runtimes need to be told about it.
 * Docker wants a URL (`http://127.0.0.1:5050`), Podman and image references
 * want `host:port`; both are derived from this one parsed form.
 */
export interface MirrorAddress {
  scheme: 'http' | 'https';
  /** host[:port], lower case, IPv6 in brackets: what goes into an image reference. */
  host: string;
  /** The host name alone (IPv6 in brackets), for the loopback check. */
  hostname: string;
}

/**
 * Accepts `HOST:PORT`, `http://HOST:PORT` or `https://HOST:PORT`, with or
 * without a trailing slash. Without a scheme the mirror is plain HTTP,
 * because that is what `layover serve --listen` serves.
 */
export function parseMirrorAddress(input: string): MirrorAddress {
  const trimmed = input.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new RuntimeError(`"${input}" is not a mirror address: expected HOST:PORT or http://HOST:PORT`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RuntimeError(`"${input}" is not a mirror address: the scheme must be http or https`);
  }
  // Docker refuses a mirror URL with a path ("invalid mirror: path, query, or fragment").
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) {
    throw new RuntimeError(`"${input}" is not a mirror address: it must not have a path, query or credentials`);
  }
  return { scheme: url.protocol === 'https:' ? 'https' : 'http', host: url.host, hostname: url.hostname };
}

/** The form written into daemon.json's registry-mirrors. */
export function mirrorUrl(address: MirrorAddress): string {
  return `${address.scheme}://${address.host}`;
}

/**
 * Whether two registry-mirrors entries are the same mirror. Docker itself
 * lists `http://127.0.0.1:5050/` for a configured `http://127.0.0.1:5050`, and
 * a person may have typed either scheme, so only host and port count.
 */
export function isSameMirror(entry: string, address: MirrorAddress): boolean {
  try {
    return parseMirrorAddress(entry).host === address.host;
  } catch {
    return false;
  }
}

/** Loopback traffic never leaves the machine, so plain HTTP to it is safe to allow. */
export function isLoopback(address: MirrorAddress): boolean {
  return isLoopbackHost(address.hostname);
}

/** The name Docker Desktop's VM reaches this computer by (Desktop forwards it to the host's loopback). */
export const DESKTOP_HOST_NAME = 'host.docker.internal';

/** Loopback, or a listen-on-everything address: from inside a VM, neither is this computer. */
function onlyThisMachine(address: MirrorAddress): boolean {
  return isLoopback(address) || ['0.0.0.0', '[::]'].includes(address.hostname);
}

function withHostname(address: MirrorAddress, hostname: string): MirrorAddress {
  const port = new URL(mirrorUrl(address)).port;
  return { scheme: address.scheme, hostname, host: port ? `${hostname}:${port}` : hostname };
}

/**
 * The mirror as this engine must be told it. Docker Desktop runs its engine
 * in a VM where 127.0.0.1 is the VM itself, so a mirror on this computer's
 * loopback is written as host.docker.internal, same scheme and port.
 */
export function mirrorForEngine(address: MirrorAddress, engine: { isDesktop: boolean } | undefined): MirrorAddress {
  return engine?.isDesktop && onlyThisMachine(address) ? withHostname(address, DESKTOP_HOST_NAME) : address;
}

/** Where this computer reaches a mirror written for an engine: host.docker.internal is its own loopback. */
export function mirrorFromHere(address: MirrorAddress): MirrorAddress {
  return address.hostname === DESKTOP_HOST_NAME ? withHostname(address, '127.0.0.1') : address;
}

/** Whether an engine in a VM (Docker Desktop) cannot reach this mirror address at all. */
export function unreachableFromVm(address: MirrorAddress): boolean {
  return onlyThisMachine(address);
}
