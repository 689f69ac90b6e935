/**
 * "Serve only signed images" (requireSignature on a registry), against a real
 * docker-registry and pulled with skopeo: a signed image is served, an
 * unsigned one or one whose signature was tampered with is refused with
 * DENIED naming the missing signature, and the signatures themselves are
 * served so clients can verify. After a prefetch the policy holds with the
 * upstream stopped: the signed image still pulls, the unsigned one is still
 * refused.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { LayoverApi } from '../../src-main/api/layover-api.js';
import { get } from '../support/http.js';
import { startLayover, type LayoverUnderTest } from '../support/layover.js';
import { CommandError, makeTempDir, removeTempDir } from '../support/process.js';
import type { TestRegistry } from '../support/registry.js';
import { skopeoPull } from '../support/skopeo.js';
import { prefetchDone } from '../prefetch/support/jobs.js';
import { fillSignedUpstream, useSignedUpstream, type SignedUpstream } from './support.js';

const SIGNED_REPO = 'office/app';
const TAMPERED_REPO = 'office/tampered';
const ACCEPT = { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' };

async function requireSignature(api: LayoverApi, publicKey: string): Promise<void> {
  const settings = await api.getSettings();
  const registries = settings.registries.map((registry) => (registry.name === settings.defaultRegistry ? { ...registry, requireSignature: { publicKey } } : registry));
  await api.updateSettings({ registries });
}

async function pullError(reference: string): Promise<string> {
  try {
    const pulled = await skopeoPull({ reference });
    await removeTempDir(pulled.dir);
  } catch (error) {
    if (error instanceof CommandError) return error.message;
    throw error;
  }
  throw new Error(`skopeo pulled ${reference}, which the policy should refuse`);
}

describe('serve only signed images', () => {
  const fixture = useSignedUpstream('referrers-policy', SIGNED_REPO);
  let upstream: TestRegistry;
  let signed: SignedUpstream;
  let publicKey: string;
  let online: LayoverUnderTest;
  let prefetched: LayoverUnderTest;

  before(async () => {
    ({ upstream, content: signed } = fixture);
    await fillSignedUpstream(upstream, TAMPERED_REPO, await makeTempDir('tampered', fixture.work), upstream.host, { tamper: true });
    publicKey = await readFile(signed.keys.publicKeyFile, 'utf8');
    online = await startLayover({ upstream: upstream.url });
    fixture.cleanup(() => online.stop());
    await requireSignature(online.instance.api, publicKey);
    prefetched = await startLayover({ upstream: upstream.url });
    fixture.cleanup(() => prefetched.stop());
    await requireSignature(prefetched.instance.api, publicKey);
  });

  test('settings refuse a key that is not a PEM public key', async () => {
    await assert.rejects(requireSignature(online.instance.api, 'not a key'), /PEM public key/);
  });

  test('a signed image is served; unsigned and tampered ones are refused with DENIED naming the missing signature', async () => {
    const ok = await skopeoPull({ reference: `${online.host}/${SIGNED_REPO}:signed` });
    assert.equal(ok.digest, signed.subject.digest);
    await removeTempDir(ok.dir);
    const mark = await upstream.mark();
    assert.equal((await get(`${online.url}/v2/${SIGNED_REPO}/manifests/signed`, ACCEPT)).status, 200);
    assert.equal(await upstream.count({ since: mark }), 0, 'inside the freshness window a verified image asks the upstream nothing');

    const unsigned = await get(`${online.url}/v2/${SIGNED_REPO}/manifests/unsigned`, ACCEPT);
    assert.equal(unsigned.status, 403);
    const error = (JSON.parse(unsigned.body.toString('utf8')) as { errors: Array<{ code: string; message: string; detail: { missing: string } }> }).errors[0]!;
    assert.equal(error.code, 'DENIED');
    assert.match(error.message, new RegExp(`serves only signed images: ${SIGNED_REPO}@${signed.unsigned.digest} has no signature verifiable with the configured key \\(no signature is attached\\)`));
    assert.equal(error.detail.missing, `cosign signature of ${signed.unsigned.digest}`);
    assert.match(await pullError(`${online.host}/${SIGNED_REPO}:unsigned`), /serves only signed images/);
    // By digest too: the policy is on the manifest, not the tag.
    assert.equal((await get(`${online.url}/v2/${SIGNED_REPO}/manifests/${signed.unsigned.digest}`, ACCEPT)).status, 403);

    const forged = await get(`${online.url}/v2/${TAMPERED_REPO}/manifests/signed`, ACCEPT);
    assert.equal(forged.status, 403);
    assert.match(forged.body.toString('utf8'), /the one signature attached verifies|none of the \d+ signatures attached verifies/);
    assert.match(await pullError(`${online.host}/${TAMPERED_REPO}:signed`), /serves only signed images/);
  });

  test('signatures, SBOMs and attestations are served under the policy, so clients can verify', async () => {
    const sig = await get(`${online.url}/v2/${SIGNED_REPO}/manifests/${signed.subject.digest.replace(':', '-')}.sig`, ACCEPT);
    assert.equal(sig.status, 200);
    for (const artifact of Object.values(signed.artifacts)) {
      assert.equal((await get(`${online.url}/v2/${SIGNED_REPO}/manifests/${artifact.descriptor.digest}`, ACCEPT)).status, 200);
    }
    const referrers = await get(`${online.url}/v2/${SIGNED_REPO}/referrers/${signed.unsigned.digest}`);
    assert.equal(referrers.status, 200, 'the referrers API answers for any subject');
  });

  test('after a prefetch, with the upstream stopped, the signed image pulls and the unsigned one is still refused', async () => {
    await prefetchDone(prefetched.instance.api, { repository: SIGNED_REPO, tags: { kind: 'exact', tags: ['signed', 'unsigned'] }, platforms: 'all' });
    await upstream.stop();
    try {
      const pulled = await skopeoPull({ reference: `${prefetched.host}/${SIGNED_REPO}:signed` });
      assert.equal(pulled.digest, signed.subject.digest);
      await removeTempDir(pulled.dir);
      assert.match(await pullError(`${prefetched.host}/${SIGNED_REPO}:unsigned`), /serves only signed images/);
      const again = await get(`${online.url}/v2/${SIGNED_REPO}/manifests/signed`, ACCEPT);
      assert.equal(again.status, 200, 'the instance that verified online still serves the signed image offline');
    } finally {
      await upstream.start();
    }
  });
});

