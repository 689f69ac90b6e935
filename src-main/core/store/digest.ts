import { createHash, type Hash } from 'node:crypto';
import { parseDigest, type ParsedDigest } from '../oci/grammar.js';

/** A running hash for a digest's algorithm: bytes are hashed once, as they are written. */
export function hasherFor(digest: ParsedDigest): Hash {
  return createHash(digest.algorithm);
}

export function digestOf(bytes: Buffer, algorithm: ParsedDigest['algorithm'] = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Parses a digest the store can hold, or throws: callers validate first, so this is a programming error. */
export function requireDigest(digest: string): ParsedDigest {
  const parsed = parseDigest(digest);
  if (!parsed) throw new Error(`not a verifiable digest: ${digest}`);
  return parsed;
}
