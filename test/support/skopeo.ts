/**
 * skopeo (1.9) as the test's registry client: pushes sample OCI layouts to a
 * registry, copies images out of a registry (through Layover or not), and
 * inspects manifests. Every call fails with skopeo's own stderr in the error.
 *
 * Plain-HTTP loopback registries need `--*-tls-verify=false` (skopeo then
 * tries HTTPS and falls back to HTTP), so that is the default here.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SampleLayoutResult, SamplePlatform } from '../../src-main/demo/sample-images.js';
import { makeTempDir, removeTempDir, runChecked, type RunResult } from './process.js';

export const SKOPEO_BINARY = '/usr/bin/skopeo';

export interface Credentials {
  username: string;
  password: string;
}

export interface PushLayoutOptions {
  layoutDir: string;
  tag: string;
  /** Registry host:port, e.g. registry.host. */
  registryHost: string;
  repository: string;
  /** Tag to push as (default: the same tag). */
  destinationTag?: string;
  creds?: Credentials;
  /** Copy every manifest of an index (default true); false copies only the platform skopeo runs on. */
  all?: boolean;
  /**
   * Convert manifests on the way: 'v2s2' gives Docker media types (the manifest and index digests then
   * differ from the layout's; config and layer digests stay). Default: push the layout byte for byte.
   */
  format?: 'v2s2';
  tlsVerify?: boolean;
}

/**
 * Pushes one tag of an OCI layout; returns the digest the registry now has for it (the layout's own,
 * unless `format` converts). skopeo cannot read layout entries with Docker media types, which is why
 * sample layouts are OCI-only and Docker types come from this conversion.
 */
export async function pushLayoutTag(options: PushLayoutOptions): Promise<string> {
  const destination = `docker://${options.registryHost}/${options.repository}:${options.destinationTag ?? options.tag}`;
  const { digest } = await skopeoCopy({
    source: `oci:${options.layoutDir}:${options.tag}`,
    destination,
    all: options.all ?? true,
    destCreds: options.creds,
    destTlsVerify: options.tlsVerify ?? false,
    // Without --preserve-digests skopeo gzips uncompressed layers on the way to a registry, so the
    // registry would hold other digests than the layout. A format conversion changes them by design.
    extraArgs: options.format ? ['--format', options.format] : ['--preserve-digests'],
  });
  return digest;
}

/** Pushes every tag of a written sample layout to one repository; returns tag -> pushed digest. */
export async function pushSampleLayout(
  layout: SampleLayoutResult,
  target: { registryHost: string; repository: string; creds?: Credentials },
): Promise<Map<string, string>> {
  if (!layout.dir) throw new Error('pushSampleLayout needs a layout written to disk (writeSampleLayout), not describeSampleImages');
  const pushed = new Map<string, string>();
  for (const { tag } of layout.tags) {
    pushed.set(tag, await pushLayoutTag({ layoutDir: layout.dir, tag, ...target }));
  }
  return pushed;
}

export interface CopyOptions {
  /** Full skopeo image reference, with transport: docker://..., oci:DIR:TAG, dir:DIR. */
  source: string;
  destination: string;
  srcCreds?: Credentials;
  destCreds?: Credentials;
  /** Default true, as skopeo's; set false for plain-HTTP registries. */
  srcTlsVerify?: boolean;
  destTlsVerify?: boolean;
  /** A registries.conf to use instead of /etc/containers/registries.conf (mirrors, short names). */
  registriesConf?: string;
  all?: boolean;
  /** Choose this platform from an index instead of the machine's. */
  platform?: SamplePlatform;
  extraArgs?: string[];
  timeoutMs?: number;
  /** Run skopeo inside this network namespace (the office mesh tests' laptops). */
  netns?: string;
}

export interface CopyResult {
  /** Digest of the manifest (or index, with all) that was written to the destination. */
  digest: string;
  result: RunResult;
}

/** `skopeo copy`; the digest comes from --digestfile, i.e. from skopeo itself. */
export async function skopeoCopy(options: CopyOptions): Promise<CopyResult> {
  const work = await makeTempDir('skopeo');
  try {
    const digestFile = join(work, 'digest');
    const args = [
      ...globalArgs(options),
      'copy',
      '--retry-times',
      '0',
      '--digestfile',
      digestFile,
      ...(options.all ? ['--all'] : []),
      ...tlsArgs('src', options.srcTlsVerify),
      ...tlsArgs('dest', options.destTlsVerify),
      ...credsArgs('src', options.srcCreds),
      ...credsArgs('dest', options.destCreds),
      ...(options.extraArgs ?? []),
      options.source,
      options.destination,
    ];
    const result = await runSkopeo(args, options.timeoutMs, work, options.netns);
    const digest = (await readFile(digestFile, 'utf8')).trim();
    return { digest, result };
  } finally {
    await removeTempDir(work);
  }
}

