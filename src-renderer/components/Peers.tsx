import type { MeshStatus, PeerStatus } from '../../src-main/api/types.js';
import { describeMeshSharing, formatBytes, plural } from '../lib/format.js';
import { Badge, Empty, RelativeTime, Section, type Tone } from './ui.js';

const STATE_TONE: Record<PeerStatus['state'], Tone> = { live: 'good', down: 'warn', dropped: 'bad' };
const STATE_LABEL: Record<PeerStatus['state'], string> = { live: 'sharing', down: 'not answering', dropped: 'dropped: sent wrong bytes' };

/**
 * The office mesh on the dashboard: who the other Layovers are, since when,
 * what each gave and took, and the WAN bytes the office saved. Absent until
 * this Layover has joined a mesh (Settings, or `layover serve --mesh`).
 */
export function PeersSection({ mesh }: { mesh: MeshStatus | undefined }) {
  if (!mesh) return null;
  return (
    <Section
      title="Office peers"
      testId="peers"
      description={<>Layovers of office <code>{mesh.officeId}</code> share layers by digest. Every byte is verified; manifests and tags never come from peers.</>}
    >
      <div className="peer-totals" data-testid="peer-totals">
        <span data-testid="peer-count">{describeMeshSharing(mesh)}</span>
        <span>{` · received ${formatBytes(mesh.bytesReceivedFromPeers)}`}</span>
        <span>{` · given ${formatBytes(mesh.bytesSentToPeers)}`}</span>
        <span data-testid="wan-saved">{` · WAN bytes saved ${formatBytes(mesh.wanBytesSaved)}`}</span>
        {mesh.refused > 0 ? <span className="muted">{` · refused ${plural(mesh.refused, 'request')} without the office key`}</span> : null}
      </div>
      {mesh.peers.length === 0 ? (
        <Empty title="No peers yet" testId="peers-empty">
          {mesh.discovery ? 'Looking for Layovers of this office on the LAN (DNS-SD).' : 'Discovery is off: add peers by address in Settings.'}
        </Empty>
      ) : (
        <table className="table" data-testid="peer-table">
          <thead>
            <tr><th>Peer</th><th>State</th><th>Since</th><th>Received from it</th><th>Given to it</th></tr>
          </thead>
          <tbody>
            {mesh.peers.map((peer) => (
              <tr key={peer.address} data-testid="peer-row" data-address={peer.address} data-state={peer.state}>
                <td><code>{peer.address}</code> <span className="muted">{peer.found === 'mdns' ? 'found on the LAN' : 'from settings'}</span></td>
                <td><Badge tone={STATE_TONE[peer.state]} title={peer.reason}>{STATE_LABEL[peer.state]}</Badge></td>
                <td><RelativeTime at={peer.since} past /></td>
                <td>{formatBytes(peer.bytesReceived)}</td>
                <td>{formatBytes(peer.bytesSent)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}
