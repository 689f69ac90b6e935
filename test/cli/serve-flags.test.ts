/**
 * Every `layover serve` flag the README calls a contract, parsed by the real
 * process (`node bin/layover.js serve …`, the compiled build): a bad value
 * ends in one line on stderr and a non-zero exit, before anything listens;
 * a good value takes effect where it can be seen (the ports, the upstream a
 * registry's access log shows asked, the certificate served, who /metrics
 * and the mirror let in).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { API_PREFIX, EVENTS_PATH } from '../../src-main/api/http-client.js';
import { initTls, tlsFiles } from '../../src-main/app/tls/certificates.js';
import { defaultSettings } from '../../src-main/app/settings.js';
import { OfficeKey, writeOfficeKeyFile } from '../../src-main/app/mesh-wiring.js';
import { get } from '../support/http.js';
import { adminClient, adminHeaders } from '../support/layover.js';
import { freePort, LOOPBACK } from '../support/ports.js';
import { makeTempDir, removeTempDir, runCommand, startProcess, type ManagedProcess } from '../support/process.js';
import { htpasswdLine, startRegistry, type TestRegistry } from '../support/registry.js';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'layover.js');
/** What commander prints under its own parse errors. */
const USAGE_HINT = '(run layover --help for usage)';
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

let work: string;
before(async () => {
  work = await makeTempDir('serve-flags');
});
after(async () => {
  if (work) await removeTempDir(work);
});

/**
 * Runs `layover serve ARGS` that must refuse to start and returns its one
 * line of error. Every run names its own data dir and port-0 addresses first,
 * so a value wrongly accepted never binds the default ports (the bad flag,
 * given after them, wins).
 */
async function refusal(args: string[]): Promise<string> {
  const safe = ['--data', join(work, 'refused'), '--listen', `${LOOPBACK}:0`, '--admin', `${LOOPBACK}:0`];
  const result = await runCommand(process.execPath, [CLI, 'serve', ...safe, ...args], { timeoutMs: 60_000 });
  const shown = `layover serve ${args.join(' ')}: exit ${result.code} ${result.signal ?? ''}\n${result.stderr}`;
  assert.ok(result.code !== null && result.code !== 0, `must exit non-zero: ${shown}`);
  const lines = result.stderr.trim().split('\n').filter((line) => line !== USAGE_HINT);
  assert.equal(lines.length, 1, `one line of error: ${shown}`);
  return lines[0]!;
}

/** How many refused starts run at once: each is a whole Node start-up, and the machine has two cores. */
const REFUSALS_AT_ONCE = 2;

/** Checks each bad value against the line it must print. */
async function refusesEach(cases: Array<[args: string[], line: string]>): Promise<void> {
  const queue = [...cases];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [args, line] = next;
      assert.equal(await refusal(args), line, `layover serve ${args.join(' ')}`);
    }
  };
  await Promise.all(Array.from({ length: REFUSALS_AT_ONCE }, worker));
}

interface Served {
  process: ManagedProcess;
  adminUrl: string;
  stop(): Promise<void>;
}

/**
 * `layover serve ARGS` as a long-running child, ready once it prints the
 * dashboard's login link: its last start-up line, after which SIGTERM is a
 * clean shutdown (the admin listener answers a moment earlier, while a
 * SIGTERM would still kill it outright).
 */
async function serve(args: string[], adminPort: number): Promise<Served> {
  const child = await startProcess({
    name: 'layover serve',
    command: process.execPath,
    args: [CLI, 'serve', ...args],
    logFile: join(work, `serve-${adminPort}.log`),
    ready: { kind: 'log', pattern: new RegExp(`"dashboard":"http://${LOOPBACK}:${adminPort}/login\\?code=`) },
  });
  return {
    process: child,
    adminUrl: `http://${LOOPBACK}:${adminPort}`,
    stop: async () => {
      const exit = await child.stop();
      assert.equal(exit.code, 0, `a clean shutdown:\n${child.tail()}`);
    },
  };
}

