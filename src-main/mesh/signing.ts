import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { OfficeKey } from './office-key.js';

/**
 * Membership proof on every mesh request, and on every answer: an HMAC with
 * the office key over the method, path, sender, time and a fresh nonce. A
 * request older than CLOCK_SKEW_MS or a nonce seen before is refused (no replay
 * of a captured request). Answers are signed over the request's nonce, so a
 * machine that is not a member cannot pose as a peer that "has" a blob.
 * Blob bytes themselves need no signature: they are verified by digest.
 */
export const HEADERS = {
  member: 'x-layover-mesh-member',
  time: 'x-layover-mesh-time',
  nonce: 'x-layover-mesh-nonce',
  signature: 'x-layover-mesh-signature',
} as const;

const CLOCK_SKEW_MS = 120_000;

export function signRequest(key: OfficeKey, method: string, path: string, member: string): Record<string, string> {
  const time = String(Date.now());
  const nonce = randomBytes(12).toString('hex');
  return {
    [HEADERS.member]: member,
    [HEADERS.time]: time,
    [HEADERS.nonce]: nonce,
    [HEADERS.signature]: key.sign(requestText(method, path, member, time, nonce)),
  };
}

export interface VerifiedRequest {
  member: string;
  nonce: string;
}

/** Checks a request's proof; returns the sender, or why it is refused. */
export class RequestVerifier {
  private readonly seen = new Map<string, number>();

  constructor(private readonly key: OfficeKey) {}

  verify(method: string, path: string, headers: IncomingHttpHeaders): VerifiedRequest | { refused: string } {
    const member = single(headers[HEADERS.member]);
    const time = single(headers[HEADERS.time]);
    const nonce = single(headers[HEADERS.nonce]);
    const signature = single(headers[HEADERS.signature]);
    if (!member || !time || !nonce || !signature) return { refused: 'not a member of this office mesh (no membership proof)' };
    if (!/^[0-9a-f]{16,64}$/.test(member) || !/^[0-9a-f]{24}$/.test(nonce)) return { refused: 'malformed membership proof' };
    if (!this.key.verify(requestText(method, path, member, time, nonce), signature)) return { refused: 'not a member of this office mesh (wrong office key)' };
    const sent = Number(time);
    if (!Number.isFinite(sent) || Math.abs(Date.now() - sent) > CLOCK_SKEW_MS) return { refused: 'membership proof too old (check the clocks)' };
    this.forgetOld();
    if (this.seen.has(nonce)) return { refused: 'membership proof replayed' };
    this.seen.set(nonce, sent);
    return { member, nonce };
  }

  private forgetOld(): void {
    const horizon = Date.now() - 2 * CLOCK_SKEW_MS;
    for (const [nonce, time] of this.seen) {
      if (time >= horizon) break; // insertion order is roughly time order
      this.seen.delete(nonce);
    }
  }
}

/** The answer's proof: made by the member that answers, over what the asker can check. */
export function signAnswer(key: OfficeKey, requestNonce: string, member: string, status: number, content: string): string {
  return key.sign(['answer', requestNonce, member, String(status), content].join('\n'));
}

export function verifyAnswer(key: OfficeKey, requestNonce: string, member: string, status: number, content: string, signature: string | undefined): boolean {
  return key.verify(['answer', requestNonce, member, String(status), content].join('\n'), signature);
}

function requestText(method: string, path: string, member: string, time: string, nonce: string): string {
  return ['request', method, path, member, time, nonce].join('\n');
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
