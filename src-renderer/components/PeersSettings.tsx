import { useId, useState, type ReactNode } from 'react';
import { useApi } from '../app/api-context.js';
import { useLive } from '../app/live.js';
import type { MeshDraft } from '../lib/mesh-form.js';
import { useAction } from '../lib/use-async.js';
import { ByteSizeInput, Section } from './ui.js';

/**
 * Settings > Office mesh: create or join one (joinControls: OfficeMeshJoin,
 * which saves at once), or name a key file (advanced), add peers where
 * multicast is blocked, and cap what serving peers may take of this laptop.
 * Off until the user joins.
 */
export function PeersSettings({ draft, onChange, errors, joinControls }: { draft: MeshDraft; onChange(next: MeshDraft): void; errors: Record<string, string>; joinControls?: ReactNode }) {
  const id = useId();
  const set = (patch: Partial<MeshDraft>) => onChange({ ...draft, ...patch });
  return (
    <Section
      title="Office mesh"
      testId="settings-mesh"
      description="Layovers of one office share layers over the LAN, so the office fetches each layer once over the WAN. Peers get blobs by digest only, from members holding the office key; manifests, tags and credentials are never shared."
    >
      {joinControls}
      <div className="field field-check">
        <input id={`${id}-enabled`} type="checkbox" checked={draft.enabled} onChange={(e) => set({ enabled: e.target.checked })} data-testid="settings-mesh-enabled" />
        <label htmlFor={`${id}-enabled`}>Join the office mesh</label>
      </div>
      <div className="form-grid">
        <div className="field">
          <label htmlFor={`${id}-key`}>Office key file (advanced)</label>
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

/**
 * Create an office mesh or join one with a colleague's code, without the
 * command line; each saves at once (the key goes to a file in the data dir and
 * the mesh turns on). The join code is shown only here, to the person who
 * created the office, to hand to colleagues.
 */
export function OfficeMeshJoin() {
  const api = useApi();
  const id = useId();
  const { settings, setSettings } = useLive();
  const [code, setCode] = useState('');
  const [joinCode, setJoinCode] = useState<string>();
  const [joinedOffice, setJoinedOffice] = useState<string>();
  const [copied, setCopied] = useState(false);
  const create = useAction(async () => {
    const joined = await api.createOfficeMesh();
    setSettings(joined.settings);
    setJoinCode(joined.joinCode);
    setJoinedOffice(joined.officeId);
  });
  const join = useAction(async () => {
    const joined = await api.joinOfficeMesh({ code });
    setSettings(joined.settings);
    setJoinedOffice(joined.officeId);
    setCode('');
  });
  const leave = useAction(async () => {
    setSettings(await api.leaveOfficeMesh());
    setJoinCode(undefined);
    setJoinedOffice(undefined);
  });
  const copy = async () => {
    if (!joinCode) return;
    await navigator.clipboard?.writeText(joinCode).catch(() => undefined);
    setCopied(true);
  };
  const joinedNow = settings?.mesh?.enabled === true;
  const error = create.error ?? join.error ?? leave.error;
  return (
    <div className="mesh-join" data-testid="mesh-join">
      {joinCode ? (
        <div className="notice" role="status">
          <p>
            Office mesh created. Give this join code to your colleagues (only to them: it is the office key); they choose <strong>Join with a code</strong> and paste it.
          </p>
          <p>
            <code data-testid="mesh-join-code">{joinCode}</code>{' '}
            <button type="button" className="button" onClick={() => void copy()}>{copied ? 'Copied' : 'Copy'}</button>
          </p>
        </div>
      ) : joinedOffice ? (
        <p className="notice" role="status">Joined office {joinedOffice}: layers are now shared with its other Layovers.</p>
      ) : null}
      {error ? <p className="field-error" role="alert">{error.message}</p> : null}
      <div className="form-grid">
        <div className="field">
          <label htmlFor={`${id}-code`}>Join with a code</label>
          <input
            id={`${id}-code`}
            value={code}
            onChange={(e) => { setCode(e.target.value); join.clearError(); }}
            // Enter joins; it must not submit the surrounding Settings form.
            onKeyDown={(e) => { if (e.key === 'Enter') { e.preventDefault(); if (code.trim()) void join.run(); } }}
            placeholder="LM1-XXXXX-XXXXX-…"
            spellCheck={false}
            autoComplete="off"
            data-testid="mesh-join-input"
            aria-invalid={Boolean(join.error)}
          />
          <p className="hint">The code a colleague got when they created the office mesh.</p>
        </div>
      </div>
      <div className="actions">
        <button type="button" className="button" disabled={!code.trim() || join.busy} onClick={() => void join.run()} data-testid="mesh-join-button">Join</button>
        <button type="button" className="button" disabled={create.busy} onClick={() => void create.run()} data-testid="mesh-create">Create an office mesh</button>
        {joinedNow ? (
          <button type="button" className="button" disabled={leave.busy} onClick={() => void leave.run()} data-testid="mesh-leave">Leave</button>
        ) : null}
      </div>
    </div>
  );
}
