import { Bonjour, type Browser, type Service } from 'bonjour-service';
import type { OfficeMesh } from './office-mesh.js';
import type { PeerAddress } from './peer-protocol.js';

export const SERVICE_TYPE = 'layover';
/** Ask the LAN again this often: a laptop that joined without being heard (a lost packet) is found then. */
const REQUERY_MS = 10_000;

interface DiscoveryLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * DNS-SD over mDNS (`_layover._tcp`, with bonjour-service): announces this
 * Layover's mesh listener and finds the others of the same office (the TXT
 * record carries the office id, a hash that reveals nothing of the key). A
 * found peer is only a candidate: it becomes a member once it answers with the
 * office key, and a peer that stops answering is dropped by the mesh's probe.
 */
export async function startDiscovery(mesh: OfficeMesh, logger: DiscoveryLogger): Promise<{ stop(): Promise<void> }> {
  const bonjour = new Bonjour({}, (error: Error) => logger.warn({ err: error }, 'office mesh: mDNS error'));
  const listen = mesh.listenAddresses;
  // A listener on a wildcard address is reached at every interface's address: the A records say which.
  const hosts = listen.map((address) => address.host).filter((host) => host !== '0.0.0.0' && host !== '::');
  const service = listen[0]
    ? bonjour.publish({
        name: `layover-${mesh.self}`,
        type: SERVICE_TYPE,
        port: listen[0].port,
        host: `layover-${mesh.self}.local`,
        txt: { office: mesh.key.officeId, member: mesh.self, ...(hosts.length > 0 ? { hosts: hosts.join(',') } : {}) },
        disableIPv6: false,
      })
    : undefined;
  const browser: Browser = bonjour.find({ type: SERVICE_TYPE }, (found) => {
    for (const address of addressesOf(found, mesh)) mesh.addPeer(address, 'mdns');
  });
  browser.on('down', (gone: Service) => {
    for (const address of addressesOf(gone, mesh)) mesh.peers.remove(address);
  });
  const requery = setInterval(() => browser.update(), REQUERY_MS);
  requery.unref();
  mesh.discovery = true;
  logger.info({ type: `_${SERVICE_TYPE}._tcp`, office: mesh.key.officeId }, 'office mesh: announcing and looking for peers with DNS-SD');
  return {
    stop: async () => {
      clearInterval(requery);
      mesh.discovery = false;
      browser.stop();
      await new Promise<void>((resolve) => {
        if (!service) return resolve();
        bonjour.unpublishAll(() => resolve()); // a goodbye packet: the others drop this one at once
      });
      await new Promise<void>((resolve) => bonjour.destroy(() => resolve()));
    },
  };
}

/** Where a found service listens, if it is a member of this office and not this Layover itself. */
function addressesOf(service: Service, mesh: OfficeMesh): PeerAddress[] {
  const txt = (service.txt ?? {}) as Record<string, string>;
  if (txt.office !== mesh.key.officeId || txt.member === mesh.self) return [];
  const hosts = txt.hosts ? txt.hosts.split(',').filter(Boolean) : (service.addresses ?? []);
  return hosts.filter((host) => !host.toLowerCase().startsWith('fe80')).map((host) => ({ host, port: service.port }));
}
