import { useEffect, useId, useMemo, useState } from 'react';
import type { JobStatus, PrefetchRule, RuleStatus, TagState } from '../../src-main/api/types.js';
import { useApi } from '../app/api-context.js';
import { useLayoverEvent, useLive } from '../app/live.js';
import { JobStateBadge, SyncBadge } from '../components/badges.js';
import { CachedRepositories } from '../components/CachedRepositories.js';
import { ACTIVE_JOB_STATES, JobRow, sortJobs, upsertJob } from '../components/Jobs.js';
import { Pager, useCursorPages } from '../components/Pager.js';
import { RuleEditor } from '../components/RuleEditor.js';
import { AttachmentsBadge } from '../components/AttachmentsBadge.js';
import { ActionError, Badge, Empty, ErrorMessage, Loading, PageHeader, RelativeTime, Section } from '../components/ui.js';
import { plural, shortDigest } from '../lib/format.js';
import { describeBandwidth, describePlatforms, describeSchedule, describeSelector } from '../lib/rule-form.js';
import { useAction, useAsync } from '../lib/use-async.js';
import { useDebounced } from '../lib/use-debounced.js';

export function RepositoriesPage() {
  const api = useApi();
  const { settings, status } = useLive();
  const registries = useMemo(
    () => settings?.registries.map((r) => r.name) ?? status?.registries.map((r) => r.name) ?? [],
    [settings, status],
  );
  const defaultRegistry = settings?.defaultRegistry ?? status?.registries.find((r) => r.isDefault)?.name ?? registries[0] ?? '';
  const [chosenRegistry, setChosenRegistry] = useState<string>();
  const registry = chosenRegistry && registries.includes(chosenRegistry) ? chosenRegistry : defaultRegistry;
  const registryId = useId();

  const jobs = useAsync(() => api.listJobs(), [api]);
  const rules = useAsync(() => api.listRules(), [api]);
  const [selected, setSelected] = useState<string>();
  const [editing, setEditing] = useState<{ rule?: PrefetchRule; repository?: string }>();
  const [tagsVersion, setTagsVersion] = useState(0);

  useLayoverEvent((event) => {
    if (event.type === 'job') {
      jobs.setData((current) => upsertJob(current ?? [], event.job));
      if (!ACTIVE_JOB_STATES.has(event.job.state)) {
        // A finished job changes what is cached: the catalog's badges and the open tag list both reload.
        setTagsVersion((v) => v + 1);
        void rules.reload();
      }
    }
    if (event.type === 'settings') void rules.reload();
  });

  const onJobStarted = (job: JobStatus): void => jobs.setData((current) => upsertJob(current ?? [], job));

  return (
    <>
      <PageHeader title="Repositories">
        {registries.length > 0 ? (
          <div className="inline-field">
            <label htmlFor={registryId}>Registry</label>
            <select
              id={registryId}
              value={registry}
              onChange={(e) => {
                setChosenRegistry(e.target.value);
                setSelected(undefined);
              }}
            >
              {registries.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </div>
        ) : null}
      </PageHeader>

      <Section title="Prefetch jobs" testId="jobs" description="Prefetch shares the link with pulls and always yields to them.">
        {jobs.data ? (
          <JobsList jobs={jobs.data} onChange={onJobStarted} />
        ) : jobs.error ? (
          <ErrorMessage error={jobs.error} what="prefetch jobs" onRetry={() => void jobs.reload()} />
        ) : (
          <Loading what="jobs" />
        )}
      </Section>

      <div className="catalog-layout">
        <div className="catalog-column">
          <Section title={`Catalog of ${registry || 'the registry'}`} testId="catalog">
            {registry ? (
              <Catalog
                key={registry}
                registry={registry}
                selected={selected}
                onSelect={setSelected}
                jobs={jobs.data ?? []}
                onJobStarted={onJobStarted}
                version={tagsVersion}
              />
            ) : (
              <Empty title="No registry configured">Add a registry in Settings first.</Empty>
            )}
          </Section>
          <Section title="In this cache" testId="cached" description="What Layover holds of this registry, from its own index.">
            {registry ? <CachedRepositories key={registry} registry={registry} selected={selected} onSelect={setSelected} version={tagsVersion} /> : null}
          </Section>
        </div>
        <Section title={selected ? selected : 'Tags'} testId="tags">
          {selected ? (
            <TagPanel
              key={`${registry}/${selected}`}
              registry={registry}
              repository={selected}
              version={tagsVersion}
              onJobStarted={onJobStarted}
              onNewRule={() => setEditing({ repository: selected })}
            />
          ) : (
            <Empty title="No repository selected">Pick a repository in the catalog to see its tags and how they are cached.</Empty>
          )}
        </Section>
      </div>

      <Section
        title="Prefetch rules"
        testId="rules"
        description="Rules keep tags fresh ahead of time, so the morning's pulls are local."
        actions={
          !editing ? (
            <button type="button" className="button" onClick={() => setEditing({})}>
              New rule
            </button>
          ) : null
        }
      >
        {editing ? (
          <RuleEditor
            {...(editing.rule ? { rule: editing.rule } : {})}
            {...(editing.repository ? { repository: editing.repository } : {})}
            registries={registries}
            defaultRegistry={registry}
            onCancel={() => setEditing(undefined)}
            onSaved={() => {
              setEditing(undefined);
              void rules.reload();
            }}
          />
        ) : null}
        {rules.data ? (
          <RulesTable rules={rules.data} onEdit={(rule) => setEditing({ rule })} onChanged={() => void rules.reload()} onJobs={(started) => started.forEach(onJobStarted)} />
        ) : rules.error ? (
          <ErrorMessage error={rules.error} what="rules" onRetry={() => void rules.reload()} />
        ) : (
          <Loading what="rules" />
        )}
      </Section>
    </>
  );
}

function JobsList({ jobs, onChange }: { jobs: JobStatus[]; onChange: (job: JobStatus) => void }) {
  const [showAll, setShowAll] = useState(false);
  const sorted = sortJobs(jobs);
  const active = sorted.filter((j) => ACTIVE_JOB_STATES.has(j.state));
  const visible = showAll ? sorted : [...active, ...sorted.filter((j) => !ACTIVE_JOB_STATES.has(j.state)).slice(0, Math.max(0, 5 - active.length))];
  if (jobs.length === 0) {
    return (
      <Empty title="No prefetch jobs yet" testId="jobs-empty">
        Prefetch a repository below, or add a rule, and its progress shows here.
      </Empty>
    );
  }
  return (
    <>
      <ul className="job-list">
        {visible.map((job) => (
          <JobRow key={job.id} job={job} onChange={onChange} />
        ))}
      </ul>
      {visible.length < sorted.length ? (
        <button type="button" className="button button-link" onClick={() => setShowAll(true)}>
          Show all {sorted.length} jobs
        </button>
      ) : null}
    </>
  );
}

function Catalog({ registry, selected, onSelect, jobs, onJobStarted, version }: {
  registry: string;
  selected?: string;
  onSelect(name: string): void;
  jobs: JobStatus[];
  onJobStarted(job: JobStatus): void;
  version: number;
}) {
  const api = useApi();
  const searchId = useId();
  const [query, setQuery] = useState('');
  const debounced = useDebounced(query, 250);
  // One page on screen at a time (Previous / Next), however long the registry's catalog.
  const page = useCursorPages(
    (cursor) => api.listRepositories({ registry, ...(cursor ? { cursor } : {}), ...(debounced.trim() ? { query: debounced.trim() } : {}) }),
    [api, registry, debounced, version],
  );
  const prefetch = useAction(async (repository: string) => onJobStarted(await api.prefetch({ registry, repository })));
  const latestJob = (repository: string): JobStatus | undefined =>
    sortJobs(jobs.filter((j) => j.registry === registry && j.repository === repository))[0];

  const repositories = page.data?.repositories ?? [];
  return (
    <div className="catalog">
      <div className="field search-field">
        <label htmlFor={searchId}>Search repositories</label>
        <input id={searchId} type="search" value={query} placeholder="Filter by name" onChange={(e) => setQuery(e.target.value)} data-testid="repository-search" />
      </div>
      {page.data?.source === 'cache' ? (
        <p className="notice notice-warn" role="status">
          The upstream is unreachable, so this lists only what is cached.
        </p>
      ) : null}
      <ActionError error={prefetch.error} />
      {page.loading && !page.data ? (
        <Loading what="repositories" />
      ) : page.error && !page.data ? (
        <ErrorMessage error={page.error} what={`the catalog of ${registry}`} onRetry={() => void page.reload()} />
      ) : repositories.length === 0 ? (
        <Empty title={debounced ? `No repository matches “${debounced}”` : 'This registry lists no repositories'} testId="catalog-empty">
          {debounced ? 'Try a shorter part of the name.' : 'The account may not be allowed to list the catalog; prefetch by name with a rule instead.'}
        </Empty>
      ) : (
        <ul className="repo-list" aria-label="Repositories">
          {repositories.map((repo) => {
            const job = latestJob(repo.name);
            const busy = job && ACTIVE_JOB_STATES.has(job.state);
            return (
              <li key={repo.name} className={`repo${selected === repo.name ? ' repo-selected' : ''}`} data-testid="repository-row" data-repository={repo.name}>
                <div className="repo-main">
                  <button type="button" className="repo-name" aria-pressed={selected === repo.name} onClick={() => onSelect(repo.name)} aria-label={`Show tags of ${repo.name}`}>
                    {repo.name}
                  </button>
                  <span className="repo-badges">
                    {repo.cached ? <Badge tone="good">{plural(repo.cachedTags, 'tag')} cached</Badge> : <span className="muted small">not cached</span>}
                    {job ? <JobStateBadge state={job.state} /> : null}
                  </span>
                </div>
                <span className="repo-meta">
                  <button type="button" className="button button-small" disabled={busy || prefetch.busy} onClick={() => void prefetch.run(repo.name)} aria-label={`Prefetch ${repo.name}`}>
                    Prefetch
                  </button>
                </span>
              </li>
            );
          })}
        </ul>
      )}
      <Pager pages={page} label="Catalog" testId="catalog-pager" />
    </div>
  );
}

function TagPanel({ registry, repository, version, onJobStarted, onNewRule }: {
  registry: string;
  repository: string;
  version: number;
  onJobStarted(job: JobStatus): void;
  onNewRule(): void;
}) {
  const api = useApi();
  const tags = useAsync(() => api.listTags({ registry, repository }), [api, registry, repository, version]);
  const [picked, setPicked] = useState<ReadonlySet<string>>(new Set());
  const prefetch = useAction(async (list: string[]) => {
    onJobStarted(await api.prefetch({ registry, repository, tags: { kind: 'exact', tags: list } }));
    setPicked(new Set());
  });
  const toggle = (tag: string): void =>
    setPicked((current) => {
      const next = new Set(current);
      if (next.has(tag)) next.delete(tag);
      else next.add(tag);
      return next;
    });

  if (tags.loading && !tags.data) return <Loading what="tags" />;
  if (tags.error && !tags.data) return <ErrorMessage error={tags.error} what={`the tags of ${repository}`} onRetry={() => void tags.reload()} />;
  const list: TagState[] = tags.data ?? [];
  return (
    <div className="tag-panel">
      <div className="toolbar">
        <button type="button" className="button button-primary" disabled={picked.size === 0 || prefetch.busy} onClick={() => void prefetch.run([...picked])}>
          {picked.size ? `Prefetch ${plural(picked.size, 'tag')}` : 'Prefetch selected tags'}
        </button>
        <button type="button" className="button" onClick={onNewRule}>
          New rule for {repository}
        </button>
      </div>
      <ActionError error={prefetch.error} />
      {list.length === 0 ? (
        <Empty title="No tags" testId="tags-empty">The upstream lists no tags for this repository.</Empty>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">
                <span className="visually-hidden">Select</span>
              </th>
              <th scope="col">Tag</th>
              <th scope="col">State</th>
              <th scope="col">Cached digest</th>
              <th scope="col">Signed / attached</th>
              <th scope="col">Checked</th>
            </tr>
          </thead>
          <tbody>
            {list.map((tag) => (
              <tr key={tag.tag} data-testid="tag-row" data-tag={tag.tag}>
                <td>
                  <input type="checkbox" aria-label={`Select tag ${tag.tag}`} checked={picked.has(tag.tag)} onChange={() => toggle(tag.tag)} />
                </td>
                <td>
                  <code>{tag.tag}</code>
                  {tag.error ? <div className="cell-error">{tag.error}</div> : null}
                </td>
                <td>
                  <SyncBadge state={tag.state} {...(tag.state === 'stale' && tag.upstreamDigest ? { title: `Upstream now has ${shortDigest(tag.upstreamDigest)}` } : {})} />
                </td>
                <td>{tag.cachedDigest ? <code title={tag.cachedDigest}>{shortDigest(tag.cachedDigest)}</code> : <span className="muted">—</span>}</td>
                <td><AttachmentsBadge summary={tag.attachments} /></td>
                <td className="nowrap">{tag.lastCheck ? <RelativeTime at={tag.lastCheck} /> : <span className="muted">never</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function RulesTable({ rules, onEdit, onChanged, onJobs }: {
  rules: RuleStatus[];
  onEdit(rule: PrefetchRule): void;
  onChanged(): void;
  onJobs(jobs: JobStatus[]): void;
}) {
  const api = useApi();
  const [confirming, setConfirming] = useState<string>();
  const remove = useAction(async (id: string) => {
    await api.deleteRule({ id });
    setConfirming(undefined);
    onChanged();
  });
  const sync = useAction(async (ruleId: string) => onJobs(await api.syncNow({ ruleId })));
  if (rules.length === 0) {
    return (
      <Empty title="No rules yet" testId="rules-empty">
        A rule such as “the newest 3 tags of platform/build-agent, nightly from 19:00” keeps images ready before anyone asks.
      </Empty>
    );
  }
  return (
    <>
      <ActionError error={remove.error ?? sync.error} />
      <div className="table-scroll">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Repository</th>
              <th scope="col">Tags</th>
              <th scope="col">Platforms</th>
              <th scope="col">Schedule</th>
              <th scope="col">Bandwidth</th>
              <th scope="col">Last success</th>
              <th scope="col">Next run</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rules.map(({ rule, lastSuccess, nextRun, tags }) => {
              const failed = tags.filter((t) => t.state === 'failed').length;
              return (
                <tr key={rule.id} data-testid="rule-row" data-rule-id={rule.id} className={rule.enabled ? undefined : 'row-disabled'}>
                  <td className="nowrap">
                    <strong>{rule.repository}</strong>
                    <div className="muted small">
                      {rule.registry}
                      {rule.enabled ? '' : ' · disabled'}
                    </div>
                  </td>
                  <td>
                    {describeSelector(rule.tags)}
                    {failed ? <div className="cell-error">{plural(failed, 'tag')} failed</div> : null}
                  </td>
                  <td>{describePlatforms(rule.platforms)}</td>
                  <td>{describeSchedule(rule.schedule)}</td>
                  <td>{describeBandwidth(rule.bandwidthLimit)}</td>
                  <td className="nowrap">{lastSuccess ? <RelativeTime at={lastSuccess} /> : <span className="muted">never</span>}</td>
                  <td className="nowrap">{nextRun && rule.enabled ? <RelativeTime at={nextRun} /> : <span className="muted">—</span>}</td>
                  <td className="cell-actions">
                    <button type="button" className="button button-small" onClick={() => onEdit(rule)} aria-label={`Edit rule for ${rule.repository}`}>
                      Edit
                    </button>
                    <button type="button" className="button button-small" disabled={sync.busy} onClick={() => void sync.run(rule.id)} aria-label={`Sync ${rule.repository} now`}>
                      Sync now
                    </button>
                    {confirming === rule.id ? (
                      <button type="button" className="button button-small button-danger" onClick={() => void remove.run(rule.id)} aria-label={`Confirm deleting the rule for ${rule.repository}`}>
                        Confirm delete
                      </button>
                    ) : (
                      <button type="button" className="button button-small button-danger-quiet" onClick={() => setConfirming(rule.id)} aria-label={`Delete rule for ${rule.repository}`}>
                        Delete
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}
