import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(value: string, what: string): HostPort {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new Error(`${what} must be HOST:PORT, got "${value}"`);
  return { host: match[1] ?? match[2]!, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export { isLoopbackHost as isLoopback } from '../core/net/loopback.js';

/** Listens, turning the usual failures into one line a person can act on; resolves with the bound address. */
export function listen(server: Server, address: HostPort, what: string): Promise<HostPort> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const where = formatHostPort(address);
      if (error.code === 'EADDRINUSE') reject(new Error(`${what} ${where} is already in use: stop what is listening there or choose another port`));
      else if (error.code === 'EACCES') reject(new Error(`${what} ${where} needs privileges: choose a port above 1023`));
      else if (error.code === 'EADDRNOTAVAIL') reject(new Error(`${what} ${where}: this machine has no such address`));
      else reject(new Error(`${what} ${where}: ${error.message}`));
    };
    const onListening = () => {
      server.off('error', onError);
      const bound = server.address() as AddressInfo;
      resolve({ host: address.host, port: bound.port });
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(address.port, address.host);
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
