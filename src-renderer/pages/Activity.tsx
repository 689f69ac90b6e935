import { useEffect, useId, useState } from 'react';
import type { Activity, ActivityEvent, RequestPage, RequestRecord } from '../../src-main/api/types.js';
import { useApi } from '../app/api-context.js';
import { useLayoverEvent } from '../app/live.js';
import { CacheBadge } from '../components/badges.js';
import { JobRow, sortJobs, upsertJob } from '../components/Jobs.js';
import { Pager, useCursorPages } from '../components/Pager.js';
import { Badge, Empty, ErrorMessage, Loading, PageHeader, RelativeTime, Section, type Tone } from '../components/ui.js';
import { formatBytes, formatMs, shortDigest } from '../lib/format.js';
import { useAsync } from '../lib/use-async.js';
import { useDebounced } from '../lib/use-debounced.js';

/** How many events the page keeps while it receives live ones. */
const KEEP = 500;
/** Requests on one page: the core searches and pages them. */
export const REQUEST_PAGE_SIZE = 50;

type Filter = 'all' | 'manifests' | 'errors';

export function imageOf(request: RequestRecord): string {
  const name = request.repository ? `${request.registry}/${request.repository}` : request.registry;
  if (!request.reference) return name;
  // Tags never contain ':', digests always do.
  if (request.reference.includes(':')) return `${name}@${request.reference.split(':')[0]}:${shortDigest(request.reference)}…`;
  return `${name}:${request.reference}`;
}

function matchesFilter(request: RequestRecord, filter: Filter): boolean {
  return filter === 'manifests' ? request.kind === 'manifest' : filter === 'errors' ? request.status >= 400 || Boolean(request.error) : true;
}

