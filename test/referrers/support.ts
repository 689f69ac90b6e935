/**
 * What the referrers tests put into a real docker-registry (distribution 2.8,
 * which has no referrers API): OCI artifacts with `subject` and `artifactType`
 * pushed with plain HTTP PUTs, as oras or cosign would, and the tag-schema
 * index (`sha256-<hex>`) that the spec's fallback keeps next to the subject.
 * Signatures are made here as cosign makes them: Debian's skopeo 1.9 and
 * podman are built with sigstore patched out ("Debian-local change: sigstore
 * disabled"), so they can neither sign nor run a sigstoreSigned policy.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSampleLayout } from '../../src-main/demo/sample-images.js';
import { after, before } from 'node:test';
import { pushSampleLayout } from '../support/skopeo.js';
import { makeTempDir, removeTempDir } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

export const ARTIFACT_TYPES = {
  signature: 'application/vnd.dev.cosign.artifact.sig.v1+json',
  sbom: 'application/spdx+json',
  attestation: 'application/vnd.in-toto+json',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A monolithic blob upload (POST, then PUT with the digest). */
export async function pushBlob(registryUrl: string, repository: string, bytes: Buffer): Promise<string> {
  const digest = digestOf(bytes);
  const started = await fetch(`${registryUrl}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  await started.arrayBuffer();
  if (started.status !== 202) throw new Error(`upload start: HTTP ${started.status}`);
  const location = new URL(started.headers.get('location')!, registryUrl);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  const text = await put.text();
  if (put.status !== 201) throw new Error(`blob PUT: HTTP ${put.status} ${text}`);
  return digest;
}

export async function pushManifest(registryUrl: string, repository: string, reference: string, body: Buffer, mediaType: string): Promise<string> {
  const put = await fetch(`${registryUrl}/v2/${repository}/manifests/${reference}`, { method: 'PUT', body, headers: { 'content-type': mediaType } });
  const text = await put.text();
  if (put.status !== 201) throw new Error(`manifest PUT ${reference}: HTTP ${put.status} ${text}`);
  return digestOf(body);
}

/** An OCI artifact: empty config, one layer of `content` typed `layerMediaType`, pointing at `subject`. Pushed by digest. */
export async function pushArtifact(
  registryUrl: string, repository: string,
  options: { subject: Descriptor; artifactType: string; layerMediaType: string; content: Buffer; annotations?: Record<string, string> },
): Promise<{ descriptor: Descriptor; body: Buffer; layerDigest: string }> {
  const empty = Buffer.from('{}');
  await pushBlob(registryUrl, repository, empty);
  const layerDigest = await pushBlob(registryUrl, repository, options.content);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: options.artifactType,
    config: { mediaType: OCI_EMPTY, digest: digestOf(empty), size: empty.length, data: 'e30=' },
    layers: [{ mediaType: options.layerMediaType, digest: layerDigest, size: options.content.length }],
    subject: { mediaType: options.subject.mediaType, digest: options.subject.digest, size: options.subject.size },
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const body = Buffer.from(JSON.stringify(manifest));
  const digest = await pushManifest(registryUrl, repository, digestOf(body), body, OCI_MANIFEST);
  const descriptor: Descriptor = {
    mediaType: OCI_MANIFEST, digest, size: body.length, artifactType: options.artifactType,
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  return { descriptor, body, layerDigest };
}

/** The spec's tag-schema fallback: an index of the referrers under the tag `sha256-<hex>`, as a pushing client maintains it. */
export async function pushFallbackIndex(registryUrl: string, repository: string, subject: string, referrers: Descriptor[]): Promise<string> {
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: referrers }));
  return pushManifest(registryUrl, repository, subject.replace(':', '-'), body, OCI_INDEX);
}

export interface SigningKeyPair {
  privateKey: KeyObject;
  /** cosign.pub: the PEM public key a verifier (and Layover's requireSignature) is given. */
  publicKeyFile: string;
}

/** An ECDSA P-256 key pair, as `cosign generate-key-pair` makes (cosign signs with it; skopeo 1.9 here cannot: see below). */
export async function writeSigningKeyPair(dir: string, name = 'cosign'): Promise<SigningKeyPair> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKeyFile = join(dir, `${name}.pub`);
  await writeFile(publicKeyFile, publicKey.export({ format: 'pem', type: 'spki' }));
  return { privateKey, publicKeyFile };
}

/**
 * A cosign signature, the way cosign and skopeo write it (Debian's skopeo has
 * sigstore signing patched out, but verifies): the simple-signing payload
 * naming the manifest digest and the identity, signed with ECDSA P-256 over
 * SHA-256, as a layer of the `sha256-<hex>.sig` tag's manifest with the
 * signature in its annotation.
 */
export async function pushCosignSignature(
  registryUrl: string, repository: string,
  options: { subject: string; identity: string; privateKey: KeyObject; tamper?: boolean },
): Promise<{ manifestDigest: string; payloadDigest: string }> {
  const payload = Buffer.from(JSON.stringify({
    critical: { identity: { 'docker-reference': options.identity }, image: { 'docker-manifest-digest': options.subject }, type: 'cosign container image signature' },
    optional: null,
  }));
  let signature = sign('sha256', payload, options.privateKey);
  if (options.tamper) signature = Buffer.from(signature.map((byte, index) => (index === 10 ? byte ^ 0xff : byte)));
  const config = Buffer.from(JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [digestOf(payload)] } }));
  const configDigest = await pushBlob(registryUrl, repository, config);
  const payloadDigest = await pushBlob(registryUrl, repository, payload);
  const manifest = {
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: config.length, digest: configDigest },
    layers: [{
      mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', size: payload.length, digest: payloadDigest,
      annotations: { 'dev.cosignproject.cosign/signature': signature.toString('base64') },
    }],
  };
  const body = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = await pushManifest(registryUrl, repository, `${options.subject.replace(':', '-')}.sig`, body, OCI_MANIFEST);
  return { manifestDigest, payloadDigest };
}

export interface SignedUpstream {
  /** The signed image's tag and manifest. */
  signedTag: string;
  subject: Descriptor;
  /** An image with nothing attached. */
  unsignedTag: string;
  unsigned: Descriptor;
  /** The OCI artifacts with `subject`, by kind, as listed in the fallback index. */
  artifacts: Record<keyof typeof ARTIFACT_TYPES, { descriptor: Descriptor; body: Buffer; layerDigest: string; layerBytes: Buffer }>;
  /** cosign's `sha256-<hex>.sig` tag next to the signed image. */
  cosignSignature: { manifestDigest: string; payloadDigest: string };
  keys: SigningKeyPair;
}

/**
 * Fills a real registry: two sample images (one signed, one not); for the
 * signed one a cosign signature (its .sig tag), and a signature, an SBOM and
 * an attestation as OCI artifacts with `subject`, listed in the fallback
 * index under `sha256-<hex>` since distribution 2.8 has no referrers API.
 */
export async function fillSignedUpstream(registry: { url: string; host: string }, repository: string, work: string, identityHost: string, options: { tamper?: boolean } = {}): Promise<SignedUpstream> {
  const layout = await writeSampleLayout(join(work, 'layout'), [
    { tag: 'signed', layers: [{ size: 8192, seed: 'referrers-signed' }] },
    { tag: 'unsigned', layers: [{ size: 4096, seed: 'referrers-unsigned' }] },
  ]);
  const pushed = await pushSampleLayout(layout, { registryHost: registry.host, repository });
  const descriptorOf = (tag: string): Descriptor => {
    const sample = layout.tags.find((candidate) => candidate.tag === tag)!;
    return { mediaType: sample.mediaType, digest: pushed.get(tag)!, size: sample.size };
  };
  const subject = descriptorOf('signed');
  const keys = await writeSigningKeyPair(work);
  const cosignSignature = await pushCosignSignature(registry.url, repository, { subject: subject.digest, identity: `${identityHost}/${repository}:signed`, privateKey: keys.privateKey, ...(options.tamper ? { tamper: true } : {}) });
  const contents = {
    signature: { layerMediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', content: Buffer.from(`{"critical":{"image":{"docker-manifest-digest":"${subject.digest}"}}}`) },
    sbom: { layerMediaType: 'application/spdx+json', content: Buffer.from('{"spdxVersion":"SPDX-2.3","name":"layover-sample"}') },
    attestation: { layerMediaType: 'application/vnd.in-toto+json', content: Buffer.from('{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1"}') },
  };
  const artifacts = {} as SignedUpstream['artifacts'];
  for (const kind of Object.keys(ARTIFACT_TYPES) as Array<keyof typeof ARTIFACT_TYPES>) {
    const { layerMediaType, content } = contents[kind];
    const pushedArtifact = await pushArtifact(registry.url, repository, {
      subject, artifactType: ARTIFACT_TYPES[kind], layerMediaType, content, annotations: { 'org.opencontainers.image.created': '2026-12-01T00:00:00Z' },
    });
    artifacts[kind] = { ...pushedArtifact, layerBytes: content };
  }
  await pushFallbackIndex(registry.url, repository, subject.digest, Object.values(artifacts).map((artifact) => artifact.descriptor));
  return { signedTag: 'signed', subject, unsignedTag: 'unsigned', unsigned: descriptorOf('unsigned'), artifacts, cosignSignature, keys };
}

export interface SignedFixture {
  work: string;
  upstream: TestRegistry;
  /** Filled unless the fixture was asked not to (then the test fills it). */
  content: SignedUpstream;
  /** Runs at the end of the describe, before the upstream goes (Layovers, ...), latest first. */
  cleanup(stop: () => Promise<void>): void;
}

/**
 * The before/after every referrers test needs: a temp dir, a real
 * docker-registry filled by fillSignedUpstream, and whatever the test adds
 * to cleanup, all removed at the end (also when a test failed).
 */
export function useSignedUpstream(name: string, repository: string, options: { fill?: boolean } = {}): SignedFixture {
  const stops: Array<() => Promise<void>> = [];
  const fixture = { cleanup: (stop: () => Promise<void>) => void stops.push(stop) } as SignedFixture;
  before(async () => {
    fixture.work = await makeTempDir(name);
    fixture.upstream = await startRegistry({ name: `${name}-upstream` });
    if (options.fill !== false) fixture.content = await fillSignedUpstream(fixture.upstream, repository, fixture.work, fixture.upstream.host);
  });
  after(async () => {
    for (const stop of stops.reverse()) await stop();
    await fixture.upstream?.destroy();
    if (fixture.work) await removeTempDir(fixture.work);
  });
  return fixture;
}
