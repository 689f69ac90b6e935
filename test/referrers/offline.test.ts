/**
 * An office that prefetched overnight verifies in the morning with the link
 * down. A prefetch rule (referrers on by default) takes along each tag's
 * signatures, attestations and SBOMs — the OCI artifacts with `subject`
 * listed by the tag-schema fallback, and cosign's `sha256-<hex>.sig` tag —
 * with their blobs. Then the real upstream (Debian's docker-registry) is
 * stopped and a client verifies through Layover the way cosign does with a
 * key: the `.sig` tag's simple-signing payload names the image digest and its
 * ECDSA signature checks against the public key. skopeo fetches the image and
 * the signature tag offline too. (Debian's skopeo 1.9 and podman are built
 * with sigstore patched out — "Debian-local change: sigstore disabled" — so
 * neither can run the sigstoreSigned policy itself; see README.)
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { PrefetchRule } from '../../src-main/api/types.js';
import { get, sha256 } from '../support/http.js';
import { removeTempDir, runCommand } from '../support/process.js';
import type { TestRegistry } from '../support/registry.js';
import { skopeoPull } from '../support/skopeo.js';
import { waitForJob } from '../prefetch/support/jobs.js';
import { startPrefetchLayover, type PrefetchLayover } from '../prefetch/support/wiring.js';
import { fillSignedUpstream, useSignedUpstream, type SignedUpstream } from './support.js';

const REPOSITORY = 'office/app';

interface CosignManifest {
  layers: Array<{ digest: string; mediaType: string; annotations: Record<string, string> }>;
}

/** What `cosign verify --key` checks, read through Layover: a payload naming this digest, signed by this key. */
async function verifyCosignSignature(mirrorUrl: string, subject: string, publicKeyPem: string): Promise<{ verified: boolean; reason?: string }> {
  const sig = await get(`${mirrorUrl}/v2/${REPOSITORY}/manifests/${subject.replace(':', '-')}.sig`, { accept: 'application/vnd.oci.image.manifest.v1+json' });
  if (sig.status !== 200) return { verified: false, reason: `no signature tag (HTTP ${sig.status})` };
  const manifest = JSON.parse(sig.body.toString('utf8')) as CosignManifest;
  for (const layer of manifest.layers) {
    const payload = await get(`${mirrorUrl}/v2/${REPOSITORY}/blobs/${layer.digest}`);
    if (payload.status !== 200 || sha256(payload.body) !== layer.digest) continue;
    const claims = JSON.parse(payload.body.toString('utf8')) as { critical: { image: { 'docker-manifest-digest': string } } };
    const signature = Buffer.from(layer.annotations['dev.cosignproject.cosign/signature'] ?? '', 'base64');
    if (claims.critical.image['docker-manifest-digest'] === subject && verify('sha256', payload.body, createPublicKey(publicKeyPem), signature)) return { verified: true };
  }
  return { verified: false, reason: 'no layer carries a valid signature for this digest' };
}

