import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { LayoverApi } from '../api/layover-api.js';
import type { MeshSettings, MeshStatus, OfficeMeshJoined } from '../api/types.js';
import { saveSettings } from './api-service.js';
import { redactSettings } from './settings.js';
import { OfficeMesh } from '../mesh/office-mesh.js';
import { OfficeKey, readOfficeKeyFile, writeOfficeKeyFile } from '../mesh/office-key.js';
import type { PeerAddress } from '../mesh/peer-protocol.js';
import { parseHostPort } from './listen.js';
import type { LayoverCore } from './layover.js';

export { OfficeKey, readOfficeKeyFile, writeOfficeKeyFile };

/**
 * The office mesh as the app runs it: started from the settings, restarted when they change.
 * Made before the core (whose Status reports it: `status` is handed to the core at construction),
 * started on top of it once the core runs.
 */
export interface MeshFeature {
  /** The mesh running now; undefined while this Layover has not joined one. */
  readonly mesh: OfficeMesh | undefined;
  /** The running mesh's state for Status and /metrics; undefined while not joined. */
  status(): MeshStatus | undefined;
  /**
   * Joins the office mesh the settings name, on top of the core: its listener,
   * static peers, DNS-SD, and the peer source in the core's blob pipeline.
   * Nothing runs until the settings join one (the desktop's default); a change
   * of the mesh settings (Settings > Office mesh) stops the old and starts the
   * new. A key file that cannot be read fails the start (`layover serve`), and
   * later only the mesh, with the reason in the activity log.
   */
  start(core: LayoverCore): Promise<void>;
  stop(): Promise<void>;
}

export function createMeshFeature(logger: Logger): MeshFeature {
  let running: { mesh: OfficeMesh; stop(): Promise<void> } | undefined;
  let unsubscribe = (): void => undefined;
  let queue = Promise.resolve();
  return {
    get mesh() {
      return running?.mesh;
    },
    status: () => running?.mesh.status(),
    start: async (core) => {
      running = await startMesh(core, core.settings.mesh, logger);
      let applied = JSON.stringify(core.settings.mesh ?? null);
      unsubscribe = core.onEvent((event) => {
        if (event.type !== 'settings' || JSON.stringify(core.settings.mesh ?? null) === applied) return;
        applied = JSON.stringify(core.settings.mesh ?? null);
        queue = queue.then(async () => {
          await running?.stop();
          running = undefined;
          try {
            running = await startMesh(core, core.settings.mesh, logger);
          } catch (error) {
            core.telemetry.note('error', `Office mesh: ${(error as Error).message}`);
          }
        });
      });
    },
    stop: async () => {
      unsubscribe();
      await queue;
      await running?.stop();
      running = undefined;
    },
  };
}

async function startMesh(core: LayoverCore, settings: MeshSettings | undefined, logger: Logger): Promise<{ mesh: OfficeMesh; stop(): Promise<void> } | undefined> {
  if (!settings?.enabled || !settings.keyFile) return undefined;
  const key = await readOfficeKeyFile(settings.keyFile);
  const mesh = new OfficeMesh({
    key,
    store: core.store,
    fetcher: core.blobs,
    telemetry: core.telemetry,
    logger,
    ...(settings.listen ? { listen: addressOf(settings.listen, 'the mesh listener (--mesh-listen)') } : {}),
    peers: (settings.peers ?? []).map((peer) => addressOf(peer, 'a mesh peer (--peer)')),
    servingCap: () => core.settings.mesh?.servingCapBytesPerSecond ?? 0,
    // Serving peers steps aside while this machine's own pulls are downloading.
    localPulls: core.bandwidth,
  });
  await mesh.start();
  const discovery = settings.discovery ?? true ? await startDiscoveryOf(mesh, logger) : undefined;
  return {
    mesh,
    stop: async () => {
      await discovery?.stop();
      await mesh.stop();
    },
  };
}

/** mDNS discovery is loaded only when used (it opens a multicast socket). */
async function startDiscoveryOf(mesh: OfficeMesh, logger: Logger): Promise<{ stop(): Promise<void> } | undefined> {
  try {
    const { startDiscovery } = await import('../mesh/discovery.js');
    return await startDiscovery(mesh, logger);
  } catch (error) {
    logger.warn({ err: error }, 'office mesh: DNS-SD discovery could not start; only static peers are asked');
    return undefined;
  }
}

/** A join code that is not one (a typo, a missing group): the dashboard shows the reason; nothing was written. */
export class JoinCodeError extends Error {
  readonly status = 400;
  readonly code = 'BAD_JOIN_CODE';
}

/**
 * Create, join and leave an office mesh from the dashboard (Settings, first
 * run), as `layover mesh init|join` do on the command line: the key goes to a
 * file of its own in the data dir (owner-only, named by office so a second
 * office never overwrites the first), and the settings turn the mesh on with
 * it. Listener, peers and discovery stay as the settings say.
 */
export function createMeshApi(core: LayoverCore): Pick<LayoverApi, 'createOfficeMesh' | 'joinOfficeMesh' | 'leaveOfficeMesh'> {
  return {
    createOfficeMesh: async () => {
      const key = OfficeKey.generate();
      return { ...(await joinWith(core, key)), joinCode: key.toCode() };
    },
    joinOfficeMesh: async (args) => {
      let key: OfficeKey;
      try {
        key = OfficeKey.fromCode(typeof args?.code === 'string' ? args.code : '');
      } catch (error) {
        throw new JoinCodeError((error as Error).message);
      }
      return joinWith(core, key);
    },
    leaveOfficeMesh: async () => {
      const mesh = core.settings.mesh;
      return redactSettings(mesh?.enabled ? await saveSettings(core, { mesh: { ...mesh, enabled: false } }) : core.settings);
    },
  };
}

async function joinWith(core: LayoverCore, key: OfficeKey): Promise<Omit<OfficeMeshJoined, 'joinCode'>> {
  const keyFile = join(core.options.dataDir, `office-${key.officeId}.key`);
  // Joining the same office again finds its file already there (the same key: the name says which office).
  if (!(await exists(keyFile))) await writeOfficeKeyFile(keyFile, key);
  else await readOfficeKeyFile(keyFile);
  const settings = await saveSettings(core, { mesh: { ...core.settings.mesh, enabled: true, keyFile } });
  return { officeId: key.officeId, keyFile, settings: redactSettings(settings) };
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(() => true, () => false);
}

function addressOf(value: string, what: string): PeerAddress {
  const { host, port } = parseHostPort(value, what);
  return { host, port };
}

export type { MeshSettings };