export interface PullOptions {
  /** host:port/repo:tag or host:port/repo@digest (no transport prefix). */
  reference: string;
  /**
   * 'dir' (default) keeps the manifest bytes as served, so the digest is the registry's;
   * 'oci' writes an OCI layout, converting Docker-typed manifests (whose digest then changes).
   */
  format?: 'oci' | 'dir';
  /** Where to write; default a new temp dir (remove it with removeTempDir, or it goes at process exit). */
  destinationDir?: string;
  creds?: Credentials;
  tlsVerify?: boolean;
  registriesConf?: string;
  all?: boolean;
  platform?: SamplePlatform;
  timeoutMs?: number;
  /** Run skopeo inside this network namespace. */
  netns?: string;
}

export interface PullResult {
  /** Digest of the manifest written: with an index and no `all`, the chosen platform's manifest. */
  digest: string;
  /** The directory written (an OCI layout or a dir: image). */
  dir: string;
  result: RunResult;
}

/** Copies an image out of a registry to local disk and returns its manifest digest. */
export async function skopeoPull(options: PullOptions): Promise<PullResult> {
  const dir = options.destinationDir ?? (await makeTempDir('pulled'));
  const destination = options.format === 'oci' ? `oci:${dir}:pulled` : `dir:${dir}`;
  const { digest, result } = await skopeoCopy({
    source: `docker://${options.reference}`,
    destination,
    srcCreds: options.creds,
    srcTlsVerify: options.tlsVerify ?? false,
    registriesConf: options.registriesConf,
    all: options.all,
    platform: options.platform,
    timeoutMs: options.timeoutMs,
    netns: options.netns,
  });
  return { digest, dir, result };
}

export interface InspectOptions {
  /** host:port/repo:tag or host:port/repo@digest (no transport prefix). */
  reference: string;
  creds?: Credentials;
  tlsVerify?: boolean;
  registriesConf?: string;
  platform?: SamplePlatform;
}

export interface RawManifest {
  /** The bytes exactly as served (their sha256 is the manifest digest). */
  raw: string;
  json: { mediaType?: string; schemaVersion?: number; [key: string]: unknown };
}

/** `skopeo inspect --raw`: the manifest or index as the registry serves it. */
export async function skopeoInspectRaw(options: InspectOptions): Promise<RawManifest> {
  const result = await runSkopeo([...globalArgs(options), 'inspect', '--raw', ...inspectArgs(options)]);
  return { raw: result.stdout, json: JSON.parse(result.stdout) as RawManifest['json'] };
}

/** `skopeo inspect` (the summary: Digest, RepoTags, Architecture, Layers, ...). */
export async function skopeoInspect(options: InspectOptions): Promise<Record<string, unknown>> {
  const result = await runSkopeo([...globalArgs(options), 'inspect', ...inspectArgs(options)]);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** `skopeo list-tags`. */
export async function skopeoListTags(options: Omit<InspectOptions, 'platform'>): Promise<string[]> {
  const result = await runSkopeo([...globalArgs(options), 'list-tags', ...inspectArgs(options)]);
  return (JSON.parse(result.stdout) as { Tags: string[] }).Tags;
}

function inspectArgs(options: InspectOptions): string[] {
  return [...tlsArgs('', options.tlsVerify ?? false), ...credsArgs('', options.creds), `docker://${options.reference}`];
}

function globalArgs(options: { registriesConf?: string; platform?: SamplePlatform }): string[] {
  const args: string[] = [];
  // Hidden in 1.9's --help, but accepted: replaces /etc/containers/registries.conf.
  if (options.registriesConf) args.push('--registries-conf', options.registriesConf);
  if (options.platform) {
    args.push('--override-os', options.platform.os, '--override-arch', options.platform.architecture);
    if (options.platform.variant) args.push('--override-variant', options.platform.variant);
  }
  return args;
}

function tlsArgs(side: 'src' | 'dest' | '', verify: boolean | undefined): string[] {
  if (verify === undefined) return [];
  return [`--${side ? `${side}-` : ''}tls-verify=${verify}`];
}

function credsArgs(side: 'src' | 'dest' | '', creds: Credentials | undefined): string[] {
  if (!creds) return [];
  return [`--${side ? `${side}-` : ''}creds`, `${creds.username}:${creds.password}`];
}

async function runSkopeo(args: string[], timeoutMs = 300_000, tmp?: string, netns?: string): Promise<RunResult> {
  // --tmpdir keeps skopeo's big temporary blobs in our temp dir; no policy.json lookups outside ours.
  const tmpArgs = tmp ? ['--tmpdir', tmp] : [];
  const command = [SKOPEO_BINARY, ...tmpArgs, '--insecure-policy', ...args];
  if (netns) return runChecked('/usr/sbin/ip', ['netns', 'exec', netns, ...command], { timeoutMs });
  return runChecked(command[0]!, command.slice(1), { timeoutMs });
}
