import type * as X509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
import { mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';

let x509Module: Promise<typeof X509> | undefined;

/**
 * @peculiar/x509 is loaded on first use: only `layover tls init` creates
 * certificates, and importing it (with the Reflect polyfill its tsyringe
 * needs) costs every `layover serve` about 10 MiB of resident memory.
 */
function loadX509(): Promise<typeof X509> {
  x509Module ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    (x509.cryptoProvider as { set(provider: unknown): void }).set(webcrypto);
    return x509;
  })();
  return x509Module;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const CA_YEARS = 10;
/** Clients (Apple's especially) refuse server certificates valid for longer than about 13 months. */
const SERVER_DAYS = 397;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface TlsFiles {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
}

export function tlsFiles(dataDir: string): TlsFiles {
  const dir = join(dataDir, 'tls');
  return { dir, caCert: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), serverCert: join(dir, 'server.crt'), serverKey: join(dir, 'server.key') };
}

/** The names and addresses this box answers to: what the server certificate must cover. */
export function machineNames(extra: string[] = []): string[] {
  const addresses = Object.values(networkInterfaces()).flat().filter((entry) => entry !== undefined).map((entry) => entry.address.split('%')[0]!);
  return [...new Set([hostname(), 'localhost', '127.0.0.1', '::1', ...addresses, ...extra])];
}

/**
 * `layover tls init`: a small local CA (kept if it already exists, so clients
 * that trust it keep trusting) and a server certificate for the given names.
 * Private keys are written readable by the owner only.
 */
export async function initTls(dataDir: string, names: string[]): Promise<TlsFiles> {
  const x509 = await loadX509();
  const files = tlsFiles(dataDir);
  await mkdir(files.dir, { recursive: true, mode: 0o700 });
  const ca = (await loadCa(x509, files)) ?? (await createCa(x509, files));
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${names[0] ?? 'layover'}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + SERVER_DAYS * DAY_MS),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((name): X509.JsonGeneralName => (isIP(name) ? { type: 'ip', value: name } : { type: 'dns', value: name }))),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  await writeFileAtomic(files.serverKey, await privateKeyPem(keys.privateKey), { mode: 0o600 });
  await writeFileAtomic(files.serverCert, cert.toString('pem') + '\n' + ca.cert.toString('pem') + '\n');
  return files;
}

async function createCa(x509: typeof X509, files: TlsFiles): Promise<{ cert: X509.X509Certificate; key: CryptoKey }> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=Layover local CA (${hostname()})`,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + CA_YEARS * 365 * DAY_MS),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  await writeFileAtomic(files.caKey, await privateKeyPem(keys.privateKey), { mode: 0o600 });
  await writeFileAtomic(files.caCert, cert.toString('pem') + '\n');
  return { cert, key: keys.privateKey };
}

async function loadCa(x509: typeof X509, files: TlsFiles): Promise<{ cert: X509.X509Certificate; key: CryptoKey } | undefined> {
  let certPem: string;
  let keyPem: string;
  try {
    [certPem, keyPem] = await Promise.all([readFile(files.caCert, 'utf8'), readFile(files.caKey, 'utf8')]);
  } catch {
    return undefined;
  }
  const der = Buffer.from(keyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const key = await webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, true, ['sign']);
  return { cert: new x509.X509Certificate(certPem), key };
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

function serialNumber(): string {
  // Positive 128-bit serial: the top bit cleared so DER does not read it as negative.
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

/** Where clients put the CA so they trust the mirror, per platform. */
export function trustInstructions(caCert: string, mirrorHostPort: string): string[] {
  return [
    `Docker Engine (Linux): sudo mkdir -p /etc/docker/certs.d/${mirrorHostPort} && sudo cp ${caCert} /etc/docker/certs.d/${mirrorHostPort}/ca.crt`,
    `Docker Desktop (macOS): sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ${caCert}, then restart Docker Desktop`,
    `Docker Desktop (Windows): certutil -addstore -f Root ${caCert} (as Administrator), then restart Docker Desktop`,
    `Podman/skopeo/containerd: /etc/containers/certs.d/${mirrorHostPort}/ca.crt, or ca = "${caCert}" in hosts.toml`,
  ];
}
