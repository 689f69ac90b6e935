import type { Page } from '../app/route.js';

/** Small line icons for the navigation; decorative (aria-hidden), drawn in currentColor. */
const PATHS: Record<Exclude<Page, 'first-run'>, string> = {
  overview: 'M3 13h4v6H3zM10 8h4v11h-4zM17 4h4v15h-4z',
  repositories: 'M4 5h16v4H4zM4 11h16v4H4zM4 17h16v3H4z',
  activity: 'M3 12h4l3-7 4 14 3-7h4',
  docker: 'M3 12h18c0 4-3 7-8 7s-8-3-10-7zM6 9h3v3H6zM10 9h3v3h-3zM14 9h3v3h-3zM10 5h3v3h-3z',
  settings: 'M12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM12 2v3M12 19v3M4.9 4.9l2.1 2.1M17 17l2.1 2.1M2 12h3M19 12h3M4.9 19.1 7 17M17 7l2.1-2.1',
  demo: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM10 8.5v7l5.5-3.5z',
  export: 'M12 15V3M7 8l5-5 5 5M4 14v6h16v-6',
  import: 'M12 3v12M7 10l5 5 5-5M4 14v6h16v-6',
};

/** Stacked layers: what a layover keeps close. */
export function Logo() {
  return (
    <svg className="logo" viewBox="0 0 28 28" width="28" height="28" aria-hidden="true" focusable="false">
      <rect width="28" height="28" rx="7" className="logo-bg" />
      <path d="M14 6.5 6.5 10.5 14 14.5l7.5-4zM6.5 14.5l7.5 4 7.5-4M6.5 18.25l7.5 4 7.5-4" fill="none" className="logo-mark" strokeWidth="1.7" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}

export function Icon({ name }: { name: keyof typeof PATHS }) {
  return (
    <svg className="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
      <path d={PATHS[name]} fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}
