import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as SigstoreBundle from '@sigstore/bundle';
import type * as SigstoreVerify from '@sigstore/verify';
import { OciError } from '../oci/errors.js';
import { INDEX_MEDIA_TYPES } from '../oci/media-types.js';
import { attachmentKind, isAttachmentTag, referrersTagOf } from '../oci/referrers.js';
import type { BlobStore } from '../store/blob-store.js';
import type { RegistryClient } from '../upstream/registry-client.js';
import { isUpstreamOutage } from '../upstream/upstream-errors.js';
import type { BlobFetcher } from './blob-fetcher.js';
import type { Manifest, ManifestFetcher } from './manifest-fetcher.js';
import type { ReferrersFetcher } from './referrers.js';

/** cosign's simple-signing layer and the annotation carrying its signature. */
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
const IMAGE_CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);
/** Keeps the in-memory record of children admitted through a signed index bounded. */
const MAX_ADMITTED_CHILDREN = 10_000;
const KEY_HINT = 'layover-require-signature';

export interface SignatureRequest {
  client: RegistryClient;
  repository: string;
  /** The reference the client asked for (a tag or digest). */
  reference: string;
}

/**
 * "Serve only signed images" for a registry: a manifest is served only if a
 * cosign signature of its digest (the `sha256-<hex>.sig` tag, or an OCI
 * referrer with cosign's signature artifact type) verifies with the
 * configured public key. Signatures are read through the cache (referrers
 * cached like tags, served stale offline; manifests and payload blobs from
 * the store), so the policy holds with the upstream down. Verification is
 * sigstore-js's (@sigstore/verify) with the key as its trust material.
 * Platform images under a signed index are admitted with it; attachments
 * (signatures, SBOMs) are served so clients can verify.
 */
export class SignaturePolicy {
  private readonly admittedChildren = new Set<string>();
  /** Subjects verified lately, so a pull does not ask for their signatures each time; checked again after the freshness window. */
  private readonly verified = new Map<string, { key: KeyObject; at: number }>();

  constructor(
    private readonly deps: { manifests: ManifestFetcher; referrers: ReferrersFetcher; blobs: BlobFetcher; store: BlobStore },
    /** The public key a registry's images must be signed with; undefined: the registry has no such policy. */
    private readonly keyOf: (registry: string) => KeyObject | undefined,
    private readonly freshnessMs: () => number,
  ) {}

  /** Throws DENIED naming the missing signature unless the manifest may be served. */
  async admit(req: SignatureRequest, manifest: Manifest): Promise<void> {
    const key = this.keyOf(req.client.name);
    if (!key || this.isAttachment(req.reference, manifest) || this.admittedChildren.has(manifest.digest)) return;
    const found = await this.verifiedSignature(req, manifest.digest, key);
    if (!found.verified) {
      throw new OciError(403, 'DENIED', `${req.client.name} serves only signed images: ${req.repository}@${manifest.digest} has no signature verifiable with the configured key (${found.reason})`, {}, {
        missing: `cosign signature of ${manifest.digest}`, looked: [`${req.repository}:${referrersTagOf(manifest.digest)}.sig`, `referrers of ${manifest.digest}`],
      });
    }
    if (INDEX_MEDIA_TYPES.includes(manifest.mediaType)) this.admitChildren(manifest);
  }

  /** A signature, SBOM or attestation a client reads to verify: served, never checked itself. */
  private isAttachment(reference: string, manifest: Manifest): boolean {
    if (isAttachmentTag(reference)) return true;
    try {
      const parsed = JSON.parse(manifest.body.toString('utf8')) as { subject?: unknown; config?: { mediaType?: string } };
      return parsed.subject !== undefined && !IMAGE_CONFIG_TYPES.has(parsed.config?.mediaType ?? '');
    } catch {
      return false;
    }
  }

  private admitChildren(index: Manifest): void {
    const parsed = JSON.parse(index.body.toString('utf8')) as { manifests?: Array<{ digest?: unknown }> };
    if (this.admittedChildren.size > MAX_ADMITTED_CHILDREN) this.admittedChildren.clear();
    for (const entry of parsed.manifests ?? []) if (typeof entry.digest === 'string') this.admittedChildren.add(entry.digest);
  }

  private async verifiedSignature(req: SignatureRequest, subject: string, key: KeyObject): Promise<{ verified: boolean; reason: string }> {
    const memo = `${req.client.name}/${req.repository}@${subject}`;
    const verifiedAt = this.verified.get(memo);
    if (verifiedAt !== undefined && verifiedAt.key.equals(key) && Date.now() - verifiedAt.at < this.freshnessMs()) return { verified: true, reason: '' };
    const signatures = await this.signatureManifests(req, subject);
    if (signatures.length === 0) return { verified: false, reason: 'no signature is attached' };
    for (const signature of signatures) {
      if (await this.verifiesWith(req, signature, subject, key)) {
        if (this.verified.size > MAX_ADMITTED_CHILDREN) this.verified.clear();
        this.verified.set(memo, { key, at: Date.now() });
        return { verified: true, reason: '' };
      }
    }
    return { verified: false, reason: `${signatures.length === 1 ? 'the one signature' : `none of the ${signatures.length} signatures`} attached verifies` };
  }