export function ActivityPage() {
  const api = useApi();
  const activity = useAsync(() => api.getActivity(), [api]);
  const [filter, setFilter] = useState<Filter>('all');
  const [query, setQuery] = useState('');
  const search = useDebounced(query.trim(), 250);
  const filterId = useId();
  const searchId = useId();
  // Requests are searched and paged by the core: the page on screen is all the browser holds.
  const pages = useCursorPages<RequestPage>(
    (cursor) => api.listRequests({ kind: filter, limit: REQUEST_PAGE_SIZE, ...(search ? { query: search } : {}), ...(cursor ? { cursor } : {}) }),
    [api, filter, search],
  );

  useLayoverEvent((event) => {
    const update = (change: (a: Activity) => Activity): void => activity.setData((current) => (current ? change(current) : current));
    // A new request shows at once on the first page of an unsearched list; the page keeps its size.
    if (event.type === 'request' && pages.pageNumber === 1 && !search && matchesFilter(event.request, filter)) {
      pages.setData((current) => current && { ...current, requests: [event.request, ...current.requests.filter((r) => r.id !== event.request.id)].slice(0, REQUEST_PAGE_SIZE) });
    }
    if (event.type === 'activity') update((a) => ({ ...a, events: [event.event, ...a.events].slice(0, KEEP) }));
    if (event.type === 'job') update((a) => ({ ...a, jobs: upsertJob(a.jobs, event.job) }));
  });

  const body = (() => {
    if (activity.loading && !activity.data) return <Loading what="activity" />;
    if (activity.error && !activity.data) return <ErrorMessage error={activity.error} what="activity" onRetry={() => void activity.reload()} />;
    const data = activity.data!;
    const requests = pages.data?.requests ?? [];
    const unfiltered = filter === 'all' && !search;
    return (
      <>
        <Section
          title="Recent pulls"
          testId="requests"
          description="Every request Docker and other clients sent to the mirror, newest first."
          actions={
            <div className="inline-field">
              <label htmlFor={searchId}>Search</label>
              <input id={searchId} type="search" value={query} placeholder="Image, client or status" onChange={(e) => setQuery(e.target.value)} data-testid="request-search" />
              <label htmlFor={filterId}>Show</label>
              <select id={filterId} value={filter} onChange={(e) => setFilter(e.target.value as Filter)}>
                <option value="all">All requests</option>
                <option value="manifests">Manifests only</option>
                <option value="errors">Errors only</option>
              </select>
            </div>
          }
        >
          {pages.error && !pages.data ? (
            <ErrorMessage error={pages.error} what="recent pulls" onRetry={() => void pages.reload()} />
          ) : !pages.data ? (
            <Loading what="recent pulls" />
          ) : requests.length === 0 ? (
            <Empty title={unfiltered ? 'No pulls yet' : 'Nothing matches this filter'} testId="requests-empty">
              {unfiltered ? 'Run docker pull and it appears here as it happens.' : null}
            </Empty>
          ) : (
            <div className="table-scroll">
              <table className="table" aria-label="Recent pulls">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Image</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Cache</th>
                    <th scope="col" title="The host a fetched blob came from: the endpoint, or the content cache it redirected to">Served by</th>
                    <th scope="col" className="num">Size</th>
                    <th scope="col" className="num">Took</th>
                    <th scope="col">Client</th>
                  </tr>
                </thead>
                <tbody>
                  {requests.map((r) => (
                    <tr key={r.id} data-testid="request-row" data-repository={r.repository ?? ''} data-cache={r.cache ?? ''}>
                      <td className="nowrap">
                        <RelativeTime at={r.at} past />
                      </td>
                      <td>
                        <code className="image-ref" title={r.reference}>{imageOf(r)}</code>
                        {r.error ? <div className="cell-error">{r.error}</div> : null}
                      </td>
                      <td>
                        {r.kind}
                        {r.status >= 400 ? <span className="status-code"> {r.status}</span> : null}
                      </td>
                      <td>
                        <CacheBadge cache={r.cache} />
                        {r.staleReason ? <div className="cell-note muted small" data-testid="stale-reason">{r.staleReason}</div> : null}
                      </td>
                      <td data-testid="served-by">{r.servedBy ? <code>{r.servedBy}</code> : <span className="muted">—</span>}</td>
                      <td className="num">{formatBytes(r.bytes)}</td>
                      <td className="num">{formatMs(r.durationMs)}</td>
                      <td>
                        <code>{r.client}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <Pager pages={pages} label="Recent pulls" testId="requests-pager" />
        </Section>

        <div className="two-columns">
          <Section title="Events" testId="events" description="Things worth knowing, in words you can act on.">
            <Events events={data.events} />
          </Section>
          <Section title="Job history" testId="job-history">
            {data.jobs.length === 0 ? (
              <Empty title="No prefetch jobs yet" />
            ) : (
              <ul className="job-list">
                {sortJobs(data.jobs)
                  .slice(0, 30)
                  .map((job) => (
                    <JobRow key={job.id} job={job} onChange={(next) => activity.setData((a) => a && { ...a, jobs: upsertJob(a.jobs, next) })} />
                  ))}
              </ul>
            )}
          </Section>
        </div>
      </>
    );
  })();

  return (
    <>
      <PageHeader title="Activity" />
      {body}
    </>
  );
}

const LEVEL: Record<ActivityEvent['level'], [Tone, string]> = {
  info: ['info', 'Info'],
  warning: ['warn', 'Warning'],
  error: ['bad', 'Error'],
};

function Events({ events }: { events: ActivityEvent[] }) {
  if (events.length === 0) return <Empty title="Nothing to report" testId="events-empty">Warnings and errors appear here when they happen.</Empty>;
  return (
    <ul className="event-list">
      {events.map((event, index) => {
        const [tone, label] = LEVEL[event.level];
        return (
          <li key={`${event.at}-${index}`} className={`event event-${event.level}`} data-testid="event-row" data-level={event.level}>
            <Badge tone={tone}>{label}</Badge>
            <div className="event-body">
              <p>{event.message}</p>
              <p className="muted small">
                <RelativeTime at={event.at} past />
                {event.registry ? ` · ${event.registry}` : ''}
              </p>
            </div>
          </li>
        );
      })}
    </ul>
  );
}
