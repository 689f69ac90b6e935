import type { IncomingMessage, ServerResponse } from 'node:http';
import rangeParser from 'range-parser';
import { OciError, isOciError } from './errors.js';
import { isValidTag, parseDigest } from './grammar.js';
import type { Page } from './pagination.js';

/**
 * How a registry answers, in one place: the spec's headers, its error JSON,
 * Range, pagination. The mirror uses these, and so does the demo's hosted
 * registry, so both speak the pull API the same way.
 */
export const API_VERSION_HEADER = { 'docker-distribution-api-version': 'registry/2.0' };

export function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...API_VERSION_HEADER, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(req.method === 'HEAD' ? undefined : text);
}

/**
 * Answers with the OCI error JSON. Anything that is not an OciError is a bug
 * and becomes a 500 without details (the caller logs it). Once a body has
 * started, the only honest signal left is to cut the connection.
 */
export function sendOciError(res: ServerResponse, error: unknown): OciError {
  const oci = isOciError(error) ? error : new OciError(500, 'UNKNOWN', 'internal error in Layover; see its log');
  if (res.headersSent) {
    res.destroy();
    return oci;
  }
  sendJson(res.req, res, oci.status, oci.toJSON(), oci.headers);
  return oci;
}

/** A single satisfiable range, 'unsatisfiable', or undefined for "send it all" (no header, malformed, or several ranges). */
export function parseRange(size: number, header: string | undefined): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const parsed = rangeParser(size, header, { combine: true });
  if (parsed === -1) return 'unsatisfiable';
  if (parsed === -2 || parsed.type !== 'bytes' || parsed.length !== 1) return undefined;
  return parsed[0];
}

export function rangeNotSatisfiable(header: string | undefined, size: number): OciError {
  return new OciError(416, 'RANGE_INVALID', `range ${header} is outside the blob's ${size} bytes`, { 'content-range': `bytes */${size}` });
}

/** Headers every blob response carries. */
export function blobHeaders(digest: string): Record<string, string> {
  return { ...API_VERSION_HEADER, 'docker-content-digest': digest, etag: `"${digest}"`, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
}

/** Writes one page with the spec's Link header pointing at the next, keeping ?ns= and n. */
export function sendPage(req: IncomingMessage, res: ServerResponse, path: string, url: URL, page: Page, body: unknown, extra: Record<string, string> = {}): void {
  const headers: Record<string, string> = { ...extra };
  if (page.nextLast !== undefined) {
    const next = new URLSearchParams(url.searchParams);
    next.set('last', page.nextLast);
    headers.link = `<${path}?${next.toString()}>; rel="next"`;
  }
  sendJson(req, res, 200, body, headers);
}

/** A manifest reference: a tag or a verifiable digest, per the grammar. */
export function checkReference(reference: string): void {
  if (reference.includes(':')) {
    if (!parseDigest(reference)) throw new OciError(400, 'DIGEST_INVALID', `invalid digest: ${reference.slice(0, 200)}`);
  } else if (!isValidTag(reference)) {
    throw new OciError(400, 'MANIFEST_INVALID', `invalid tag: ${reference.slice(0, 200)}`);
  }
}

export function checkDigest(digest: string): void {
  if (!parseDigest(digest)) throw new OciError(400, 'DIGEST_INVALID', `invalid digest: ${digest.slice(0, 200)}`);
}
