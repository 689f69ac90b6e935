/**
 * Whether a host name or address stays on this machine: plain HTTP to it is
 * safe, and a listener on it needs no TLS or admin token. IPv6 may come in
 * brackets, as in URLs.
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/^\[|\]$/g, '').toLowerCase();
  return name === 'localhost' || name === '::1' || /^127(?:\.\d{1,3}){3}$/.test(name);
}
