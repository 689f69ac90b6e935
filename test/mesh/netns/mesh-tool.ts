/**
 * Small programs the network-namespace test runs inside a namespace (where the
 * test process itself cannot open a socket):
 *   shaper HOST PORT TARGET_PORT LINK   the WAN: the project's link shaper in front of the registry;
 *                                       prints `ready`, and a `stats {json}` line on SIGUSR2
 *   fake-peer KEYFILE HOST PORT LAYOUT DIGEST...
 *                                       a member (it holds the office key) that claims the digests and
 *                                       sends them with one byte flipped
 *   ask KEYFILE URL                     one signed GET, as a member of the office of KEYFILE would send;
 *                                       prints `status N bytes N sha256 HEX`
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { LinkShaper } from '../../../src-main/demo/link-shaper.js';
import { layoutBlobPath } from '../../../src-main/demo/sample-images.js';
import { readOfficeKeyFile } from '../../../src-main/app/mesh-wiring.js';
import { createPeerServer } from '../../../src-main/mesh/peer-server.js';
import { signRequest } from '../../../src-main/mesh/signing.js';

const [command, ...args] = process.argv.slice(2);

if (command === 'shaper') {
  const [host, port, targetPort, link] = args as [string, string, string, string];
  const shaper = await LinkShaper.start({ target: { host: '127.0.0.1', port: Number(targetPort) }, link, listen: { host, port: Number(port) } });
  process.on('SIGUSR2', () => console.log(`stats ${JSON.stringify(shaper.stats())}`));
  process.on('SIGTERM', () => void shaper.stop().then(() => process.exit(0)));
  console.log('ready');
} else if (command === 'fake-peer') {
  const [keyFile, host, port, layout, ...digests] = args as [string, string, string, string, ...string[]];
  const key = await readOfficeKeyFile(keyFile);
  const self = randomBytes(8).toString('hex');
  const server = createPeerServer(key, {
    self,
    who: async (digest) => (digests.includes(digest) ? { member: self, state: 'has', size: (await flipped(layout, digest)).length } : { member: self, state: 'none' }),
    blob: async (digest) => {
      if (!digests.includes(digest)) return undefined;
      const file = `${layoutBlobPath(layout, digest)}.flipped`;
      const bytes = await flipped(layout, digest);
      await import('node:fs/promises').then(({ writeFile }) => writeFile(file, bytes));
      return { file, size: bytes.length };
    },
    servingCap: () => 0,
    onRefused: () => undefined,
    onSent: (_member, bytes) => console.log(`sent ${bytes}`),
  });
  server.listen(Number(port), host, () => console.log('ready'));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
} else if (command === 'ask') {
  const [keyFile, url] = args as [string, string];
  const key = await readOfficeKeyFile(keyFile);
  const target = new URL(url);
  const headers = signRequest(key, 'GET', target.pathname, randomBytes(8).toString('hex'));
  request(target, { headers }, (res) => {
    const hash = createHash('sha256');
    let bytes = 0;
    res.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    res.on('end', () => console.log(`status ${res.statusCode} bytes ${bytes} sha256 ${hash.digest('hex')}`));
  }).on('error', (error) => {
    console.log(`error ${error.message}`);
    process.exitCode = 1;
  }).end();
} else {
  console.error(`unknown command ${command}`);
  process.exit(2);
}

/** The blob with its middle byte flipped: the same size, another digest. */
async function flipped(layout: string, digest: string): Promise<Buffer> {
  const bytes = await readFile(layoutBlobPath(layout, digest));
  bytes[bytes.length >> 1]! ^= 0xff;
  return bytes;
}
