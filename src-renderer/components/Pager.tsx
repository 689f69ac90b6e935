import { useState, type DependencyList } from 'react';
import { useAsync, type AsyncState } from '../lib/use-async.js';

/**
 * Lists the core pages for us (issue 13: 2,000 repositories, a year of
 * requests): the page on screen is the only one the browser holds. The core
 * hands out a cursor for the next page; the ones already passed are kept, so
 * Previous goes back without the core keeping any state.
 */
export interface CursorPages<T> extends AsyncState<T> {
  /** 1 for the first page. */
  pageNumber: number;
  hasPrevious: boolean;
  hasNext: boolean;
  next(): void;
  previous(): void;
}

/** Loads page `cursor` with `load`; starts over at the first page when `deps` change. */
export function useCursorPages<T extends { next?: string }>(load: (cursor: string | undefined) => Promise<T>, deps: DependencyList): CursorPages<T> {
  // cursors[i] is what page i+1 was loaded with (undefined: the first page). New deps (a search) start
  // over at the first page in the same render, so no page is asked for with the old list's cursor.
  const [state, setState] = useState<{ deps: DependencyList; cursors: Array<string | undefined> }>({ deps, cursors: [undefined] });
  let cursors = state.cursors;
  if (!sameDeps(state.deps, deps)) {
    cursors = [undefined];
    setState({ deps, cursors });
  }
  const setCursors = (update: (list: Array<string | undefined>) => Array<string | undefined>) => setState((current) => ({ ...current, cursors: update(current.cursors) }));
  const current = cursors.at(-1);
  const page = useAsync(() => load(current), [...deps, current]);
  return {
    ...page,
    pageNumber: cursors.length,
    hasPrevious: cursors.length > 1,
    hasNext: Boolean(page.data?.next),
    next: () => {
      const cursor = page.data?.next;
      if (cursor) setCursors((list) => [...list, cursor]);
    },
    previous: () => setCursors((list) => (list.length > 1 ? list.slice(0, -1) : list)),
  };
}

function sameDeps(a: DependencyList, b: DependencyList): boolean {
  return a.length === b.length && a.every((value, i) => Object.is(value, b[i]));
}

export function Pager({ pages, label, testId }: { pages: Pick<CursorPages<unknown>, 'pageNumber' | 'hasPrevious' | 'hasNext' | 'next' | 'previous' | 'loading'>; label: string; testId?: string }) {
  if (!pages.hasPrevious && !pages.hasNext) return null;
  return (
    <nav className="pager" aria-label={`${label} pages`} data-testid={testId}>
      <button type="button" className="button button-small" disabled={!pages.hasPrevious} onClick={pages.previous}>
        Previous
      </button>
      <span className="muted small" data-testid={testId ? `${testId}-number` : undefined}>
        Page {pages.pageNumber}
      </span>
      <button type="button" className="button button-small" disabled={!pages.hasNext} onClick={pages.next}>
        Next
      </button>
    </nav>
  );
}
