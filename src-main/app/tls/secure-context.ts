import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Server as HttpsServer } from 'node:https';
import { dirname } from 'node:path';
import type { TlsSettings } from '../../api/types.js';

export async function readTlsFiles(tls: TlsSettings): Promise<{ cert: Buffer; key: Buffer }> {
  try {
    const [cert, key] = await Promise.all([readFile(tls.certFile), readFile(tls.keyFile)]);
    return { cert, key };
  } catch (error) {
    throw new Error(`cannot read the TLS certificate or key: ${(error as Error).message}`);
  }
}

/**
 * Reloads the certificate when its files change (a renewal, or `layover tls
 * init` again), without a restart: existing connections keep the old one, new
 * ones get the new one. A half-written or mismatched pair is ignored until it
 * is whole.
 */
export function watchCertificates(server: HttpsServer, tls: TlsSettings, onReload: (error?: Error) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const reload = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        server.setSecureContext(await readTlsFiles(tls));
        onReload();
      } catch (error) {
        onReload(error as Error);
      }
    }, 200);
  };
  // Watch the folders, not the files: renewals usually replace the files by rename.
  const watchers: FSWatcher[] = [...new Set([dirname(tls.certFile), dirname(tls.keyFile)])].map((dir) => watch(dir, reload));
  return () => {
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}
