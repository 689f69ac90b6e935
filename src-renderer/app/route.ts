import { useEffect, useState } from 'react';

export const PAGES = ['overview', 'repositories', 'activity', 'docker', 'settings', 'demo', 'export', 'import', 'first-run'] as const;
export type Page = (typeof PAGES)[number];

/**
 * Hash routes ("#/repositories"), because the Electron shell loads the
 * dashboard from file:// where there is no server to answer deep paths.
 */
export function pageFromHash(hash: string): Page | undefined {
  const name = hash.replace(/^#\/?/, '').split(/[/?]/)[0] ?? '';
  return (PAGES as readonly string[]).includes(name) ? (name as Page) : undefined;
}

export const hrefOf = (page: Page): string => `#/${page}`;

export function navigate(page: Page): void {
  window.location.hash = `/${page}`;
}

/** The current page; undefined while the hash names none (the app picks a start page). */
export function useHashPage(): Page | undefined {
  const [page, setPage] = useState(() => pageFromHash(window.location.hash));
  useEffect(() => {
    const onChange = (): void => setPage(pageFromHash(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return page;
}
