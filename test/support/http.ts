/** Plain HTTP requests to the mirror, with the body read to the end (or the error that cut it). */
import { createHash } from 'node:crypto';
import { request } from 'undici';

export interface FetchedBody {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The error that ended the body early, if it did. */
  bodyError?: Error;
}

export async function get(url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET'): Promise<FetchedBody> {
  const response = await request(url, { method, headers });
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of response.body) chunks.push(chunk as Buffer);
  } catch (error) {
    return { status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks), bodyError: error as Error };
  }
  return { status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) };
}

export async function getJson<T = unknown>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: FetchedBody['headers']; json: T }> {
  const result = await get(url, headers);
  return { status: result.status, headers: result.headers, json: JSON.parse(result.body.toString('utf8')) as T };
}

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Deterministic incompressible test bytes. */
export function testBytes(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(String(seed)).digest();
  for (let offset = 0; offset < size; offset += block.length) {
    block.copy(out, offset);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}
