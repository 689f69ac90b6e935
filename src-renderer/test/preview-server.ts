/**
 * Serves the built dashboard (dist/renderer) and answers the control API's
 * wire protocol (src-main/api/http-client.ts) from the in-memory fake, on
 * 127.0.0.1 only. For looking at the dashboard and taking screenshots; never
 * shipped, and not a stand-in for the real core in end-to-end tests.
 *
 *   npx vite build --config src-renderer/vite.config.ts
 *   npx tsx src-renderer/test/preview-server.ts [--empty] [--live] [--port=5180]
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_PREFIX, EVENTS_PATH, LayoverApiError } from '../../src-main/api/http-client.js';
import { LAYOVER_METHODS, type LayoverMethod } from '../../src-main/api/layover-api.js';
import { DASHBOARD_CONTENT_SECURITY_POLICY } from '../../src-main/api/content-security-policy.js';
import { createFakeApi, emptyState, sampleState, type FakeApi } from './fake-api.js';

const DIST = resolve(fileURLToPath(new URL('../../dist/renderer', import.meta.url)));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export interface PreviewServer {
  url: string;
  fake: FakeApi;
  server: Server;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : null;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  response.end(text);
}

export async function startPreviewServer(options: { fake?: FakeApi; port?: number; live?: boolean } = {}): Promise<PreviewServer> {
  const fake = options.fake ?? createFakeApi(sampleState());
  const streams = new Set<ServerResponse>();
  fake.subscribe((event) => {
    for (const stream of streams) stream.write(`data: ${JSON.stringify(event)}\n\n`);
  });
  const ticker = options.live ? setInterval(() => fake.advance(1), 1000) : undefined;

  const server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      if (url.pathname === EVENTS_PATH && request.method === 'GET') {
        response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
        response.write(': connected\n\n');
        streams.add(response);
        request.on('close', () => streams.delete(response));
        return;
      }
      if (url.pathname.startsWith(`${API_PREFIX}/call/`) && request.method === 'POST') {
        const method = url.pathname.slice(`${API_PREFIX}/call/`.length) as LayoverMethod;
        if (!LAYOVER_METHODS.includes(method)) return sendJson(response, 404, { error: { message: `no method ${method}`, code: 'NOT_FOUND' } });
        try {
          const arg = await readBody(request);
          const call = fake[method] as (a: unknown) => Promise<unknown>;
          sendJson(response, 200, await call(arg ?? undefined));
        } catch (error) {
          const status = error instanceof LayoverApiError ? error.status : 500;
          const code = error instanceof LayoverApiError ? error.code : 'INTERNAL';
          sendJson(response, status, { error: { message: error instanceof Error ? error.message : String(error), code } });
        }
        return;
      }
      if (request.method !== 'GET') return sendJson(response, 405, { error: { message: 'method not allowed', code: 'METHOD' } });
      const path = url.pathname === '/' ? '/index.html' : decodeURIComponent(url.pathname);
      const file = normalize(join(DIST, path));
      if (!file.startsWith(DIST + sep)) return sendJson(response, 403, { error: { message: 'forbidden', code: 'FORBIDDEN' } });
      try {
        const body = await readFile(file);
        response.writeHead(200, {
          'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
          'content-security-policy': DASHBOARD_CONTENT_SECURITY_POLICY,
          'x-content-type-options': 'nosniff',
        });
        response.end(body);
      } catch {
        response.writeHead(404, { 'content-type': 'text/plain' });
        response.end(`not found: ${path} (did you run the vite build?)`);
      }
    })();
  });
  await new Promise<void>((done) => server.listen(options.port ?? 0, '127.0.0.1', done));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    fake,
    server,
    close: async () => {
      if (ticker) clearInterval(ticker);
      for (const stream of streams) stream.end();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const port = Number(args.find((a) => a.startsWith('--port='))?.slice(7) ?? 5180);
  const fake = createFakeApi(args.includes('--empty') ? emptyState() : sampleState());
  const preview = await startPreviewServer({ fake, port, live: args.includes('--live') });
  console.log(`dashboard preview on ${preview.url} (fake data${args.includes('--live') ? ', live' : ''}); Ctrl-C to stop`);
}
