import { describe, expect, it } from 'vitest';
import type { Settings } from '../../src-main/api/types.js';
import { meshDraftOf, meshPatch, validateMeshDraft } from './mesh-form.js';

const base = { schemaVersion: 1, listen: '127.0.0.1:5050', admin: '127.0.0.1:5051', defaultRegistry: 'docker.io', registries: [], tagFreshnessSeconds: 300, quotaBytes: 0, rules: [], startAtLogin: false, firstRunDone: true } as unknown as Settings;

describe('mesh settings form', () => {
  it('is off until the user joins, and sends nothing while unchanged', () => {
    const draft = meshDraftOf(base);
    expect(draft).toEqual({ enabled: false, keyFile: '', peers: '', discovery: true, servingCap: undefined });
    expect(meshPatch(base, draft)).toBeUndefined();
  });

  it('joining sends the key file, static peers and the serving cap', () => {
    const draft = { ...meshDraftOf(base), enabled: true, keyFile: ' /home/me/office.key ', peers: '10.0.0.12:5052,  10.0.0.13:5052\n10.0.0.12:5052', servingCap: 5 * 1024 ** 2 };
    expect(validateMeshDraft(draft)).toEqual({});
    expect(meshPatch(base, draft)).toEqual({ enabled: true, keyFile: '/home/me/office.key', discovery: true, peers: ['10.0.0.12:5052', '10.0.0.13:5052'], servingCapBytesPerSecond: 5 * 1024 ** 2 });
  });

  it('joining without a key file, and a peer that is not HOST:PORT, are refused before saving', () => {
    const errors = validateMeshDraft({ ...meshDraftOf(base), enabled: true, peers: '10.0.0.12, ok.lan:5052' });
    expect(errors['mesh.keyFile']).toMatch(/layover mesh join CODE --out FILE/);
    expect(errors['mesh.peers']).toBe('Not HOST:PORT: 10.0.0.12');
  });
});
