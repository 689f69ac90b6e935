import { render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { MeshStatus } from '../../src-main/api/types.js';
import { PeersSection } from './Peers.js';

const MiB = 1024 ** 2;
const now = Date.now();

function mesh(overrides: Partial<MeshStatus> = {}): MeshStatus {
  return {
    officeId: '3f9c0a1b2c3d4e5f', member: '0011223344556677', listen: ['10.0.0.11:5052'], discovery: true,
    peers: [
      { address: '10.0.0.12:5052', found: 'mdns', state: 'live', since: now - 3_600_000, bytesReceived: 300 * MiB, bytesSent: 20 * MiB },
      { address: '10.0.0.13:5052', found: 'static', state: 'down', since: now - 60_000, bytesReceived: 0, bytesSent: 5 * MiB, reason: 'connect ECONNREFUSED' },
      { address: '10.0.0.66:5052', found: 'mdns', state: 'dropped', since: now - 5_000, bytesReceived: 2 * MiB, bytesSent: 0, reason: 'sent bytes that do not match sha256:0123' },
    ],
    bytesReceivedFromPeers: 302 * MiB, bytesSentToPeers: 25 * MiB, peerErrors: 2, wanBytesSaved: 300 * MiB, refused: 1, questionsAnswered: 40,
    ...overrides,
  };
}

describe('PeersSection', () => {
  it('shows each peer with its state, since when, and the bytes given and received, and the WAN bytes saved', () => {
    render(<PeersSection mesh={mesh()} />);
    expect(screen.getByTestId('peer-count').textContent).toBe('Shared with 1 office peer');
    expect(screen.getByTestId('wan-saved').textContent).toContain('300 MiB');
    const rows = screen.getAllByTestId('peer-row');
    expect(rows.map((row) => row.dataset.state)).toEqual(['live', 'down', 'dropped']);
    expect(rows[0]!.textContent).toContain('found on the LAN');
    expect(rows[0]!.textContent).toContain('300 MiB');
    expect(rows[0]!.textContent).toContain('20.0 MiB');
    expect(within(rows[2]!).getByText('dropped: sent wrong bytes').closest('[title]')?.getAttribute('title')).toContain('do not match');
    expect(screen.getByTestId('peer-totals').textContent).toContain('refused 1 request without the office key');
  });

  it('says it is looking when no peer is known yet, and is absent without a mesh', () => {
    const { unmount } = render(<PeersSection mesh={mesh({ peers: [] })} />);
    expect(screen.getByTestId('peers-empty').textContent).toContain('Looking for Layovers of this office');
    unmount();
    render(<PeersSection mesh={undefined} />);
    expect(screen.queryByTestId('peers')).toBeNull();
  });
});

describe('PeersSettings', () => {
  it('joins with a key file and a serving cap', async () => {
    const { PeersSettings } = await import('./PeersSettings.js');
    const { default: userEvent } = await import('@testing-library/user-event');
    let draft = { enabled: false, keyFile: '', peers: '', discovery: true, servingCap: undefined as number | undefined };
    const { rerender } = render(<PeersSettings draft={draft} onChange={(next) => { draft = next; }} errors={{}} />);
    await userEvent.click(screen.getByTestId('settings-mesh-enabled'));
    expect(draft.enabled).toBe(true);
    rerender(<PeersSettings draft={draft} onChange={(next) => { draft = next; }} errors={{ 'mesh.keyFile': 'Joining needs the office key file' }} />);
    expect(screen.getByRole('alert').textContent).toContain('office key file');
    await userEvent.type(screen.getByTestId('settings-mesh-key'), 'k');
    expect(draft.keyFile).toBe('k');
  });
});
