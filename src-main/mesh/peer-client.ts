import { request, type IncomingMessage } from 'node:http';
import type { OfficeKey } from './office-key.js';
import { BLOBS_PATH, WHO_PATH, type PeerAddress, type WhoAnswer } from './peer-protocol.js';
import { HEADERS, signRequest, verifyAnswer } from './signing.js';

/** A question to a peer is answered at LAN speed or not at all: a peer that takes longer is dropped, never waited on. */
export const WHO_TIMEOUT_MS = 2_500;
/** A blob request may wait while the peer decides who fetches (a fraction of a second) and for its WAN headers. */
const BLOB_HEADERS_TIMEOUT_MS = 15_000;
/** Bytes stop arriving for this long: the peer is gone, and the transfer continues elsewhere with Range. */
const BLOB_IDLE_TIMEOUT_MS = 10_000;

export class PeerRefusedError extends Error {}

export interface PeerBlob {
  /** Total size of the blob. */
  size: number;
  /** Offset of the first byte of `body`. */
  start: number;
  body: IncomingMessage;
  member: string;
}

/** Signed requests to other members, and checks of their signed answers. */
export class PeerClient {
  constructor(private readonly key: OfficeKey, private readonly self: string) {}

  async who(peer: PeerAddress, digest: string, wanting: boolean): Promise<WhoAnswer> {
    const path = `${WHO_PATH}${digest}${wanting ? '?want=1' : ''}`;
    const { response, nonce } = await this.send(peer, 'GET', path, {}, WHO_TIMEOUT_MS);
    const body = await readBody(response, 64 * 1024);
    const member = String(response.headers[HEADERS.member] ?? '');
    if (!verifyAnswer(this.key, nonce, member, response.statusCode ?? 0, body, header(response, HEADERS.signature))) {
      throw new PeerRefusedError(`${hostOf(peer)} answered without the office key`);
    }
    if (response.statusCode !== 200) throw new PeerRefusedError(`${hostOf(peer)} answered ${response.statusCode}: ${body.slice(0, 200)}`);
    const answer = JSON.parse(body) as WhoAnswer;
    if (answer.member !== member) throw new PeerRefusedError(`${hostOf(peer)} answered for another member`);
    return answer;
  }

  /** Opens the blob from `offset`; undefined when the peer neither has nor fetches it. */
  async openBlob(peer: PeerAddress, digest: string, offset: number, signal: AbortSignal): Promise<PeerBlob | undefined> {
    const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
    const { response, nonce } = await this.send(peer, 'GET', `${BLOBS_PATH}${digest}`, headers, BLOB_HEADERS_TIMEOUT_MS, signal);
    const member = String(response.headers[HEADERS.member] ?? '');
    const status = response.statusCode ?? 0;
    const range = header(response, 'content-range') ?? '';
    const length = header(response, 'content-length') ?? '';
    if (!verifyAnswer(this.key, nonce, member, status, `${digest}\n${length}\n${range}`, header(response, HEADERS.signature))) {
      response.destroy();
      throw new PeerRefusedError(`${hostOf(peer)} answered without the office key`);
    }
    if (status === 404) {
      response.resume();
      return undefined;
    }
    const size = status === 206 ? Number(/\/(\d+)$/.exec(range)?.[1]) : Number(length);
    const start = status === 206 ? Number(/^bytes (\d+)-/.exec(range)?.[1]) : 0;
    if ((status !== 200 && status !== 206) || !Number.isSafeInteger(size) || start !== offset) {
      response.destroy();
      throw new PeerRefusedError(`${hostOf(peer)} answered ${status} ${range} for bytes from ${offset}`);
    }
    response.setTimeout(BLOB_IDLE_TIMEOUT_MS, () => response.destroy(new Error(`${hostOf(peer)} sent nothing for ${BLOB_IDLE_TIMEOUT_MS / 1000} s`)));
    return { size, start, body: response, member };
  }

  private send(peer: PeerAddress, method: string, path: string, extra: Record<string, string>, timeoutMs: number, signal?: AbortSignal): Promise<{ response: IncomingMessage; nonce: string }> {
    const signed = signRequest(this.key, method, path, this.self);
    return new Promise((resolve, reject) => {
      const req = request({ host: peer.host, port: peer.port, method, path, headers: { ...signed, ...extra }, signal, agent: false });
      const timer = setTimeout(() => req.destroy(new Error(`${hostOf(peer)} did not answer within ${timeoutMs} ms`)), timeoutMs);
      req.once('response', (response) => {
        clearTimeout(timer);
        resolve({ response, nonce: signed[HEADERS.nonce]! });
      });
      req.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      req.end();
    });
  }
}

function header(response: IncomingMessage, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function hostOf(peer: PeerAddress): string {
  return `peer ${peer.host}:${peer.port}`;
}

async function readBody(response: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      response.destroy();
      throw new Error('peer answer too large');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
