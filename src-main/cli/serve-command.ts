import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { pino } from 'pino';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { ClientAuthSettings, RegistrySettings, Settings, TlsSettings } from '../api/types.js';
import { isLoopback, parseHostPort } from '../app/listen.js';
import { tlsFiles } from '../app/tls/certificates.js';
import { startHeadless } from '../app/headless.js';
import { defaultDataDir } from '../app/instance.js';
import { prepareDataDir, reportTightened } from '../app/layover.js';
import { FileSettingsStore } from '../app/settings-store.js';
import { parseSettings } from '../app/settings.js';
import { CliError } from './errors.js';
import { readOfficeKeyFile } from '../app/mesh-wiring.js';
import { splitEndpointUrl } from '../core/upstream/endpoint-prefix.js';

interface ServeFlags {
  data?: string;
  listen?: string;
  admin?: string;
  upstream?: string;
  registry: string[];
  config?: string;
  tlsCert?: string;
  tlsKey?: string;
  clientAuth?: string[];
  metricsPublic?: boolean;
  metricsTokenFile?: string;
  mesh?: string;
  meshListen?: string;
  peer?: string[];
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the mirror and the dashboard headless (an office server, or a laptop without the tray)')
    .option('--data <dir>', 'data directory for the cache and settings (default: the per-user application data folder)')
    .option('--listen <host:port>', 'mirror address Docker pulls from (default 127.0.0.1:5050)')
    .option('--upstream <url>', 'endpoint of the default registry (default https://registry-1.docker.io)')
    .option('--registry <name=url[,url...]>', 'a further registry, reached as NAME/... or ?ns=NAME; several URLs are tried in order (repeatable); a path after a URL\'s host is that endpoint\'s repository prefix (https://msr.example.com/hub-proxy/ for a Harbor/MSR 4 proxy project)', collect, [])
    .option('--admin <host:port>', 'dashboard and control API address (default 127.0.0.1:5051)')
    .option('--config <file>', 'settings file (default: settings.json in the data directory)')
    .option('--tls-cert <file>', 'PEM certificate (chain) for the mirror; required beyond loopback (see `layover tls init`)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--client-auth <mode...>', 'who may pull: "upstream" (clients\' own registry credentials, checked upstream), "htpasswd FILE", or "none"')
    .option('--metrics-public', 'open /metrics (and nothing else) to anyone who reaches the admin address, e.g. a Prometheus scraper')
    .option('--metrics-token-file <file>', 'a file holding a token that opens /metrics alone (Prometheus: authorization.credentials_file)')
    .option('--mesh <file>', 'join the office mesh with this office key (see `layover mesh init`): Layovers on the LAN share layers')
    .option('--mesh-listen <host:port>', 'where the mesh listener answers members (default: port 5052 on the LAN interfaces\' addresses)')
    .option('--peer <host:port>', 'a mesh peer to ask even where multicast is blocked (repeatable)', collect, [])
    .action(async (flags: ServeFlags) => serve(flags));
}

async function readMetricsToken(file: string): Promise<string> {
  const token = (await readFile(resolve(file), 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`--metrics-token-file ${file} cannot be read: ${error.code ?? error.message}`);
  })).trim();
  if (token.length < 16) throw new CliError(`--metrics-token-file ${file} must hold a token of at least 16 characters`);
  return token;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function serve(flags: ServeFlags): Promise<void> {
  const dataDir = resolve(flags.data ?? defaultDataDir());
  const settingsPath = flags.config ? resolve(flags.config) : join(dataDir, 'settings.json');
  const store = new FileSettingsStore(settingsPath);
  let settings: Settings;
  let tightened: string[];
  try {
    tightened = await prepareDataDir(dataDir);
    settings = withDefaultTls(applyFlags(await store.load(), flags), dataDir);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  await checkNamedFiles(settings);
  const metricsToken = flags.metricsTokenFile ? await readMetricsToken(flags.metricsTokenFile) : undefined;
  const logger = pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
  reportTightened(logger, tightened);
  // Whatever the process writes (blobs, index, settings, tokens) is its owner's alone.
  process.umask(0o077);
  // Listening for a stop before start-up begins: a SIGTERM while the store opens, the index imports or the
  // listeners bind lets start-up finish its step and then stops what it started, instead of dying half-way.
  const stopAsked = new Promise<string>((asked) => {
    process.once('SIGINT', asked);
    process.once('SIGTERM', asked);
  });
  let started = false;
  void stopAsked.then((signal) => {
    if (!started) logger.info({ signal }, 'stop asked during start-up: stopping once what has started can be stopped');
  });
  let instance;
  try {
    instance = await startHeadless({
      dataDir, settings, logger, settingsStore: store, announce: true,
      metricsPublic: Boolean(flags.metricsPublic), ...(metricsToken ? { metricsToken } : {}),
    });
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  started = true;
  logger.info({ dashboard: instance.dashboardLoginUrl() }, 'open the dashboard with this one-time link (`layover dashboard` prints a fresh one)');
  const signal = await stopAsked;
  logger.info({ signal }, 'shutting down');
  await instance.stop().catch((error: unknown) => logger.error({ err: error }, 'unclean shutdown'));
}

/** The files the settings name are read at start: a wrong path or a broken file is one line naming it, not a failure at the first pull. */
async function checkNamedFiles(settings: Settings): Promise<void> {
  if (settings.tls) await checkTlsPair(settings.tls);
  if (settings.clientAuth?.mode === 'htpasswd') await readNamedFile(settings.clientAuth.file, 'the htpasswd file', '--client-auth htpasswd');
  if (settings.mesh?.enabled && settings.mesh.keyFile) {
    await readOfficeKeyFile(settings.mesh.keyFile).catch((error: Error) => {
      throw new CliError(`${error.message} (--mesh)`);
    });
  }
}

async function checkTlsPair({ certFile, keyFile }: TlsSettings): Promise<void> {
  const cert = await readNamedFile(certFile, 'the TLS certificate', '--tls-cert');
  const key = await readNamedFile(keyFile, 'the TLS key', '--tls-key');
  const fails = (check: () => unknown) => { try { check(); return false; } catch { return true; } };
  if (fails(() => new X509Certificate(cert))) throw new CliError(`the TLS certificate ${certFile} (--tls-cert) is not a PEM certificate`);
  if (fails(() => createPrivateKey(key))) throw new CliError(`the TLS key ${keyFile} (--tls-key) is not an unencrypted PEM private key`);
  if (fails(() => createSecureContext({ cert, key }))) throw new CliError(`the TLS key ${keyFile} (--tls-key) does not belong to the certificate ${certFile} (--tls-cert)`);
}

async function readNamedFile(file: string, what: string, flag: string): Promise<Buffer> {
  return readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`${what} ${file} (${flag}) cannot be read: ${error.code ?? error.message}`);
  });
}