/** --data, --listen and --admin for a fresh instance of one test. */
async function placed(name: string) {
  const [port, adminPort] = [await freePort(), await freePort()];
  const dataDir = join(work, name);
  return { port, adminPort, dataDir, args: ['--data', dataDir, '--listen', `${LOOPBACK}:${port}`, '--admin', `${LOOPBACK}:${adminPort}`] };
}

async function status(url: string, headers: Record<string, string> = {}): Promise<number> {
  return (await get(url, headers)).status;
}

/** A port something else already holds, for the duration of fn. */
async function withPortTaken<T>(fn: (port: number) => Promise<T>): Promise<T> {
  const port = await freePort();
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(port, LOOPBACK, resolve));
  try {
    return await fn(port);
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
}

describe('bad values: one line on stderr, a non-zero exit', () => {
  test('an unknown flag, a flag without its value, and a value for a flag that takes none', async () => {
    await refusesEach([
      [['--bogus'], "error: unknown option '--bogus'"],
      [['--data'], "error: option '--data <dir>' argument missing"],
      [['--client-auth'], "error: option '--client-auth <mode...>' argument missing"],
      [['--metrics-public', 'yes'], "error: too many arguments for 'serve'. Expected 0 arguments but got 1."],
    ]);
  });

  test('--listen and --admin: not HOST:PORT, a port past 65535, a port in use', async () => {
    await refusesEach([
      [['--listen', 'nowhere'], 'layover: --listen expects HOST:PORT with a port up to 65535, e.g. 127.0.0.1:5050, got "nowhere"'],
      [['--listen', '127.0.0.1:99999'], 'layover: --listen expects HOST:PORT with a port up to 65535, e.g. 127.0.0.1:5050, got "127.0.0.1:99999"'],
      [['--admin', '127.0.0.1'], 'layover: --admin expects HOST:PORT with a port up to 65535, e.g. 127.0.0.1:5050, got "127.0.0.1"'],
      [['--admin', 'localhost:70000'], 'layover: --admin expects HOST:PORT with a port up to 65535, e.g. 127.0.0.1:5050, got "localhost:70000"'],
    ]);
    await withPortTaken(async (port) => {
      assert.equal(await refusal(['--admin', `${LOOPBACK}:${port}`]),
        `layover: admin address ${LOOPBACK}:${port} is already in use: stop what is listening there or choose another port`);
    });
  });

  test('--upstream and --registry: not an http(s) URL, no NAME=, no URL', async () => {
    await refusesEach([
      [['--upstream', 'ftp://x'], 'layover: --upstream expects an http:// or https:// URL, got "ftp://x"'],
      [['--upstream', 'registry.example.com'], 'layover: --upstream expects an http:// or https:// URL, got "registry.example.com"'],
      [['--registry', 'nourl'], 'layover: --registry expects NAME=URL[,URL...], got "nourl"'],
      [['--registry', '=http://127.0.0.1:1'], 'layover: --registry expects NAME=URL[,URL...], got "=http://127.0.0.1:1"'],
      [['--registry', 'dtr.example.com='], 'layover: --registry dtr.example.com names no URL'],
      [['--registry', 'dtr.example.com=http://127.0.0.1:1,ftp://x'], 'layover: --registry dtr.example.com expects an http:// or https:// URL, got "ftp://x"'],
      [['--registry', 'not a host=http://127.0.0.1:1'], 'layover: invalid settings in the command line: registries.1.name: a registry name is a host name, optionally with :port'],
    ]);
  });

  test('--config: not JSON, an invalid field, a directory', async () => {
    const dir = join(work, 'bad-config');
    await mkdir(dir, { recursive: true });
    const files = { notJson: join(dir, 'not-json.json'), badField: join(dir, 'bad-field.json'), unknownDefault: join(dir, 'unknown-default.json') };
    await writeFile(files.notJson, '{ "listen": ');
    await writeFile(files.badField, JSON.stringify({ ...defaultSettings(), tagFreshnessSeconds: -1 }));
    await writeFile(files.unknownDefault, JSON.stringify({ ...defaultSettings(), defaultRegistry: 'dtr.example.com' }));
    await refusesEach([
      [['--config', files.notJson], `layover: settings file ${files.notJson} is not valid JSON: Unexpected end of JSON input`],
      [['--config', files.badField], `layover: invalid settings in ${files.badField}: tagFreshnessSeconds: Too small: expected number to be >=0`],
      [['--config', files.unknownDefault], `layover: invalid settings in ${files.unknownDefault}: defaultRegistry: default registry dtr.example.com is not among the registries`],
      [['--config', dir], `layover: cannot read settings file ${dir}: EISDIR: illegal operation on a directory, read`],
    ]);
    assert.equal(await readFile(files.notJson, 'utf8'), '{ "listen": ', 'a refused settings file is left as it was');
  });

  test('--tls-cert and --tls-key: one without the other, a missing file, not PEM, a key of another certificate', async () => {
    const dir = join(work, 'bad-tls');
    const other = join(work, 'bad-tls-other');
    const [mine, theirs] = [tlsFiles(dir), tlsFiles(other)];
    await initTls(dir, ['127.0.0.1']);
    await initTls(other, ['127.0.0.1']);
    const garbage = join(dir, 'garbage.pem');
    await writeFile(garbage, 'not a certificate\n');
    const missing = join(dir, 'missing.pem');
    await refusesEach([
      [['--tls-cert', mine.serverCert], 'layover: --tls-cert and --tls-key go together'],
      [['--tls-key', mine.serverKey], 'layover: --tls-cert and --tls-key go together'],
      [['--tls-cert', missing, '--tls-key', mine.serverKey], `layover: the TLS certificate ${missing} (--tls-cert) cannot be read: ENOENT`],
      [['--tls-cert', mine.serverCert, '--tls-key', missing], `layover: the TLS key ${missing} (--tls-key) cannot be read: ENOENT`],
      [['--tls-cert', garbage, '--tls-key', mine.serverKey], `layover: the TLS certificate ${garbage} (--tls-cert) is not a PEM certificate`],
      [['--tls-cert', mine.serverCert, '--tls-key', mine.serverCert], `layover: the TLS key ${mine.serverCert} (--tls-key) is not an unencrypted PEM private key`],
      [['--tls-cert', mine.serverCert, '--tls-key', theirs.serverKey], `layover: the TLS key ${theirs.serverKey} (--tls-key) does not belong to the certificate ${mine.serverCert} (--tls-cert)`],
    ]);
  });

  test('--client-auth: an unknown mode, htpasswd without FILE or with a missing one, words after a mode', async () => {
    const missing = join(work, 'no-such-htpasswd');
    await refusesEach([
      [['--client-auth', 'everyone'], 'layover: --client-auth expects "upstream", "htpasswd FILE" or "none", got "everyone"'],
      [['--client-auth', 'htpasswd'], 'layover: --client-auth expects "upstream", "htpasswd FILE" or "none", got "htpasswd"'],
      [['--client-auth', 'none', 'extra'], 'layover: --client-auth expects "upstream", "htpasswd FILE" or "none", got "none extra"'],
      [['--client-auth', 'upstream', '/etc/passwd'], 'layover: --client-auth expects "upstream", "htpasswd FILE" or "none", got "upstream /etc/passwd"'],
      [['--client-auth', 'htpasswd', missing], `layover: the htpasswd file ${missing} (--client-auth htpasswd) cannot be read: ENOENT`],
    ]);
  });

  test('--metrics-token-file: a missing file, a token too short to guess-proof', async () => {
    const short = join(work, 'short-token');
    await writeFile(short, 'secret\n');
    const missing = join(work, 'no-such-token');
    await refusesEach([
      [['--metrics-token-file', missing], `layover: --metrics-token-file ${missing} cannot be read: ENOENT`],
      [['--metrics-token-file', short], `layover: --metrics-token-file ${short} must hold a token of at least 16 characters`],
    ]);
  });
});

