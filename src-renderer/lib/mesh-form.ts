/** The Settings page's editable copy of the office mesh settings, and its way back. */
import type { MeshSettings, Settings } from '../../src-main/api/types.js';
import { hostPort } from '../../src-main/api/settings-schema.js';

export interface MeshDraft {
  enabled: boolean;
  /** The office key file written by `layover mesh join CODE --out FILE`. */
  keyFile: string;
  /** Static peers as typed: HOST:PORT separated by commas, spaces or new lines. */
  peers: string;
  discovery: boolean;
  /** Bytes per second for serving peers; undefined or 0: no cap. */
  servingCap: number | undefined;
}

// Peers are checked by the settings schema's own HOST:PORT rule (src-main/api/settings-schema.ts).

export function meshDraftOf(settings: Settings): MeshDraft {
  const mesh = settings.mesh;
  return {
    enabled: mesh?.enabled === true,
    keyFile: mesh?.keyFile ?? '',
    peers: (mesh?.peers ?? []).join(', '),
    discovery: mesh?.discovery ?? true,
    servingCap: mesh?.servingCapBytesPerSecond || undefined,
  };
}

export function parsePeerList(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

/** The mesh settings the draft says, or undefined when it says what is saved (nothing to send). */
export function meshPatch(original: Settings, draft: MeshDraft): MeshSettings | undefined {
  const next: MeshSettings = {
    ...original.mesh,
    enabled: draft.enabled,
    discovery: draft.discovery,
    peers: parsePeerList(draft.peers),
    servingCapBytesPerSecond: draft.servingCap ?? 0,
  };
  if (draft.keyFile.trim()) next.keyFile = draft.keyFile.trim();
  else delete next.keyFile;
  const saved = meshDraftOf(original);
  const same = JSON.stringify({ ...saved, peers: parsePeerList(saved.peers) }) === JSON.stringify({ ...draft, keyFile: draft.keyFile.trim(), peers: parsePeerList(draft.peers), servingCap: draft.servingCap || undefined });
  return same ? undefined : next;
}

/** Errors keyed "mesh.keyFile", "mesh.peers". */
export function validateMeshDraft(draft: MeshDraft): Record<string, string> {
  const errors: Record<string, string> = {};
  if (draft.enabled && !draft.keyFile.trim()) errors['mesh.keyFile'] = 'Joining needs the office key file: run `layover mesh join CODE --out FILE` with the code a member gave you, and name FILE here.';
  const bad = parsePeerList(draft.peers).filter((peer) => !hostPort.safeParse(peer).success);
  if (bad.length > 0) errors['mesh.peers'] = `Not HOST:PORT: ${bad.join(', ')}`;
  return errors;
}
