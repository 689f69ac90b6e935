import { createHash } from 'node:crypto';

/**
 * Rendezvous (highest random weight) hashing: every member that wants a
 * digest scores each candidate with the same hash and picks the highest, so
 * laptops that see the same set of candidates elect the same fetcher without
 * any consensus round. A member that leaves moves only its own digests.
 */
export function electFetcher(digest: string, members: Iterable<string>): string {
  let best: { member: string; score: Buffer } | undefined;
  for (const member of new Set(members)) {
    const score = createHash('sha256').update(digest).update('\n').update(member).digest();
    if (!best || Buffer.compare(score, best.score) > 0 || (Buffer.compare(score, best.score) === 0 && member < best.member)) best = { member, score };
  }
  if (!best) throw new Error('electFetcher needs at least one member');
  return best.member;
}
