import writeFileAtomic from 'write-file-atomic';
import type { InventoryResult } from '../api/types.js';
import type { Inventory } from './bundle-format.js';
import type { BundleCore } from './bundle-core.js';

/** Digests read from the index at a time: the inventory never asks for the whole index at once. */
const PAGE = 1000;

/** Every blob and manifest this instance holds, by digest and size: the other side's `export --have`. */
export async function writeInventory(core: BundleCore, out: string): Promise<InventoryResult> {
  await core.metadata.flush();
  const inventory: Inventory = { kind: 'layover-inventory', version: 1, createdAt: Date.now(), blobs: [] };
  let bytes = 0;
  for (let after: string | undefined, page = core.metadata.blobDigests(PAGE); page.length > 0; after = page.at(-1), page = core.metadata.blobDigests(PAGE, after)) {
    for (const digest of page) {
      const size = core.metadata.blob(digest)?.size;
      if (size === undefined) continue;
      inventory.blobs.push([digest, size]);
      bytes += size;
    }
  }
  await writeFileAtomic(out, `${JSON.stringify(inventory)}\n`);
  return { path: out, blobs: inventory.blobs.length, bytes };
}
