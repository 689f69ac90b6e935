import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * DNS rebinding guard for everything Layover listens on.
 *
 * A web page on attacker.example can make its own name resolve to 127.0.0.1
 * and then talk to a local port as "same origin". What it cannot change is
 * the Host header its browser sends: that stays attacker.example. So a
 * listener that answers only the names it is really reached by cannot be
 * driven or read through rebinding. IP literals are always safe (a browser
 * sends an IP as Host only when the page itself was loaded from that IP).
 */
export const ALWAYS_ALLOWED_HOSTS = ['localhost', 'host.docker.internal'] as const;

/** The setting a user changes to add a name; named in every refusal. */
export const ALLOWED_HOSTS_SETTING = 'allowedHosts';

export class HostPolicy {
  private readonly names: Set<string>;

  constructor(names: Iterable<string>) {
    this.names = new Set([...ALWAYS_ALLOWED_HOSTS, ...[...names].map(normalizeName)]);
  }

  /** Whether a request with this Host header may be served. No Host at all is no browser: allowed. */
  allows(hostHeader: string | undefined): boolean {
    if (hostHeader === undefined) return true;
    const name = hostName(hostHeader);
    if (name === undefined) return false;
    if (isIP(name) !== 0 || this.names.has(name)) return true;
    const dot = name.indexOf('.');
    return dot > 0 && this.names.has(`*${name.slice(dot)}`); // a wildcard certificate name

  }

  /** One sentence a person can act on, for a refused Host. */
  refusal(hostHeader: string | undefined): string {
    const name = hostHeader === undefined ? '' : hostName(hostHeader) ?? hostHeader;
    return `this Layover does not answer to the host name "${name}" (protection against DNS rebinding): ` +
      `if this machine is really reached by that name, add it to "${ALLOWED_HOSTS_SETTING}" in the settings (Settings → Allowed host names)`;
  }
}

/** The name part of a Host header ("[::1]:5050" → "::1", "Example.com.:80" → "example.com"); undefined if malformed. */
export function hostName(hostHeader: string): string | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s/@]+))(?::\d{1,5})?$/.exec(hostHeader.trim());
  if (!match) return undefined;
  return match[1] ?? normalizeName(match[2]!);
}

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '').replace(/^\[|\]$/g, '');
}

/** DNS names and IP addresses a PEM certificate is issued for (its subjectAltName), for the host policy. */
export function certificateNames(pem: string | Buffer): string[] {
  let altNames: string | undefined;
  try {
    altNames = new X509Certificate(pem).subjectAltName;
  } catch {
    return [];
  }
  return (altNames ?? '').split(/,\s*/).flatMap((entry) => {
    const [kind, value] = [entry.slice(0, entry.indexOf(':')), entry.slice(entry.indexOf(':') + 1)];
    return (kind === 'DNS' || kind === 'IP Address') && value ? [value] : [];
  });
}