describe('signatures prefetched, then verified with the upstream stopped', () => {
  const fixture = useSignedUpstream('referrers-offline', REPOSITORY);
  let upstream: TestRegistry;
  let content: SignedUpstream;
  let layover: PrefetchLayover;
  let publicKeyPem: string;

  before(async () => {
    ({ upstream, content } = fixture);
    publicKeyPem = await readFile(content.keys.publicKeyFile, 'utf8');
    layover = await startPrefetchLayover({ upstream: upstream.url });
    fixture.cleanup(() => layover.stop());
  });

  test('a rule (referrers on by default) fetches each tag\'s attachments and their blobs; the job and the tag state count them', async () => {
    const rule: PrefetchRule = {
      id: 'office-app', registry: 'docker.io', repository: REPOSITORY, tags: { kind: 'exact', tags: ['signed', 'unsigned'] },
      platforms: 'all', schedule: { kind: 'now' }, enabled: true,
    };
    await layover.api.saveRule(rule);
    const [job] = await layover.api.syncNow({ ruleId: rule.id });
    assert.ok(job, 'the rule started a job');
    const finished = await waitForJob(layover.api, job.id);
    assert.equal(finished.state, 'done', finished.error);
    assert.equal(finished.attachments, 4, 'signature, SBOM and attestation artifacts, and cosign\'s .sig tag');

    const artifactBlobs = Object.values(content.artifacts).map((artifact) => artifact.layerDigest);
    const mark = await upstream.mark();
    for (const digest of [...artifactBlobs, content.cosignSignature.payloadDigest]) {
      const blob = await get(`${layover.url}/v2/${REPOSITORY}/blobs/${digest}`);
      assert.equal(blob.headers['x-layover-cache'], 'hit', `${digest} was prefetched`);
    }
    assert.equal(await upstream.count({ since: mark, pathIncludes: '/blobs/' }), 0);

    const tags = await layover.api.listTags({ registry: 'docker.io', repository: REPOSITORY });
    const signed = tags.find((tag) => tag.tag === 'signed')!;
    assert.deepEqual(signed.attachments, { signatures: 2, attestations: 1, sboms: 1, other: 0, cached: 4 });
    const unsigned = tags.find((tag) => tag.tag === 'unsigned')!;
    assert.deepEqual(unsigned.attachments, { signatures: 0, attestations: 0, sboms: 0, other: 0, cached: 0 });
    const attachmentTags = tags.filter((tag) => tag.tag.startsWith(content.subject.digest.replace(':', '-')));
    assert.equal(attachmentTags.length, 2, 'the fallback index and cosign\'s .sig are tags upstream');
    for (const tag of attachmentTags) assert.equal(tag.attachments, undefined, `${tag.tag} holds attachments: it is not shown as an unsigned image`);
 
    // `layover prefetch` (the real command line, from source, as its own process) prints the same per tag.
    const cli = await runCommand(process.execPath, [
      '--import', 'tsx', '--input-type=module', '-e', "const { main } = await import('./src-main/cli/main.ts'); await main([process.argv[0], 'layover', ...process.argv.slice(1)]);",
      'prefetch', REPOSITORY, '--tags', 'signed,unsigned', '--admin', layover.instance.adminUrl!,
    ], { env: { ...process.env }, timeoutMs: 60_000 });
    assert.equal(cli.code, 0, cli.stderr);
    const lines = cli.stdout.trim().split('\n');
    assert.ok(lines.includes(`${REPOSITORY} signed: signed, 2 signatures, 1 attestation, 1 SBOM (all 4 cached)`), cli.stdout);
    assert.ok(lines.includes(`${REPOSITORY} unsigned: unsigned`), cli.stdout);
    assert.match(lines.at(-1)!, /are in the cache$/);
  });

  test('upstream stopped: the signature verifies through Layover, referrers and every attachment are served, skopeo copies image and signature', async () => {
    const online = await verifyCosignSignature(layover.url, content.subject.digest, publicKeyPem);
    assert.ok(online.verified, online.reason);
    await upstream.stop();
    try {
      const offline = await verifyCosignSignature(layover.url, content.subject.digest, publicKeyPem);
      assert.ok(offline.verified, offline.reason);
      const unsigned = await verifyCosignSignature(layover.url, content.unsigned.digest, publicKeyPem);
      assert.equal(unsigned.verified, false, 'an unsigned image does not verify');

      const referrers = await get(`${layover.url}/v2/${REPOSITORY}/referrers/${content.subject.digest}`);
      assert.equal(referrers.status, 200);
      const index = JSON.parse(referrers.body.toString('utf8')) as { manifests: Array<{ digest: string }> };
      assert.equal(index.manifests.length, 3);
      for (const artifact of Object.values(content.artifacts)) {
        const manifest = await get(`${layover.url}/v2/${REPOSITORY}/manifests/${artifact.descriptor.digest}`);
        assert.deepEqual(manifest.body, artifact.body);
        const layer = await get(`${layover.url}/v2/${REPOSITORY}/blobs/${artifact.layerDigest}`);
        assert.deepEqual(layer.body, artifact.layerBytes);
      }

      const image = await skopeoPull({ reference: `${layover.host}/${REPOSITORY}:signed` });
      assert.equal(image.digest, content.subject.digest);
      const signature = await skopeoPull({ reference: `${layover.host}/${REPOSITORY}:${content.subject.digest.replace(':', '-')}.sig` });
      assert.equal(signature.digest, content.cosignSignature.manifestDigest);
      await removeTempDir(image.dir);
      await removeTempDir(signature.dir);
    } finally {
      await upstream.start();
    }
  });
});

describe('a rule with referrers: false leaves attachments upstream', () => {
  const fixture = useSignedUpstream('referrers-off', REPOSITORY);
  let layover: PrefetchLayover;

  before(async () => {
    layover = await startPrefetchLayover({ upstream: fixture.upstream.url });
    fixture.cleanup(() => layover.stop());
  });

  test('the job counts no attachments, asks no referrers, and fetches no artifact blob', async () => {
    const { upstream, content } = fixture;
    const mark = await upstream.mark();
    await layover.api.saveRule({
      id: 'no-referrers', registry: 'docker.io', repository: REPOSITORY, tags: { kind: 'exact', tags: ['signed'] },
      platforms: 'all', schedule: { kind: 'now' }, enabled: true, referrers: false,
    });
    const [job] = await layover.api.syncNow({ ruleId: 'no-referrers' });
    const finished = await waitForJob(layover.api, job!.id);
    assert.equal(finished.state, 'done', finished.error);
    assert.equal(finished.attachments, 0);
    assert.equal(await upstream.count({ since: mark, pathIncludes: '/referrers/' }), 0);
    assert.equal(await upstream.count({ since: mark, pathIncludes: content.subject.digest.replace(':', '-') }), 0, 'no fallback index or cosign tag asked');
    for (const artifact of Object.values(content.artifacts)) {
      assert.equal(await upstream.count({ since: mark, pathIncludes: artifact.layerDigest }), 0);
    }
  });
});

describe('a tampered signature does not verify', () => {
  const fixture = useSignedUpstream('referrers-tampered', REPOSITORY, { fill: false });
  let layover: PrefetchLayover;

  before(async () => {
    layover = await startPrefetchLayover({ upstream: fixture.upstream.url });
    fixture.cleanup(() => layover.stop());
  });

  test('the bytes Layover serves are the upstream\'s: a tampered signature fails verification through it', async () => {
    const content = await fillSignedUpstream(fixture.upstream, REPOSITORY, fixture.work, fixture.upstream.host, { tamper: true });
    const result = await verifyCosignSignature(layover.url, content.subject.digest, await readFile(content.keys.publicKeyFile, 'utf8'));
    assert.equal(result.verified, false);
    assert.match(result.reason ?? '', /no layer carries a valid signature/);
  });
});

