import { useEffect, useRef, type ReactNode } from 'react';
import type { LayoverApi } from '../../src-main/api/layover-api.js';
import { MirrorStateBadge } from '../components/badges.js';
import { Icon, Logo } from '../components/icons.js';
import { ErrorMessage, Loading } from '../components/ui.js';
import { ActivityPage } from '../pages/Activity.js';
import { DemoPage } from '../pages/Demo.js';
import { DockerPage } from '../pages/Docker.js';
import { ExportPage } from '../pages/Export.js';
import { ImportPage } from '../pages/Import.js';
import { FirstRunPage } from '../pages/FirstRun.js';
import { OverviewPage } from '../pages/Overview.js';
import { RepositoriesPage } from '../pages/Repositories.js';
import { SettingsPage } from '../pages/Settings.js';
import { ApiContext } from './api-context.js';
import { LiveProvider, useLive } from './live.js';
import { NowProvider } from './now.js';
import { hrefOf, navigate, useHashPage, type Page } from './route.js';

const NAV: ReadonlyArray<[Exclude<Page, 'first-run'>, string]> = [
  ['overview', 'Overview'],
  ['repositories', 'Repositories'],
  ['activity', 'Activity'],
  ['docker', 'Docker'],
  ['settings', 'Settings'],
  ['demo', 'Demo'],
  ['export', 'Export'],
  ['import', 'Import'],
];

export interface AppProps {
  api: LayoverApi;
  /** How often status is re-read as a safety net under live events; 0 disables (tests). */
  statusRefreshMs?: number;
  /** A fixed clock for tests. */
  now?: number;
}

export function App({ api, statusRefreshMs, now }: AppProps) {
  return (
    <ApiContext.Provider value={api}>
      <NowProvider {...(now !== undefined ? { fixed: now } : {})}>
        <LiveProvider {...(statusRefreshMs !== undefined ? { statusRefreshMs } : {})}>
          <Shell />
        </LiveProvider>
      </NowProvider>
    </ApiContext.Provider>
  );
}

function Shell() {
  const hashPage = useHashPage();
  const { status, statusError, settings, reloadStatus, reloadSettings, liveError } = useLive();
  const main = useRef<HTMLElement>(null);
  const firstRender = useRef(true);

  // No page in the URL: first run until it is done, else the overview.
  useEffect(() => {
    if (hashPage === undefined && settings) navigate(settings.firstRunDone ? 'overview' : 'first-run');
  }, [hashPage, settings]);
  const page: Page = hashPage ?? (settings && !settings.firstRunDone ? 'first-run' : 'overview');

  // After navigation, move focus to the new page's heading so keyboard and screen reader users land on it.
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    main.current?.querySelector<HTMLElement>('[data-page-heading]')?.focus();
    main.current?.scrollTo?.({ top: 0 });
  }, [page]);

  useEffect(() => {
    const titles: Record<Page, string> = {
      overview: 'Overview', repositories: 'Repositories', activity: 'Activity', docker: 'Docker', settings: 'Settings', demo: 'Demo', export: 'Export', import: 'Import', 'first-run': 'Set up',
    };
    document.title = `${titles[page]} · Layover`;
  }, [page]);

  let content: ReactNode;
  if (!status && !settings && statusError) {
    const loggedOut = (statusError as { code?: string }).code === 'UNAUTHORIZED';
    content = loggedOut ? (
      <div className="unreachable" data-testid="logged-out">
        <h1 tabIndex={-1} data-page-heading="">
          Log in to Layover
        </h1>
        <p>
          This browser is not logged in. Run <code>layover dashboard</code> on the machine Layover runs on (or use the tray's
          "Open dashboard in browser") and open the link it prints: it logs this browser in once.
        </p>
      </div>
    ) : (
      <div className="unreachable">
        <h1 tabIndex={-1} data-page-heading="">
          Layover is not answering
        </h1>
        <ErrorMessage error={statusError} onRetry={() => void Promise.all([reloadStatus(), reloadSettings()])} />
        <p className="muted">If Layover was just restarted, retry in a moment: a restart also ends browser logins, so you may need a fresh link from `layover dashboard`.</p>
      </div>
    );
  } else if (!status && !settings) {
    content = <Loading what="Layover" />;
  } else {
    content = <PageContent page={page} />;
  }

  return (
    <div className="app">
      <button type="button" className="skip-link" onClick={() => main.current?.querySelector<HTMLElement>('[data-page-heading]')?.focus()}>
        Skip to content
      </button>
      <aside className="sidebar">
        <div className="sidebar-inner">
        <div className="brand">
          <Logo />
          <span className="brand-name">Layover</span>
        </div>
        <nav aria-label="Main">
          <ul className="nav-list">
            {NAV.map(([id, label]) => (
              <li key={id}>
                <a href={hrefOf(id)} className="nav-link" aria-current={page === id ? 'page' : undefined} data-testid={`nav-${id}`}>
                  <Icon name={id} />
                  <span>{label}</span>
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="sidebar-foot">
          {status ? (
            <>
              <MirrorStateBadge state={status.state} testId="sidebar-mirror-state" />
              <code className="sidebar-address" title="Mirror address">{status.mirrorAddress}</code>
            </>
          ) : null}
        </div>
        </div>
      </aside>
      <main className="main" ref={main}>
        {statusError && status ? (
          <div className="banner banner-bad" role="alert" data-testid="connection-lost">
            Lost contact with Layover: {statusError.message}. Showing the last known state; retrying.
          </div>
        ) : null}
        {liveError ? (
          <div className="banner banner-warn" role="status">
            Live updates are off ({liveError.message}); the page refreshes every few seconds instead.
          </div>
        ) : null}
        {content}
      </main>
    </div>
  );
}

function PageContent({ page }: { page: Page }) {
  switch (page) {
    case 'overview':
      return <OverviewPage />;
    case 'repositories':
      return <RepositoriesPage />;
    case 'activity':
      return <ActivityPage />;
    case 'docker':
      return <DockerPage />;
    case 'settings':
      return <SettingsPage />;
    case 'demo':
      return <DemoPage />;
    case 'export':
      return <ExportPage />;
    case 'import':
      return <ImportPage />;
    case 'first-run':
      return <FirstRunPage />;
  }
}
