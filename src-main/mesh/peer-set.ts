import type { PeerStatus } from '../api/types.js';
import { peerKey, type PeerAddress } from './peer-protocol.js';

/** A discovered peer that has not answered for this long is forgotten (a static one is kept and asked again). */
const FORGET_AFTER_MS = 60_000;

export interface Peer {
  address: PeerAddress;
  key: string;
  found: 'static' | 'mdns';
  /** Learned from its first signed answer. */
  member?: string;
  state: PeerStatus['state'];
  since: number;
  lastAnswer?: number;
  reason?: string;
  bytesReceived: number;
  bytesSent: number;
}

/**
 * Who the other members are: static peers from the settings and --peer, and
 * the ones DNS-SD finds. A peer is live only while it answers; one failure
 * takes it out of every question at once (never waited on again), and the
 * next probe a few seconds later brings it back. A peer that sent a wrong
 * byte is dropped for this session.
 */
export class PeerSet {
  private readonly peers = new Map<string, Peer>();

  constructor(private readonly self: string) {}

  add(address: PeerAddress, found: Peer['found']): Peer {
    const key = peerKey(address);
    const existing = this.peers.get(key);
    if (existing) {
      if (found === 'static') existing.found = 'static';
      return existing;
    }
    const peer: Peer = { address, key, found, state: 'down', since: Date.now(), reason: 'not asked yet', bytesReceived: 0, bytesSent: 0 };
    this.peers.set(key, peer);
    return peer;
  }

  all(): Peer[] {
    return [...this.peers.values()];
  }

  /** Live peers, one per member (a member found at several addresses is asked once). */
  live(): Peer[] {
    const seen = new Set<string>();
    return this.all().filter((peer) => {
      if (peer.state !== 'live' || !peer.member || seen.has(peer.member)) return false;
      seen.add(peer.member);
      return true;
    });
  }

  byMember(member: string): Peer | undefined {
    return this.live().find((peer) => peer.member === member);
  }

  answered(peer: Peer, member: string): void {
    if (member === this.self) {
      this.peers.delete(peer.key); // ourselves, announced back to us
      return;
    }
    if (peer.state === 'dropped') return;
    if (peer.member && peer.member !== member) peer.since = Date.now(); // another Layover now answers at that address
    peer.member = member;
    peer.lastAnswer = Date.now();
    if (peer.state !== 'live') {
      peer.state = 'live';
      peer.since = Date.now();
      delete peer.reason;
    }
  }

  failed(peer: Peer, reason: string): void {
    if (peer.state === 'dropped') return;
    if (peer.state === 'live') peer.since = Date.now();
    peer.state = 'down';
    peer.reason = reason;
    if (peer.found === 'mdns' && Date.now() - (peer.lastAnswer ?? peer.since) > FORGET_AFTER_MS) this.peers.delete(peer.key);
  }

  /** Sent bytes that did not match their digest: ignored until this Layover restarts. */
  drop(peer: Peer, reason: string): void {
    peer.state = 'dropped';
    peer.since = Date.now();
    peer.reason = reason;
  }

  remove(address: PeerAddress): void {
    const peer = this.peers.get(peerKey(address));
    if (peer?.found === 'mdns' && peer.state !== 'dropped') this.peers.delete(peer.key);
  }

  status(): PeerStatus[] {
    return this.all().map((peer) => ({
      address: peer.key,
      found: peer.found,
      state: peer.state,
      since: peer.since,
      bytesReceived: peer.bytesReceived,
      bytesSent: peer.bytesSent,
      ...(peer.reason ? { reason: peer.reason } : {}),
    }));
  }
}
