import { useEffect, useId, useState } from 'react';
import type { CachedRepositoryPage } from '../../src-main/api/types.js';
import { useApi } from '../app/api-context.js';
import { plural } from '../lib/format.js';
import { Pager, useCursorPages } from './Pager.js';
import { Badge, Empty, ErrorMessage, Loading, RelativeTime } from './ui.js';
import { useDebounced } from '../lib/use-debounced.js';

/** Rows on one page of the cache's repositories: the browser never holds more. */
export const CACHED_PAGE_SIZE = 50;

/**
 * What this cache holds of a registry, from the core's own index (not the
 * upstream's catalog): searched by the core, one page at a time, so it stays
 * quick with thousands of repositories.
 */
export function CachedRepositories({ registry, selected, onSelect, version }: { registry: string; selected?: string; onSelect(name: string): void; version: number }) {
  const api = useApi();
  const searchId = useId();
  const [query, setQuery] = useState('');
  const search = useDebounced(query.trim(), 250);
  const pages = useCursorPages<CachedRepositoryPage>(
    (cursor) => api.listCachedRepositories({ registry, limit: CACHED_PAGE_SIZE, ...(search ? { query: search } : {}), ...(cursor ? { cursor } : {}) }),
    [api, registry, search, version],
  );
  const page = pages.data;
  return (
    <div className="catalog" data-testid="cached-repositories">
      <div className="field search-field">
        <label htmlFor={searchId}>Search what is cached</label>
        <input id={searchId} type="search" value={query} placeholder="Filter by name" onChange={(e) => setQuery(e.target.value)} data-testid="cached-search" />
      </div>
      {page ? (
        <p className="muted small" data-testid="cached-total">
          {plural(page.total, 'repository', 'repositories')} cached in all
        </p>
      ) : null}
      {pages.loading && !page ? (
        <Loading what="cached repositories" />
      ) : pages.error && !page ? (
        <ErrorMessage error={pages.error} what="the cached repositories" onRetry={() => void pages.reload()} />
      ) : !page || page.repositories.length === 0 ? (
        <Empty title={search ? `Nothing cached matches “${search}”` : 'Nothing cached from this registry yet'} testId="cached-empty">
          {search ? 'Try a shorter part of the name.' : 'Pulls through the mirror and prefetch jobs fill it.'}
        </Empty>
      ) : (
        <ul className="repo-list" aria-label="Cached repositories">
          {page.repositories.map((repo) => (
            <li key={`${repo.registry}/${repo.name}`} className={`repo${selected === repo.name ? ' repo-selected' : ''}`} data-testid="cached-row" data-repository={repo.name}>
              <div className="repo-main">
                <button type="button" className="repo-name" aria-pressed={selected === repo.name} onClick={() => onSelect(repo.name)} aria-label={`Show cached tags of ${repo.name}`}>
                  {repo.name}
                </button>
                <span className="repo-badges">
                  <Badge tone="good">{plural(repo.cachedTags, 'tag')} cached</Badge>
                  {repo.lastAccess ? (
                    <span className="muted small">
                      pulled <RelativeTime at={repo.lastAccess} past />
                    </span>
                  ) : null}
                </span>
              </div>
            </li>
          ))}
        </ul>
      )}
      <Pager pages={pages} label="Cached repositories" testId="cached-pager" />
    </div>
  );
}
