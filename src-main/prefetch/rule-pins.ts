import picomatch from 'picomatch';
import type { PrefetchRule } from '../api/types.js';
import { collectImage } from './image-walk.js';
import { resolveRepository, storeManifestLoader, type PrefetchCore } from './prefetch-core.js';
import { selectTags } from './tag-selectors.js';

/**
 * Every stored manifest and blob reachable from an enabled rule's selected
 * tags, as the cache holds them: these are what the office asked to keep.
 */
export async function pinnedByRules(core: PrefetchCore, rules: readonly PrefetchRule[]): Promise<Set<string>> {
  const pinned = new Set<string>();
  const load = storeManifestLoader(core);
  for (const rule of rules.filter((r) => r.enabled)) {
    for (const { registry, repository, tags } of cachedRepositoriesOf(core, rule)) {
      for (const tag of selectTags(Object.keys(tags), rule.tags)) {
        const digest = Object.hasOwn(tags, tag) ? tags[tag]!.digest : undefined;
        if (!digest) continue;
        const content = await collectImage(load, digest, undefined, `${registry}/${repository}:${tag}`).catch(() => undefined);
        for (const manifest of content?.manifests ?? []) pinned.add(manifest);
        for (const blob of content?.blobs ?? []) pinned.add(blob.digest);
      }
    }
  }
  return pinned;
}

/** The cached repositories a rule covers: its one repository, or those its glob matches. */
function cachedRepositoriesOf(core: PrefetchCore, rule: PrefetchRule) {
  const matches = isRepositoryGlob(rule.repository) ? picomatch(rule.repository) : undefined;
  const exact = matches ? undefined : resolveRepositorySafely(core, rule);
  return core.metadata.repositories()
    .filter(({ registry, repository }) => registry === rule.registry && (matches ? matches(repository) : repository === exact))
    .map(({ registry, repository }) => ({ registry, repository, tags: core.metadata.repository(registry, repository)?.tags ?? {} }));
}

function resolveRepositorySafely(core: PrefetchCore, rule: PrefetchRule): string | undefined {
  try {
    return resolveRepository(core, rule.repository, rule.registry).repository;
  } catch {
    return undefined;
  }
}

/** "team/*" is a glob; "team/app" is one repository. */
export function isRepositoryGlob(repository: string): boolean {
  return picomatch.scan(repository).isGlob;
}
