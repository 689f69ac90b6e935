import { OciError } from '../oci/errors.js';
import { isDigest } from '../oci/grammar.js';
import { MAX_MANIFEST_BYTES, MediaType, UPSTREAM_MANIFEST_ACCEPT } from '../oci/media-types.js';
import { headerValue, type RegistryClient, type UpstreamRequest, type UpstreamResponse } from './registry-client.js';
import { repositoryRequest } from './repository-request.js';
import { errorForUpstreamFailure, errorForUpstreamStatus } from './upstream-errors.js';

/**
 * The typed upstream client for one repository: every request Layover makes
 * about a repository's blobs, manifests, tags and referrers goes through
 * here. It owns the /v2 paths, the token scope (`repository:<name>:pull`), the
 * Accept headers, Range, paging and the mapping of upstream answers to the OCI
 * errors a client sees. RegistryClient below it owns endpoints, failover,
 * auth and redirects, and turns `repository` into the name each endpoint
 * knows it by (an endpoint's repository prefix, endpoint-prefix.ts).
 */
export class RepositoryClient {
  constructor(readonly registry: RegistryClient, readonly name: string) {}

  /** The blob's size by HEAD, without moving its bytes. */
  async blobSize(digest: string, signal?: AbortSignal): Promise<number> {
    const what = `blob ${digest} of ${this.name}`;
    const response = await this.ask({ ...repositoryRequest(this.name, `blobs/${digest}`, 'HEAD'), followRedirects: true, ...(signal ? { signal } : {}) }, what);
    await response.body.dump();
    if (response.status !== 200) throw errorForUpstreamStatus(response, 'blob', what);
    const length = Number(headerValue(response.headers['content-length']));
    if (!Number.isSafeInteger(length)) throw errorForUpstreamFailure(new Error('upstream sent no Content-Length'), what);
    return length;
  }

