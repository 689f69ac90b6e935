import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OciError } from '../core/oci/errors.js';
import { isDigest } from '../core/oci/grammar.js';
import { mediaTypeOfManifest } from '../core/oci/media-types.js';
import { compareLexically, paginate, parsePageSize } from '../core/oci/pagination.js';
import { parseRoute } from '../core/oci/routes.js';
import { API_VERSION_HEADER, blobHeaders, checkDigest, checkReference, parseRange, rangeNotSatisfiable, sendJson, sendOciError, sendPage } from '../core/oci/responses.js';
import { layoutBlobPath } from './sample-images.js';
import { sendFileRange } from '../core/store/send-file.js';

const REF_NAME = 'org.opencontainers.image.ref.name';

interface LayoutIndex {
  manifests: Array<{ digest: string; mediaType?: string; size: number; annotations?: Record<string, string> }>;
}

export interface HostedRepository {
  name: string;
  /** An OCI image layout directory (index.json, blobs/sha256/...). */
  layoutDir: string;
}

export interface HostedRegistry {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * A read-only registry serving OCI image layouts, speaking the same pull API
 * as the mirror (it shares its routes and responses). The demo's "origin"
 * is one of these, so a laptop with no DTR and no internet can show what a
 * cache does.
 */
export async function startHostedRegistry(repositories: HostedRepository[], host = '127.0.0.1'): Promise<HostedRegistry> {
  const tagsByRepository = new Map<string, Map<string, string>>();
  for (const repository of repositories) tagsByRepository.set(repository.name, await readTags(repository.layoutDir));
  const layouts = new Map(repositories.map((repository) => [repository.name, repository.layoutDir]));
  const server = createServer((req, res) => {
    serve(req, res, layouts, tagsByRepository).catch((error) => sendOciError(res, error));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    server,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

async function readTags(layoutDir: string): Promise<Map<string, string>> {
  const index = JSON.parse(await readFile(`${layoutDir}/index.json`, 'utf8')) as LayoutIndex;
  return new Map(index.manifests.flatMap((entry) => (entry.annotations?.[REF_NAME] ? [[entry.annotations[REF_NAME], entry.digest] as const] : [])));
}

async function serve(req: IncomingMessage, res: ServerResponse, layouts: Map<string, string>, tags: Map<string, Map<string, string>>): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://hosted.invalid');
  const route = parseRoute(req.method ?? 'GET', url.pathname);
  if (route.kind === 'base') return sendJson(req, res, 200, {});
  if (route.kind === 'catalog') {
    const page = paginate([...layouts.keys()].sort(compareLexically), parsePageSize(url.searchParams.get('n')), url.searchParams.get('last'));
    return sendPage(req, res, '/v2/_catalog', url, page, { repositories: page.items });
  }
  const layoutDir = layouts.get(route.path);
  const repositoryTags = tags.get(route.path);
  if (!layoutDir || !repositoryTags) throw new OciError(404, 'NAME_UNKNOWN', `repository ${route.path} is not hosted here`);
  if (route.kind === 'tags') {
    const page = paginate([...repositoryTags.keys()].sort(compareLexically), parsePageSize(url.searchParams.get('n')), url.searchParams.get('last'));
    return sendPage(req, res, url.pathname, url, page, { name: route.path, tags: page.items });
  }
  if (route.kind === 'manifest') {
    checkReference(route.reference);
    const digest = isDigest(route.reference) ? route.reference : repositoryTags.get(route.reference);
    const body = digest ? await readFile(blobPathOrUndefined(layoutDir, digest) ?? '').catch(() => undefined) : undefined;
    if (!digest || !body) throw new OciError(404, 'MANIFEST_UNKNOWN', `manifest ${route.path}:${route.reference} is not hosted here`);
    res.writeHead(200, { ...API_VERSION_HEADER, 'content-type': mediaTypeOfManifest(body) ?? 'application/json', 'content-length': String(body.length), 'docker-content-digest': digest });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  checkDigest(route.digest);
  const path = blobPathOrUndefined(layoutDir, route.digest);
  const size = path ? await stat(path).then((info) => info.size, () => undefined) : undefined;
  if (size === undefined) throw new OciError(404, 'BLOB_UNKNOWN', `blob ${route.digest} is not hosted here`);
  const range = parseRange(size, req.headers.range);
  if (range === 'unsatisfiable') throw rangeNotSatisfiable(req.headers.range, size);
  const { start, end } = range ?? { start: 0, end: size - 1 };
  res.writeHead(range ? 206 : 200, {
    ...blobHeaders(route.digest),
    'content-length': String(end - start + 1),
    ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (req.method === 'HEAD') return void res.end();
  await sendFileRange(path!, start, end, res);
  res.end();
}

/** Layouts written here hold sha256 blobs only: any other digest is simply not hosted. */
function blobPathOrUndefined(layoutDir: string, digest: string): string | undefined {
  try {
    return layoutBlobPath(layoutDir, digest);
  } catch {
    return undefined;
  }
}
