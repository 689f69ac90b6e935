/** What members say to each other: the vocabulary of the mesh listener and its client. */

export const WHO_PATH = '/mesh/who/';
export const BLOBS_PATH = '/mesh/blobs/';

/**
 * A member's state for one digest:
 * - has: verified in its store;
 * - fetching: bytes are arriving (from the WAN or from another member) and it streams them to followers;
 * - wanting: a client of its own asked, and it is choosing who fetches;
 * - none: nothing.
 */
export type DigestState = 'has' | 'fetching' | 'wanting' | 'none';

export interface WhoAnswer {
  member: string;
  state: DigestState;
  size?: number;
  /** While fetching: from the WAN (the elected fetcher) or from another member. */
  source?: 'wan' | 'peer';
  /** While fetching from another member: which one (a member that sees itself here is the one to go to the WAN). */
  follows?: string;
}

/** Where a peer listens: host (an IPv4/IPv6 address or name) and port. */
export interface PeerAddress {
  host: string;
  port: number;
}

export function peerKey(address: PeerAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** The digest of the empty blob: the liveness probe asks about it (a who query like any other, no extra route). */
export const PROBE_DIGEST = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