  /**
   * The blob's bytes from `offset` on (a Range request when offset > 0). An
   * upstream that ignores Range answers from byte 0: `start` says where the
   * body begins. A Range answer from any other byte is refused.
   */
  async blob(digest: string, options: { offset?: number; signal?: AbortSignal } = {}): Promise<UpstreamBlob> {
    const offset = options.offset ?? 0;
    const what = `blob ${digest} of ${this.name}`;
    const response = await this.ask({
      ...repositoryRequest(this.name, `blobs/${digest}`), followRedirects: true,
      ...(offset > 0 ? { headers: { range: `bytes=${offset}-` } } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    }, what);
    if (response.status === 200) {
      const length = Number(headerValue(response.headers['content-length']));
      return { start: 0, ...(Number.isSafeInteger(length) ? { size: length } : {}), body: response.body, endpoint: response.endpoint, servedBy: response.servedBy };
    }
    const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(headerValue(response.headers['content-range'])?.trim() ?? '');
    if (response.status === 206 && offset > 0 && Number(range?.[1]) === offset) {
      const total = Number(range![2]);
      return { start: offset, ...(Number.isSafeInteger(total) ? { size: total } : {}), body: response.body, endpoint: response.endpoint, servedBy: response.servedBy };
    }
    await response.body.dump();
    if (response.status === 206 || response.status === 416) {
      throw new ResumeRefusedError(`upstream answered the resume of ${what} at byte ${offset} with ${response.status === 416 ? 'HTTP 416' : `a range from byte ${range?.[1] ?? '?'}`}; starting it over`);
    }
    throw errorForUpstreamStatus(response, 'blob', what);
  }

  /** Where a tag (or digest) points now, by HEAD: cheap, and not counted against Docker Hub's pull limit. */
  async manifestHead(reference: string): Promise<ManifestHead> {
    const what = describeManifest(this.name, reference);
    const response = await this.ask({ ...repositoryRequest(this.name, `manifests/${reference}`, 'HEAD'), headers: { accept: UPSTREAM_MANIFEST_ACCEPT } }, what);
    await response.body.dump();
    if (response.status !== 200) throw errorForUpstreamStatus(response, 'manifest', what);
    const digest = headerValue(response.headers['docker-content-digest']);
    return { ...(digest ? { digest } : {}), mediaType: mediaTypeOf(response) ?? '' };
  }

  /** The manifest's bytes, as the upstream declares them; the caller verifies them against the digest. */
  async manifest(reference: string): Promise<UpstreamManifest> {
    const what = describeManifest(this.name, reference);
    const response = await this.ask({ ...repositoryRequest(this.name, `manifests/${reference}`), headers: { accept: UPSTREAM_MANIFEST_ACCEPT } }, what);
    if (response.status !== 200) {
      await response.body.dump();
      throw errorForUpstreamStatus(response, 'manifest', what);
    }
    const body = await readLimited(response, what);
    const declaredDigest = headerValue(response.headers['docker-content-digest']);
    const mediaType = mediaTypeOf(response);
    return { body, ...(declaredDigest ? { declaredDigest } : {}), ...(mediaType ? { mediaType } : {}), endpoint: response.endpoint };
  }

  /** Every tag, all pages followed (at most maxPages of pageSize), each once. */
  async tags(options: { pageSize?: number; maxPages?: number } = {}): Promise<string[]> {
    const what = `tags of ${this.name}`;
    const tags: string[] = [];
    let query: Record<string, string> | undefined = { n: String(options.pageSize ?? TAG_PAGE_SIZE) };
    for (let page = 0; query && page < (options.maxPages ?? MAX_TAG_PAGES); page++) {
      const response = await this.ask({ ...repositoryRequest(this.name, 'tags/list'), query }, what);
      if (response.status !== 200) {
        await response.body.dump();
        throw errorForUpstreamStatus(response, 'repository', what);
      }
      const body = (await readJson(response, what)) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      query = nextPageQuery(headerValue(response.headers.link));
    }
    return [...new Set(tags)];
  }

  /**
   * The referrers of a subject manifest (OCI 1.1), all pages. An upstream
   * without the referrers API answers 404: 'unsupported', so the caller can
   * use the tag-schema fallback (`<alg>-<hex>` tag) instead.
   */
  async referrers(subject: string, options: { artifactType?: string; maxPages?: number } = {}): Promise<Referrers> {
    const what = `referrers of ${this.name}@${subject}`;
    const manifests: unknown[] = [];
    let filtered = false;
    let query: Record<string, string> | undefined = options.artifactType ? { artifactType: options.artifactType } : {};
    for (let page = 0; query && page < (options.maxPages ?? MAX_REFERRER_PAGES); page++) {
      const response = await this.ask({ ...repositoryRequest(this.name, `referrers/${subject}`), query, headers: { accept: MediaType.ociIndex } }, what);
      if (response.status === 404 && page === 0) {
        await response.body.dump();
        return { supported: false };
      }
      if (response.status !== 200) {
        await response.body.dump();
        throw errorForUpstreamStatus(response, 'manifest', what);
      }
      const index = (await readJson(response, what).catch(() => undefined)) as { manifests?: unknown } | undefined;
      if (!Array.isArray(index?.manifests)) throw new OciError(502, 'MANIFEST_INVALID', `upstream answered ${what} with something that is not an OCI index`);
      manifests.push(...(index!.manifests as unknown[]));
      filtered ||= (headerValue(response.headers['oci-filters-applied']) ?? '').split(',').map((s) => s.trim()).includes('artifactType');
      query = nextPageQuery(headerValue(response.headers.link));
    }
    return { supported: true, manifests, filtered };
  }

  private async ask(req: UpstreamRequest, what: string): Promise<UpstreamResponse> {
    try {
      return await this.registry.request(req);
    } catch (error) {
      throw errorForUpstreamFailure(error, what);
    }
  }
}

/** One page of the registry's catalog (scope registry:catalog:*); `next` is the query of the following page. */
export async function catalogPage(client: RegistryClient, query: Record<string, string>): Promise<{ repositories: string[]; next?: Record<string, string> }> {
  const what = 'the catalog';
  let response: UpstreamResponse;
  try {
    response = await client.request({ method: 'GET', path: '/v2/_catalog', query, scope: 'registry:catalog:*' });
  } catch (error) {
    throw errorForUpstreamFailure(error, what);
  }
  if (response.status !== 200) {
    await response.body.dump();
    throw errorForUpstreamStatus(response, 'repository', what);
  }
  const body = (await readJson(response, what)) as { repositories?: string[] | null };
  const next = nextPageQuery(headerValue(response.headers.link));
  return { repositories: body.repositories ?? [], ...(next ? { next } : {}) };
}

/** The query of a Link: <...>; rel="next" header, as the spec paginates. */
export function nextPageQuery(link: string | undefined): Record<string, string> | undefined {
  const match = link && /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
  if (!match) return undefined;
  const url = new URL(match[1]!, 'http://upstream.invalid');
  return Object.fromEntries(url.searchParams.entries());
}

/** The upstream would not continue a blob from the bytes kept (416, or another range): they are thrown away and the next try starts over. */
export class ResumeRefusedError extends OciError {
  constructor(message: string) {
    super(503, 'UNAVAILABLE', message);
    this.name = 'ResumeRefusedError';
  }
}

export interface UpstreamBlob {
  /** The byte the body starts at: the offset asked for, or 0 when the upstream sent the whole blob. */
  start: number;
  /** The whole blob's size, when the upstream says it (Content-Length of a 200, the total of a Content-Range). */
  size?: number;
  body: UpstreamResponse['body'];
  /** Which endpoint answered. */
  endpoint: string;
  /** The origin that sent the bytes: the endpoint's, or the content cache or object store it redirected to. */
  servedBy: string;
}

export interface ManifestHead {
  /** Docker-Content-Digest; undefined when the upstream does not say it on HEAD (then a GET tells). */
  digest?: string;
  mediaType: string;
}

export interface UpstreamManifest {
  body: Buffer;
  declaredDigest?: string;
  mediaType?: string;
  endpoint: string;
}

export type Referrers =
  | { supported: false }
  /** `manifests` as the upstream listed them (unchecked descriptors); `filtered` when it applied the artifactType filter. */
  | { supported: true; manifests: unknown[]; filtered: boolean };

const TAG_PAGE_SIZE = 1000;
/** A repository with more pages than this is a catalogue, not something a mirror should walk. */
const MAX_TAG_PAGES = 100;
/** A referrer list longer than this many pages is not something a cache should walk. */
const MAX_REFERRER_PAGES = 20;

function describeManifest(repository: string, reference: string): string {
  return `manifest ${repository}${isDigest(reference) ? '@' : ':'}${reference}`;
}

function mediaTypeOf(response: UpstreamResponse): string | undefined {
  return headerValue(response.headers['content-type'])?.split(';')[0]?.trim() || undefined;
}

async function readJson(response: UpstreamResponse, what: string): Promise<unknown> {
  const text = (await readLimited(response, what)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new OciError(502, 'UNKNOWN', `upstream answered ${what} with something that is not JSON`);
  }
}

/** Reads a manifest-sized body, refusing anything over the 4 MiB limit before it is all in memory. */
async function readLimited(response: UpstreamResponse, what: string): Promise<Buffer> {
  const tooLarge = () => new OciError(502, 'MANIFEST_INVALID', `upstream ${what} exceeds the ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB manifest limit`);
  if (Number(headerValue(response.headers['content-length'])) > MAX_MANIFEST_BYTES) {
    response.body.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body) {
      total += (chunk as Buffer).length;
      if (total > MAX_MANIFEST_BYTES) {
        response.body.destroy();
        throw tooLarge();
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    throw error instanceof OciError ? error : errorForUpstreamFailure(error, what);
  }
  return Buffer.concat(chunks);
}
