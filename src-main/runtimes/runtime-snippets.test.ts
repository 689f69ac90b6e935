import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { snippetsFor, writeSnippets } from './runtime-files.js';
import { containerdHostsTomls, podmanRegistriesConf, runtimeSnippets } from './runtime-snippets.js';

const REGISTRIES = ['docker.io', 'dtr.example.com'];

/** smol-toml builds null-prototype objects; plain ones compare with deepEqual. */
function parse(text: string): unknown {
  return JSON.parse(JSON.stringify(parseToml(text)));
}

test('registries.conf: one [[registry]] per registry with Layover as its mirror, insecure for a loopback HTTP mirror', () => {
  const snippet = podmanRegistriesConf({ mirror: '127.0.0.1:5050', registries: REGISTRIES });
  assert.equal(snippet.runtime, 'podman');
  assert.equal(snippet.path, '/etc/containers/registries.conf.d/50-layover.conf');
  assert.deepEqual(parse(snippet.content), {
    registry: [
      { prefix: 'docker.io', location: 'docker.io', mirror: [{ location: '127.0.0.1:5050', insecure: true }] },
      { prefix: 'dtr.example.com', location: 'dtr.example.com', mirror: [{ location: '127.0.0.1:5050/dtr.example.com', insecure: true }] },
    ],
  });
  assert.match(snippet.explanation, /registries\.conf\.d/);
});

test('registries.conf: an HTTPS mirror is never insecure, and plain HTTP across the network is refused', () => {
  const secure = parse(podmanRegistriesConf({ mirror: 'https://layover.office.example:5050', registries: ['dtr.example.com'] }).content);
  assert.deepEqual(secure, {
    registry: [{ prefix: 'dtr.example.com', location: 'dtr.example.com', mirror: [{ location: 'layover.office.example:5050/dtr.example.com' }] }],
  });
  assert.throws(() => podmanRegistriesConf({ mirror: 'layover.office.example:5050', registries: REGISTRIES }), /plain HTTP on the network/);
  assert.throws(() => podmanRegistriesConf({ mirror: '127.0.0.1:5050', registries: ['dtr.example.com:8443'] }), /cannot be named in a repository path/);
});

test('hosts.toml: the origin as server, Layover as a pull/resolve host, one file per registry', () => {
  const snippets = containerdHostsTomls({ mirror: '127.0.0.1:5050', registries: [...REGISTRIES, 'dtr.example.com:8443'] });
  assert.deepEqual(snippets.map((snippet) => snippet.path), [
    '/etc/containerd/certs.d/docker.io/hosts.toml',
    '/etc/containerd/certs.d/dtr.example.com/hosts.toml',
    '/etc/containerd/certs.d/dtr.example.com:8443/hosts.toml',
  ]);
  assert.deepEqual(snippets.map((snippet) => parse(snippet.content)), [
    { server: 'https://registry-1.docker.io', host: { 'http://127.0.0.1:5050': { capabilities: ['pull', 'resolve'] } } },
    { server: 'https://dtr.example.com', host: { 'http://127.0.0.1:5050': { capabilities: ['pull', 'resolve'] } } },
    { server: 'https://dtr.example.com:8443', host: { 'http://127.0.0.1:5050': { capabilities: ['pull', 'resolve'] } } },
  ]);
  assert.match(snippets[1]!.explanation, /\/etc\/docker\/certs\.d\/<registry>\/hosts\.toml/);
});

test('all snippets for the dashboard: a registry on a port is left out of the Podman file, with the reason', () => {
  const snippets = runtimeSnippets({ mirror: '127.0.0.1:5050', registries: ['dtr.example.com', 'dtr.example.com:8443'] });
  assert.deepEqual(snippets.map((snippet) => snippet.runtime), ['podman', 'containerd', 'containerd']);
  const podman = parse(snippets[0]!.content) as { registry: Array<{ prefix: string }> };
  assert.deepEqual(podman.registry.map((entry) => entry.prefix), ['dtr.example.com']);
  assert.match(snippets[0]!.explanation, /Not listed: dtr\.example\.com:8443/);
});

test('--out writes the files where asked, parses them back, and a rerun changes nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'layover-snippets-'));
  try {
    const hosts = await snippetsFor('containerd', { mirror: '127.0.0.1:5050', registries: REGISTRIES }, join(dir, 'certs.d'));
    const first = await writeSnippets(hosts);
    assert.deepEqual(first.map((file) => [file.path, file.changed]), [
      [join(dir, 'certs.d', 'docker.io', 'hosts.toml'), true],
      [join(dir, 'certs.d', 'dtr.example.com', 'hosts.toml'), true],
    ]);
    assert.deepEqual((await writeSnippets(hosts)).map((file) => file.changed), [false, false]);

    await writeFile(join(dir, '50-layover.conf'), '# an older hand-written file\n');
    const [podman] = await snippetsFor('podman', { mirror: '127.0.0.1:5050', registries: REGISTRIES }, `${dir}/`);
    const [written] = await writeSnippets([podman!]);
    assert.equal(written!.path, join(dir, '50-layover.conf'));
    assert.equal(await readFile(`${written!.path}.layover-backup`, 'utf8'), '# an older hand-written file\n');
    assert.deepEqual(parse(await readFile(written!.path, 'utf8')), parse(podman!.content));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
