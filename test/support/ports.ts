/**
 * Free loopback ports for the real servers tests start.
 *
 * The kernel picks the port (listen on :0), so two test files running at the
 * same time do not collide; ports handed out by this process are remembered
 * so two calls never return the same one while the first is still unbound.
 */
import { createServer, Socket } from 'node:net';

export const LOOPBACK = '127.0.0.1';

const handedOut = new Set<number>();

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const port = await kernelAssignedPort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: the kernel kept returning ports this process already handed out');
}

/** Several distinct free ports. */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i += 1) ports.push(await freePort());
  return ports;
}

function kernelAssignedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: listen returned no TCP address'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** True when something accepts TCP connections on host:port. */
export function isPortOpen(port: number, host = LOOPBACK, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const finish = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
    socket.connect(port, host);
  });
}

/** Waits until host:port accepts connections; throws after timeoutMs. */
export async function waitForPort(port: number, host = LOOPBACK, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await isPortOpen(port, host))) {
    if (Date.now() > deadline) throw new Error(`nothing accepted connections on ${host}:${port} within ${timeoutMs} ms`);
    await delay(50);
  }
}

/** Waits until nothing accepts connections on host:port (a stopped server really let go). */
export async function waitForPortClosed(port: number, host = LOOPBACK, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (await isPortOpen(port, host)) {
    if (Date.now() > deadline) throw new Error(`${host}:${port} still accepted connections after ${timeoutMs} ms`);
    await delay(50);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A host name that fails to resolve without a packet leaving the machine: its
 * first label is 64 characters, one over DNS's limit, so the resolver refuses
 * it locally (a plain `.invalid` name would still be sent to the DNS server).
 */
export const UNRESOLVABLE_HOST = `${'a'.repeat(64)}.layover-test.invalid`;