  /**
   * The digests of the subject's signature manifests: referrers of a
   * signature type (cached like tags, stale when the upstream is out) and
   * cosign's `.sig` tag (cached like any tag).
   */
  private async signatureManifests(req: SignatureRequest, subject: string): Promise<string[]> {
    const found: string[] = [];
    try {
      const referrers = await this.deps.referrers.get({ client: req.client, repository: req.repository, subject });
      found.push(...referrers.descriptors.filter((descriptor) => attachmentKind(descriptor) === 'signature').map((descriptor) => descriptor.digest));
    } catch (error) {
      if (!isUpstreamOutage(error)) throw error; // offline and never asked: only the .sig tag can tell
    }
    try {
      const tag = await this.deps.manifests.get({ client: req.client, repository: req.repository, reference: `${referrersTagOf(subject)}.sig` });
      if (!found.includes(tag.digest)) found.push(tag.digest);
    } catch (error) {
      if (!(error instanceof OciError && error.status === 404) && !isUpstreamOutage(error)) throw error;
    }
    return found;
  }

  /** One cosign signature manifest: some simple-signing layer names the subject and its signature verifies. */
  private async verifiesWith(req: SignatureRequest, signatureDigest: string, subject: string, key: KeyObject): Promise<boolean> {
    const manifest = await this.deps.manifests.get({ client: req.client, repository: req.repository, reference: signatureDigest }).catch(() => undefined);
    if (!manifest) return false;
    const parsed = JSON.parse(manifest.body.toString('utf8')) as { layers?: Array<{ mediaType?: string; digest?: string; annotations?: Record<string, string> }> };
    for (const layer of parsed.layers ?? []) {
      const signature = layer.annotations?.[SIGNATURE_ANNOTATION];
      if (layer.mediaType !== SIMPLE_SIGNING || !signature || !layer.digest) continue;
      const payload = await this.payload(req, layer.digest);
      if (payload && namesSubject(payload, subject) && verifySimpleSigning(payload, Buffer.from(signature, 'base64'), key)) return true;
    }
    return false;
  }

  /** A payload blob, through the one blob pipeline (verified by digest, stored, read from the store offline). */
  private async payload(req: SignatureRequest, digest: string): Promise<Buffer | undefined> {
    try {
      const source = await this.deps.blobs.open({ client: req.client, repository: req.repository, digest, kind: 'pull' });
      await source.complete();
      return await this.deps.store.read(digest);
    } catch {
      return undefined;
    }
  }
}

function namesSubject(payload: Buffer, subject: string): boolean {
  try {
    const claims = JSON.parse(payload.toString('utf8')) as { critical?: { image?: { 'docker-manifest-digest'?: unknown } } };
    return claims.critical?.image?.['docker-manifest-digest'] === subject;
  } catch {
    return false;
  }
}

/**
 * sigstore-js (about 11 MiB once loaded), required with the first signature checked: an idle
 * `layover serve`, and every Layover without `requireSignature`, never carries it.
 */
function loadSigstore(): Pick<typeof SigstoreBundle, 'bundleFromJSON'> & Pick<typeof SigstoreVerify, 'toSignedEntity' | 'toTrustMaterial' | 'Verifier'> {
  const require = createRequire(import.meta.url);
  const { bundleFromJSON } = require('@sigstore/bundle') as typeof SigstoreBundle;
  const { toSignedEntity, toTrustMaterial, Verifier } = require('@sigstore/verify') as typeof SigstoreVerify;
  return { bundleFromJSON, toSignedEntity, toTrustMaterial, Verifier };
}

/**
 * A cosign key-pair signature over the simple-signing payload, checked by
 * sigstore-js: the payload and signature as a sigstore message-signature
 * bundle, the configured key as the only trust material (no transparency log
 * or timestamp: a key pair has none, and the check must work offline).
 */
export function verifySimpleSigning(payload: Buffer, signature: Buffer, key: KeyObject): boolean {
  const { bundleFromJSON, toSignedEntity, toTrustMaterial, Verifier } = loadSigstore();
  try {
    const bundle = bundleFromJSON({
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { publicKey: { hint: KEY_HINT }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
      messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(payload).digest('base64') }, signature: signature.toString('base64') },
    });
    const trust = toTrustMaterial(
      { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] },
      (hint) => {
        if (hint !== KEY_HINT) throw new Error(`unknown key ${hint}`);
        return { publicKey: key, validFor: () => true }; // a key pair has no validity window; the settings say when it changes
      },
    );
    new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundle, payload));
    return true;
  } catch {
    return false;
  }
}

/** The configured key: PEM text, or refused with what is wrong. */
export function parsePublicKey(pem: string): KeyObject {
  try {
    return createPublicKey(pem);
  } catch (error) {
    throw new Error(`requireSignature.publicKey is not a PEM public key (cosign.pub): ${(error as Error).message}`);
  }
}