describe('office mesh flags: bad values', () => {
  test('--mesh: a missing key, a key others can read; --peer and --mesh-listen without --mesh or not HOST:PORT', async () => {
    const missing = join(work, 'no-such.key');
    const open = join(work, 'open.key');
    await writeFile(open, `${JSON.stringify({ format: 'layover-office-key', code: OfficeKey.generate().toCode() })}\n`, { mode: 0o644 });
    const key = join(work, 'flags-office.key');
    await writeOfficeKeyFile(key, OfficeKey.generate());
    await refusesEach([
      [['--mesh', missing], `layover: the office key ${missing} cannot be read: ENOENT (--mesh)`],
      [['--mesh', open], `layover: the office key ${open} is readable by other users (mode 644): run chmod 600 ${open} (--mesh)`],
      [['--peer', '127.0.0.1:5052'], 'layover: --mesh-listen and --peer need --mesh FILE (the office key)'],
      [['--mesh', key, '--peer', 'nowhere'], 'layover: --peer expects HOST:PORT with a port up to 65535, e.g. 127.0.0.1:5050, got "nowhere"'],
      [['--mesh', key, '--mesh-listen', '127.0.0.1'], 'layover: --mesh-listen expects HOST:PORT with a port up to 65535, e.g. 127.0.0.1:5050, got "127.0.0.1"'],
    ]);
  });
});

