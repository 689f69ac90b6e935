import { useId } from 'react';
import type { MeshDraft } from '../lib/mesh-form.js';
import { ByteSizeInput, Section } from './ui.js';

/**
 * Settings > Office mesh: join with the office key file, add peers where
 * multicast is blocked, and cap what serving peers may take of this laptop.
 * Off until the user joins.
 */
export function PeersSettings({ draft, onChange, errors }: { draft: MeshDraft; onChange(next: MeshDraft): void; errors: Record<string, string> }) {
  const id = useId();
  const set = (patch: Partial<MeshDraft>) => onChange({ ...draft, ...patch });
  return (
    <Section
      title="Office mesh"
      testId="settings-mesh"
      description="Layovers of one office share layers over the LAN, so the office fetches each layer once over the WAN. Peers get blobs by digest only, from members holding the office key; manifests, tags and credentials are never shared."
    >
      <div className="field field-check">
        <input id={`${id}-enabled`} type="checkbox" checked={draft.enabled} onChange={(e) => set({ enabled: e.target.checked })} data-testid="settings-mesh-enabled" />
        <label htmlFor={`${id}-enabled`}>Join the office mesh</label>
      </div>
      <div className="form-grid">
        <div className="field">
          <label htmlFor={`${id}-key`}>Office key file</label>
          <input id={`${id}-key`} value={draft.keyFile} onChange={(e) => set({ keyFile: e.target.value })} placeholder="/home/me/office.key" data-testid="settings-mesh-key" aria-invalid={Boolean(errors['mesh.keyFile'])} />
          {errors['mesh.keyFile'] ? <p className="field-error" role="alert">{errors['mesh.keyFile']}</p> : null}
          <p className="hint">
            One member runs <code>layover mesh init --out office.key</code>; the others run <code>layover mesh join CODE --out office.key</code> with the code it prints.
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${id}-peers`}>Peers by address</label>
          <input id={`${id}-peers`} value={draft.peers} onChange={(e) => set({ peers: e.target.value })} placeholder="10.0.0.12:5052, 10.0.0.13:5052" data-testid="settings-mesh-peers" aria-invalid={Boolean(errors['mesh.peers'])} />
          {errors['mesh.peers'] ? <p className="field-error" role="alert">{errors['mesh.peers']}</p> : null}
          <p className="hint">For networks that block multicast. Others are found on the LAN by themselves.</p>
        </div>
        <ByteSizeInput
          label="Serving cap for peers"
          value={draft.servingCap}
          onChange={(servingCap) => set({ servingCap })}
          units={['MiB']}
          perSecond
          optional
          hint="What peers may take from this laptop together, per second, so serving them never starves your own pulls. Empty: no cap."
          testId="settings-mesh-cap"
        />
      </div>
      <div className="field field-check">
        <input id={`${id}-discovery`} type="checkbox" checked={draft.discovery} onChange={(e) => set({ discovery: e.target.checked })} />
        <label htmlFor={`${id}-discovery`}>Find and announce office peers on the LAN (DNS-SD)</label>
      </div>
    </Section>
  );
}
