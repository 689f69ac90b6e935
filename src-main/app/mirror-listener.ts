import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { LimitSettings, Settings } from '../api/types.js';
import { formatHostPort, isLoopback, parseHostPort, type HostPort } from './listen.js';
import { readTlsFiles, watchCertificates } from './tls/secure-context.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface MirrorListener {
  server: Server;
  address: HostPort;
  tls: boolean;
  /** Stops watching certificate files. */
  stopWatching: () => void;
}

/** Slowloris guard: a client gets this long to send its request headers. */
const HEADERS_TIMEOUT_MS = 20_000;

/**
 * The server the /v2 handler runs on. Beyond loopback it must be HTTPS: a
 * cache the office shares is as trustworthy as the DTR cache it stands in
 * for, or it is a way around it.
 */
export async function createMirrorListener(settings: Settings, limits: LimitSettings, handler: Handler, onCertificateReload: (error?: Error) => void): Promise<MirrorListener> {
  const address = parseHostPort(settings.listen, 'the mirror address (--listen)');
  if (!settings.tls && !isLoopback(address.host)) {
    throw new Error(`the mirror would listen on ${formatHostPort(address)}, beyond this machine, without TLS: give --tls-cert FILE --tls-key FILE, or run \`layover tls init\` to create them`);
  }
  const server: Server = settings.tls
    ? (createHttpsServer({ ...(await readTlsFiles(settings.tls)) }, handler) as unknown as Server)
    : createHttpServer(handler);
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = HEADERS_TIMEOUT_MS + 10_000;
  server.keepAliveTimeout = 65_000;
  // Idle in either direction: a client that stopped reading holds a file descriptor and a stream.
  server.timeout = limits.idleTimeoutSeconds * 1000;
  const stopWatching = settings.tls
    ? watchCertificates(server as unknown as import('node:https').Server, settings.tls, onCertificateReload)
    : () => undefined;
  return { server, address, tls: Boolean(settings.tls), stopWatching };
}