/** Flags win over the settings file for this run; they are not saved. */
export function applyFlags(settings: Settings, flags: ServeFlags): Settings {
  const next: Settings = structuredClone(settings);
  if (flags.listen) next.listen = checkHostPort(flags.listen, '--listen');
  if (flags.admin) next.admin = checkHostPort(flags.admin, '--admin');
  if (flags.tlsCert || flags.tlsKey) {
    if (!flags.tlsCert || !flags.tlsKey) throw new Error('--tls-cert and --tls-key go together');
    next.tls = { certFile: resolve(flags.tlsCert), keyFile: resolve(flags.tlsKey) };
  }
  if (flags.clientAuth) next.clientAuth = parseClientAuthFlag(flags.clientAuth);
  if (flags.upstream) upsertRegistry(next, { name: next.defaultRegistry, endpoints: [endpointOfFlag(checkUrl(flags.upstream, '--upstream'), '--upstream')] });
  for (const spec of flags.registry) upsertRegistry(next, parseRegistryFlag(spec));
  applyMeshFlags(next, flags);
  return parseSettings(next, 'the command line');
}

/** --mesh joins for this run (discovery on, as serve's default); --mesh-listen and --peer need a mesh. */
function applyMeshFlags(settings: Settings, flags: ServeFlags): void {
  const peers = (flags.peer ?? []).map((peer) => checkHostPort(peer, '--peer'));
  if (!flags.mesh) {
    if (flags.meshListen || peers.length > 0) throw new Error('--mesh-listen and --peer need --mesh FILE (the office key)');
    return;
  }
  settings.mesh = {
    ...settings.mesh,
    enabled: true,
    keyFile: resolve(flags.mesh),
    discovery: settings.mesh?.discovery ?? true,
    ...(flags.meshListen ? { listen: checkHostPort(flags.meshListen, '--mesh-listen') } : {}),
    peers: [...new Set([...(settings.mesh?.peers ?? []), ...peers])],
  };
}

export function parseClientAuthFlag(words: string[]): ClientAuthSettings {
  const [mode, file, ...rest] = words;
  if (rest.length === 0 && (mode === 'upstream' || mode === 'none') && file === undefined) return { mode };
  if (mode === 'htpasswd' && file && rest.length === 0) return { mode, file: resolve(file) };
  throw new Error(`--client-auth expects "upstream", "htpasswd FILE" or "none", got "${words.join(' ')}"`);
}

/** A certificate made by `layover tls init` is used when the settings name none. */
function withDefaultTls(settings: Settings, dataDir: string): Settings {
  if (settings.tls) return settings;
  const files = tlsFiles(dataDir);
  return existsSync(files.serverCert) && existsSync(files.serverKey) && !isLoopback(parseHostPort(settings.listen, '--listen').host)
    ? { ...settings, tls: { certFile: files.serverCert, keyFile: files.serverKey } }
    : settings;
}

export function parseRegistryFlag(spec: string): RegistrySettings {
  const separator = spec.indexOf('=');
  if (separator <= 0) throw new Error(`--registry expects NAME=URL[,URL...], got "${spec}"`);
  const name = spec.slice(0, separator);
  const urls = spec.slice(separator + 1).split(',').filter(Boolean);
  if (urls.length === 0) throw new Error(`--registry ${name} names no URL`);
  return { name, endpoints: urls.map((url) => endpointOfFlag(checkUrl(url, `--registry ${name}`), `--registry ${name}`)) };
}

/** A path after the host is the endpoint's repository prefix: https://msr-fra.example.com/hub-proxy/ (a Harbor / MSR 4 proxy project). */
function endpointOfFlag(url: string, flag: string): { url: string; repositoryPrefix?: string } {
  try {
    return splitEndpointUrl(url);
  } catch (error) {
    throw new Error(`${flag}: ${(error as Error).message} in "${url}"`);
  }
}

function checkHostPort(value: string, flag: string): string {
  try {
    parseHostPort(value, flag);
    return value;
  } catch {
    throw new Error(`${flag} expects HOST:PORT with a port up to 65535, e.g. 127.0.0.1:5050, got "${value}"`);
  }
}

function checkUrl(value: string, flag: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return value;
  } catch {
    // reported below
  }
  throw new Error(`${flag} expects an http:// or https:// URL, got "${value}"`);
}

function upsertRegistry(settings: Settings, registry: RegistrySettings): void {
  const existing = settings.registries.findIndex((r) => r.name === registry.name);
  if (existing >= 0) settings.registries[existing] = { ...settings.registries[existing], ...registry };
  else settings.registries.push(registry);
}

