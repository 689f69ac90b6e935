import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { parseDigest } from '../core/oci/grammar.js';
import type { Ingest } from '../core/store/ingest.js';
import { sendFollowing } from '../core/store/follow.js';
import { sendFileRange } from '../core/store/send-file.js';
import type { OfficeKey } from './office-key.js';
import { BLOBS_PATH, WHO_PATH, type WhoAnswer } from './peer-protocol.js';
import { ServingPacer, type PaceOptions } from './serving-pacer.js';
import { HEADERS, RequestVerifier, signAnswer } from './signing.js';

/** What the listener serves: decided by the mesh, read from the store or from a transfer in flight. */
export interface PeerServerBackend {
  readonly self: string;
  who(digest: string, asker: string, wanting: boolean): Promise<WhoAnswer>;
  /** A verified file, or an ingest still being written (followers get its bytes as they arrive), or nothing. */
  blob(digest: string): Promise<{ file: string; size: number } | { ingest: Ingest; size: number } | undefined>;
  /** Bytes per second for all peers together (0: no cap): serving peers never starves this laptop's own pulls. */
  servingCap(): number;
  /** Paces what is sent (the cap, and stepping aside for this laptop's own pulls); default: a pacer at servingCap(). */
  pacer?: ServingPacer;
  onRefused(address: string, reason: string): void;
  onSent(member: string, bytes: number): void;
}

/**
 * The mesh listener: answers members only (every request carries the office
 * key's HMAC), and only two questions — who has or fetches a digest, and the
 * blob's bytes by digest. No manifest, no tag, no repository name is ever
 * served: a peer can learn nothing here that it could not already name.
 */
export function createPeerServer(key: OfficeKey, backend: PeerServerBackend): Server {
  const verifier = new RequestVerifier(key);
  const pacer = backend.pacer ?? new ServingPacer({ cap: () => backend.servingCap() });
  return createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) refuse(res, 500, 'internal error');
      else res.destroy(error);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://mesh');
    const method = req.method ?? 'GET';
    // A browser never speaks to the mesh: a page's request (it carries Origin) is refused before anything else.
    if (req.headers.origin !== undefined) return refuse(res, 403, 'browsers are not members');
    const proof = verifier.verify(method, `${url.pathname}${url.search}`, req.headers);
    if ('refused' in proof) {
      backend.onRefused(req.socket.remoteAddress ?? 'unknown', proof.refused);
      return refuse(res, 401, proof.refused);
    }
    const sign = (status: number, content: string) => signAnswer(key, proof.nonce, backend.self, status, content);
    if (url.pathname.startsWith(WHO_PATH) && method === 'GET') {
      const digest = url.pathname.slice(WHO_PATH.length);
      if (!parseDigest(digest)) return answerSigned(res, 400, { error: 'not a digest' }, sign);
      return answerSigned(res, 200, await backend.who(digest, proof.member, url.searchParams.get('want') === '1'), sign);
    }
    if (url.pathname.startsWith(BLOBS_PATH) && (method === 'GET' || method === 'HEAD')) {
      const digest = url.pathname.slice(BLOBS_PATH.length);
      if (!parseDigest(digest)) return answerSigned(res, 400, { error: 'not a digest' }, sign);
      return sendBlob(req, res, digest, method, proof.member, sign);
    }
    return answerSigned(res, 404, { error: 'the mesh serves blobs by digest and nothing else' }, sign);
  }

  async function sendBlob(req: IncomingMessage, res: ServerResponse, digest: string, method: string, member: string, sign: (status: number, content: string) => string): Promise<void> {
    const blob = await backend.blob(digest);
    if (!blob) {
      res.writeHead(404, { [HEADERS.member]: backend.self, [HEADERS.signature]: sign(404, `${digest}\n\n`), 'content-length': '0' });
      res.end();
      return;
    }
    const start = rangeStart(req.headers.range, blob.size);
    if (start === undefined) {
      res.writeHead(416, { [HEADERS.member]: backend.self, 'content-range': `bytes */${blob.size}` });
      res.end();
      return;
    }
    const status = req.headers.range ? 206 : 200;
    const length = String(blob.size - start);
    const range = status === 206 ? `bytes ${start}-${blob.size - 1}/${blob.size}` : '';
    res.writeHead(status, {
      'content-type': 'application/octet-stream',
      'content-length': length,
      ...(range ? { 'content-range': range } : {}),
      'docker-content-digest': digest,
      [HEADERS.member]: backend.self,
      [HEADERS.signature]: sign(status, `${digest}\n${length}\n${range}`),
    });
    if (method === 'HEAD' || blob.size === start) {
      res.end();
      return;
    }
    // Bytes of a transfer still arriving from the WAN come no faster than this laptop's own fetch of them:
    // they keep to the cap but do not step aside for that very pull (the followers would stall until it ends).
    const destination = pacer.capped ? paced(res, pacer, { following: 'ingest' in blob }) : res;
    const onBytes = (bytes: number) => backend.onSent(member, bytes);
    try {
      if ('file' in blob) await sendFileRange(blob.file, start, blob.size - 1, destination, onBytes);
      else await sendFollowing(blob.ingest, start, blob.size - 1, destination, onBytes);
      res.end();
    } catch (error) {
      res.destroy(error as Error); // the follower sees a cut transfer and continues elsewhere with Range
    }
  }

  function answerSigned(res: ServerResponse, status: number, value: unknown, sign: (status: number, content: string) => string): void {
    const body = JSON.stringify(value);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      [HEADERS.member]: backend.self,
      [HEADERS.signature]: sign(status, body),
    });
    res.end(body);
  }
}

function rangeStart(header: string | undefined, size: number): number | undefined {
  if (!header) return 0;
  const match = /^bytes=(\d+)-$/.exec(header);
  const start = match ? Number(match[1]) : NaN;
  return Number.isSafeInteger(start) && start <= size ? start : undefined;
}

function refuse(res: ServerResponse, status: number, reason: string): void {
  const body = JSON.stringify({ error: reason });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The response, with every chunk let through by the serving pacer first (all peers share its one queue). */
function paced(destination: ServerResponse, pacer: ServingPacer, how: PaceOptions): Writable {
  return new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      pacer.pace(chunk.length, how).then(() => destination.write(chunk, (error) => done(error ?? null)), done);
    },
  });
}