describe('good values take effect', () => {
  let upstream: TestRegistry;
  let dtr: TestRegistry;

  before(async () => {
    upstream = await startRegistry({ name: 'flags-upstream' });
    dtr = await startRegistry({ name: 'flags-dtr' });
  });
  after(async () => {
    await upstream?.destroy();
    await dtr?.destroy();
  });

  /** Asks the mirror for a manifest and returns the registries that were asked for it: what the routing chose. */
  const askedFor = async (mirror: string, path: string): Promise<{ status: number; upstream: number; dtr: number }> => {
    const response = await get(`http://${mirror}${path}`);
    const repository = /\/v2\/(?:[^/]+\.[^/]+\/)?(.+)\/manifests\//.exec(path)![1]!;
    const filter = { pathIncludes: `/v2/${repository}/manifests/` };
    return { status: response.status, upstream: await upstream.count(filter), dtr: await dtr.count(filter) };
  };

  test('--data, --listen and --admin: the mirror and the API answer where told, the files go to DATA, /metrics is closed', async () => {
    const where = await placed('placed');
    const served = await serve([...where.args, '--upstream', upstream.url], where.adminPort);
    try {
      assert.equal(await status(`http://${LOOPBACK}:${where.port}/v2/`), 200, 'the mirror on --listen');
      const instance = JSON.parse(await readFile(join(where.dataDir, 'instance.json'), 'utf8')) as { mirrorAddress: string; adminUrl: string };
      assert.deepEqual(instance, { ...instance, mirrorAddress: `${LOOPBACK}:${where.port}`, adminUrl: served.adminUrl });
      assert.equal((await stat(where.dataDir)).mode & 0o777, 0o700, 'DATA is the owner\'s alone');
      const api = await adminClient(served);
      assert.equal((await api.getStatus()).mirrorAddress, `${LOOPBACK}:${where.port}`);
      assert.equal(await status(`${served.adminUrl}/metrics`), 401, 'without --metrics-public, /metrics needs a credential');
      assert.equal(await status(`${served.adminUrl}/metrics`, await adminHeaders(served)), 200);
    } finally {
      await served.stop();
    }
  });

  test('--upstream and --registry NAME=URL,URL: each registry is asked where its flag says, in order', async () => {
    const where = await placed('routing');
    const deadEndpoint = `http://${LOOPBACK}:${await freePort()}`;
    const served = await serve([...where.args, '--upstream', upstream.url, '--registry', `dtr.example.com=${deadEndpoint},${dtr.url}`], where.adminPort);
    try {
      const mirror = `${LOOPBACK}:${where.port}`;
      assert.deepEqual(await askedFor(mirror, '/v2/library/hub-probe/manifests/1'), { status: 404, upstream: 1, dtr: 0 }, 'a Docker Hub name goes to --upstream');
      const viaPath = await askedFor(mirror, '/v2/dtr.example.com/eng/path-probe/manifests/1');
      assert.deepEqual(viaPath, { status: 404, upstream: 0, dtr: 1 }, 'NAME/... goes to the registry, past its dead first endpoint');
      const viaNs = await askedFor(mirror, '/v2/eng/ns-probe/manifests/1?ns=dtr.example.com');
      assert.deepEqual(viaNs, { status: 404, upstream: 0, dtr: 1 }, '?ns=NAME goes there too');
    } finally {
      await served.stop();
    }
  });

  test('--config FILE: its settings are used and saved there; flags win for the run and are not saved', async () => {
    const [filePort, fileAdminPort, flagPort] = [await freePort(), await freePort(), await freePort()];
    const config = join(work, 'office', 'layover.json');
    const dataDir = join(work, 'config-data');
    await mkdir(join(work, 'office'), { recursive: true });
    await writeFile(config, JSON.stringify({
      ...defaultSettings(),
      listen: `${LOOPBACK}:${filePort}`, admin: `${LOOPBACK}:${fileAdminPort}`, tagFreshnessSeconds: 1234, firstRunDone: true,
      registries: [{ name: 'docker.io', endpoints: [{ url: upstream.url }] }],
    }));
    let served = await serve(['--data', dataDir, '--config', config], fileAdminPort);
    try {
      assert.equal(await status(`http://${LOOPBACK}:${filePort}/v2/`), 200, 'the mirror on the file\'s listen address');
      const api = await adminClient(served);
      assert.equal((await api.getSettings()).tagFreshnessSeconds, 1234);
      await api.updateSettings({ tagFreshnessSeconds: 42 });
      assert.equal((JSON.parse(await readFile(config, 'utf8')) as { tagFreshnessSeconds: number }).tagFreshnessSeconds, 42, 'a change is saved to FILE');
      await assert.rejects(stat(join(dataDir, 'settings.json')), 'and not to DATA/settings.json');
    } finally {
      await served.stop();
    }
    served = await serve(['--data', dataDir, '--config', config, '--listen', `${LOOPBACK}:${flagPort}`], fileAdminPort);
    try {
      assert.equal(await status(`http://${LOOPBACK}:${flagPort}/v2/`), 200, '--listen wins over the file');
      assert.equal((await (await adminClient(served)).getStatus()).mirrorAddress, `${LOOPBACK}:${flagPort}`);
      assert.equal((JSON.parse(await readFile(config, 'utf8')) as { listen: string }).listen, `${LOOPBACK}:${filePort}`, 'the flag is not saved');
    } finally {
      await served.stop();
    }
  });

  test('--tls-cert and --tls-key: the mirror speaks HTTPS with that certificate, and plain HTTP is refused', async () => {
    const dir = join(work, 'good-tls');
    const files = await initTls(dir, ['127.0.0.1']);
    const where = await placed('tls');
    const served = await serve([...where.args, '--upstream', upstream.url, '--tls-cert', files.serverCert, '--tls-key', files.serverKey], where.adminPort);
    const agent = new Agent({ connect: { ca: await readFile(files.caCert, 'utf8') } });
    try {
      assert.match((await (await adminClient(served)).getStatus()).mirrorUrl, new RegExp(`^https://${LOOPBACK}:${where.port}`));
      const response = await request(`https://${LOOPBACK}:${where.port}/v2/`, { dispatcher: agent });
      await response.body.dump();
      assert.equal(response.statusCode, 200, 'trusted through the CA that signed the given certificate');
      assert.equal(await servedCertificateSerial(LOOPBACK, where.port), new X509Certificate(await readFile(files.serverCert)).serialNumber, 'the certificate served is the one given');
      await assert.rejects(get(`http://${LOOPBACK}:${where.port}/v2/`), 'plain HTTP gets no answer');
    } finally {
      await agent.close();
      await served.stop();
    }
  });

  test('--client-auth htpasswd FILE: only the accounts in FILE may pull', async () => {
    const htpasswd = join(work, 'office.htpasswd');
    await writeFile(htpasswd, await htpasswdLine({ username: 'ana', password: 'right-password' }));
    const where = await placed('htpasswd');
    const served = await serve([...where.args, '--upstream', upstream.url, '--client-auth', 'htpasswd', htpasswd], where.adminPort);
    try {
      const v2 = `http://${LOOPBACK}:${where.port}/v2/`;
      const anonymous = await get(v2);
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.headers['www-authenticate'], 'Basic realm="Layover"');
      assert.equal(await status(v2, basic('ana', 'wrong-password')), 401);
      assert.equal(await status(v2, basic('ana', 'right-password')), 200);
    } finally {
      await served.stop();
    }
  });

  test('--client-auth upstream: a pull needs what the upstream needs; --client-auth none overrides a settings file that asks for more', async () => {
    const account = { username: 'ci', password: 'ci-password' };
    const guarded = await startRegistry({ name: 'flags-guarded', auth: account });
    const where = await placed('client-auth');
    // Layover's own credentials for the upstream are in its settings; the clients bring theirs.
    await mkdir(where.dataDir, { recursive: true });
    await writeFile(join(where.dataDir, 'settings.json'), JSON.stringify({
      ...defaultSettings(), firstRunDone: true, clientAuth: { mode: 'upstream' },
      registries: [{ name: 'docker.io', endpoints: [{ url: guarded.url, ...account }] }],
    }));
    const manifest = `http://${LOOPBACK}:${where.port}/v2/library/guarded-probe/manifests/1`;
    try {
      let served = await serve([...where.args, '--client-auth', 'upstream'], where.adminPort);
      try {
        assert.equal(await status(manifest), 401, 'anonymous: the upstream wants credentials');
        assert.equal(await status(manifest, basic('ci', 'wrong')), 401);
        assert.equal(await status(manifest, basic('ci', 'ci-password')), 404, 'the upstream\'s own answer, past the check');
      } finally {
        await served.stop();
      }
      served = await serve([...where.args, '--client-auth', 'none'], where.adminPort);
      try {
        assert.equal(await status(manifest), 404, 'anonymous clients pass, though the settings file says upstream');
      } finally {
        await served.stop();
      }
    } finally {
      await guarded.destroy();
    }
  });

  test('--metrics-public opens /metrics alone: the API and the event stream stay closed', async () => {
    const where = await placed('metrics-public');
    const served = await serve([...where.args, '--upstream', upstream.url, '--metrics-public'], where.adminPort);
    try {
      const metrics = await get(`${served.adminUrl}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(metrics.body.toString('utf8'), /^layover_cache_misses_total \d+$/m);
      assert.equal((await callApi(served, 'getSettings')).status, 401);
      assert.equal(await status(`${served.adminUrl}${EVENTS_PATH}`), 401);
    } finally {
      await served.stop();
    }
  });

  test('--metrics-token-file opens /metrics to that token, and nothing else to it', async () => {
    const token = 'metrics-token-for-prometheus-0123456789';
    const tokenFile = join(work, 'metrics.token');
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    const where = await placed('metrics-token');
    const served = await serve([...where.args, '--upstream', upstream.url, '--metrics-token-file', tokenFile], where.adminPort);
    try {
      const bearer = (value: string) => ({ authorization: `Bearer ${value}` });
      assert.equal(await status(`${served.adminUrl}/metrics`, bearer(token)), 200);
      assert.equal(await status(`${served.adminUrl}/metrics`), 401);
      assert.equal(await status(`${served.adminUrl}/metrics`, bearer(`${token}x`)), 401);
      assert.equal((await callApi(served, 'getSettings', bearer(token))).status, 401, 'the metrics token is not an admin token');
      assert.equal((await callApi(served, 'getSettings', await adminHeaders(served))).status, 200);
    } finally {
      await served.stop();
    }
  });
});

/** The serial number of the certificate a TLS server presents. */
function servedCertificateSerial(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host, port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerX509Certificate()?.serialNumber ?? '(none)');
      socket.end();
    });
    socket.once('error', reject);
  });
}

/** POSTs an API call as JSON with only the given headers (none: no credential at all). */
async function callApi(served: Served, method: string, headers: Record<string, string> = {}) {
  const response = await request(`${served.adminUrl}${API_PREFIX}/call/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: '{}',
  });
  await response.body.dump();
  return { status: response.statusCode };
}
