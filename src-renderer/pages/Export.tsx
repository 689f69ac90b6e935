import { useId, useState } from 'react';
import type { BundleSelection, BundleTask, ExportPlan, ExportRequest, TagSelector } from '../../src-main/api/types.js';
import { useApi } from '../app/api-context.js';
import { useLayoverEvent } from '../app/live.js';
import { ActionError, Badge, PageHeader, ProgressBar, Section } from '../components/ui.js';
import { formatBytes } from '../lib/format.js';
import { describeSelector, newRuleForm, ruleFromForm, type RuleForm } from '../lib/rule-form.js';
import { useAction, useAsync } from '../lib/use-async.js';

type Mode = 'rules' | 'repository';

/**
 * Courier bundles out: choose prefetch rules or a repository, see the
 * bundle's size before anything is written, then write it and follow its
 * progress to the file written. The same as `layover export`.
 */
export function ExportPage() {
  const api = useApi();
  const rules = useAsync(() => api.listRules(), [api]);
  const ids = { mode: useId(), repository: useId(), kind: useId(), value: useId(), platforms: useId(), out: useId(), have: useId() };
  const [mode, setMode] = useState<Mode>('rules');
  const [chosenRules, setChosenRules] = useState<string[]>([]);
  const [form, setForm] = useState<RuleForm>(() => ({ ...newRuleForm('docker.io'), selectorKind: 'exact', exactTags: 'latest' }));
  const [out, setOut] = useState('');
  const [have, setHave] = useState('');
  const [plan, setPlan] = useState<ExportPlan>();
  const [task, follow] = useFollowedTask();
  const [formError, setFormError] = useState<string>();

  const request = (): ExportRequest | undefined => {
    const selections = selectionsOf(mode, chosenRules, form);
    if (typeof selections === 'string') {
      setFormError(selections);
      return undefined;
    }
    if (!out.trim()) {
      setFormError('Name where to write the bundle: a path ending in .tar for an archive, .tar.zst for a zstd-compressed one, otherwise a folder.');
      return undefined;
    }
    setFormError(undefined);
    return { selections, out: out.trim(), ...(have.trim() ? { have: have.trim() } : {}) };
  };
  const check = useAction(async (next: ExportRequest) => setPlan(await api.planExport(next)));
  const start = useAction(async (next: ExportRequest) => follow(await api.startExport(next)));
  const running = task?.state === 'running';
  const setField = (field: keyof RuleForm, value: string) => {
    setForm((current) => ({ ...current, [field]: value }));
    setPlan(undefined);
  };

  return (
    <>
      <PageHeader title="Export" />
      <Section
        title="A bundle for an office without a link"
        testId="export-form"
        description="Writes cached images as an OCI image layout (a folder, a .tar, or a zstd-compressed .tar.zst) with their tags and when they were confirmed. Carry it over, then import it there: docker pulls from that Layover with no upstream at all."
      >
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const next = request();
            if (next) void check.run(next);
          }}
        >
          <fieldset className="field">
            <legend>What to export</legend>
            <label>
              <input type="radio" name={ids.mode} checked={mode === 'rules'} onChange={() => { setMode('rules'); setPlan(undefined); }} data-testid="export-mode-rules" /> Prefetch rules
            </label>
            <label>
              <input type="radio" name={ids.mode} checked={mode === 'repository'} onChange={() => { setMode('repository'); setPlan(undefined); }} data-testid="export-mode-repository" /> A repository
            </label>
          </fieldset>
          {mode === 'rules' ? (
            <fieldset className="field" data-testid="export-rules">
              <legend>Rules</legend>
              {(rules.data ?? []).length === 0 ? <p className="muted">No prefetch rules yet: add one on the Repositories page, or export a repository.</p> : null}
              {(rules.data ?? []).map(({ rule }) => (
                <label key={rule.id}>
                  <input
                    type="checkbox"
                    checked={chosenRules.includes(rule.id)}
                    onChange={(e) => {
                      setChosenRules((current) => (e.target.checked ? [...current, rule.id] : current.filter((id) => id !== rule.id)));
                      setPlan(undefined);
                    }}
                  />{' '}
                  {rule.registry}/{rule.repository} ({describeSelector(rule.tags)})
                </label>
              ))}
            </fieldset>
          ) : (
            <>
              <div className="field">
                <label htmlFor={ids.repository}>Repository</label>
                <input id={ids.repository} value={form.repository} onChange={(e) => setField('repository', e.target.value)} placeholder="library/alpine" data-testid="export-repository" />
              </div>
              <div className="field">
                <label htmlFor={ids.kind}>Tags</label>
                <select id={ids.kind} value={form.selectorKind} onChange={(e) => setField('selectorKind', e.target.value as TagSelector['kind'])}>
                  <option value="exact">these tags</option>
                  <option value="glob">matching a glob</option>
                  <option value="semver">in a semver range</option>
                  <option value="newest">the newest versions</option>
                </select>
                <input id={ids.value} aria-label="Tag selector" value={selectorValue(form)} onChange={(e) => setField(selectorField(form), e.target.value)} data-testid="export-tags" />
              </div>
              <div className="field">
                <label htmlFor={ids.platforms}>Platforms</label>
                <input id={ids.platforms} value={form.platformsKind === 'list' ? form.platformList : form.platformsKind} onChange={(e) => {
                  const text = e.target.value.trim();
                  setForm((current) => (text === 'host' || text === 'all' ? { ...current, platformsKind: text } : { ...current, platformsKind: 'list', platformList: e.target.value }));
                  setPlan(undefined);
                }} placeholder="host, all, or linux/amd64,linux/arm64" />
              </div>
            </>
          )}
          <div className="field">
            <label htmlFor={ids.out}>Write to</label>
            <input id={ids.out} value={out} onChange={(e) => setOut(e.target.value)} placeholder="/media/usb/office-2026-12.tar" data-testid="export-out" />
          </div>
          <div className="field">
            <label htmlFor={ids.have}>Leave out what the other side holds (its inventory, optional)</label>
            <input id={ids.have} value={have} onChange={(e) => { setHave(e.target.value); setPlan(undefined); }} placeholder="/media/usb/office-inventory.json" data-testid="export-have" />
          </div>
          {formError ? <p className="field-error" role="alert">{formError}</p> : null}
          <div className="form-actions">
            <button type="submit" className="button" disabled={check.busy || running} data-testid="export-check">
              {check.busy ? 'Checking…' : 'Check size'}
            </button>
            <button type="button" className="button button-primary" disabled={!plan || start.busy || running} data-testid="export-start"
              onClick={() => {
                const next = request();
                if (next) void start.run(next);
              }}>
              Write bundle
            </button>
          </div>
          <ActionError error={check.error ?? start.error} />
        </form>
      </Section>
      {plan ? <PlanSummary plan={plan} /> : null}
      {task ? <TaskProgress task={task} /> : null}
    </>
  );
}

function PlanSummary({ plan }: { plan: ExportPlan }) {
  return (
    <Section title="Before writing" testId="export-plan">
      <p data-testid="export-plan-size">
        {count(plan.tags.length, 'tag')}, {count(plan.manifests, 'manifest')} and {count(plan.blobs, 'blob')}: <strong>{formatBytes(plan.bytes)}</strong>
      </p>
      {plan.skippedBlobs > 0 ? <p data-testid="export-plan-skipped">Leaving out {count(plan.skippedBlobs, 'blob')} ({formatBytes(plan.skippedBytes)}) the other side already holds.</p> : null}
      {plan.missingBlobs > 0 ? <p>{count(plan.missingBlobs, 'blob')} ({formatBytes(plan.missingBytes)}) not in the cache: fetched first.</p> : null}
      <ul>
        {plan.tags.map((tag) => (
          <li key={`${tag.registry}/${tag.repository}:${tag.tag}`}>
            <code>{tag.registry}/{tag.repository}:{tag.tag}</code>
          </li>
        ))}
      </ul>
    </Section>
  );
}

/**
 * The export or import this page started, kept current by `bundle` events. A
 * short task can finish before the call that started it has answered: its
 * events are kept by id, so the page shows its end however the two race.
 */
export function useFollowedTask(): [BundleTask | undefined, (started: BundleTask) => void] {
  const [followed, setFollowed] = useState<string>();
  const [latest, setLatest] = useState<Record<string, BundleTask>>({});
  useLayoverEvent((event) => {
    if (event.type === 'bundle') setLatest((current) => ({ ...current, [event.task.id]: event.task }));
  });
  const follow = (started: BundleTask) => {
    // An event already seen is newer than the call's answer.
    setLatest((current) => (current[started.id] ? current : { ...current, [started.id]: started }));
    setFollowed(started.id);
  };
  return [followed ? latest[followed] : undefined, follow];
}

/** An export's or import's progress, and its outcome. */
export function TaskProgress({ task }: { task: BundleTask }) {
  const refused = (task.imported?.refused.length ?? 0) > 0;
  const tone = task.state === 'failed' ? 'bad' : task.state === 'done' ? (refused ? 'warn' : 'good') : 'busy';
  return (
    <Section title={task.kind === 'export' ? 'Writing the bundle' : 'Importing the bundle'} testId="bundle-task">
      <p>
        <Badge tone={tone} testId="bundle-task-state">{task.state}</Badge> <span className="muted">{task.step}{refused ? ', with refusals (below)' : ''}</span>
      </p>
      {/* A finished task with nothing to count shows an empty bar, not a busy one. */}
      <ProgressBar value={task.bytesDone} max={task.state === 'running' ? task.bytesTotal : Math.max(task.bytesTotal, 1)} label={`${task.kind} progress`} testId="bundle-task-progress" />
      <p className="muted">
        {formatBytes(task.bytesDone)} of {formatBytes(task.bytesTotal)} ({task.blobsDone} of {count(task.blobsTotal, 'blob')})
      </p>
      {task.error ? <p className="field-error" role="alert">{task.error}</p> : null}
      {task.exported ? (
        <p data-testid="export-written">
          Wrote <code>{task.exported.path}</code>: {formatBytes(task.exported.bytes)} in {count(task.exported.blobs, 'blob')} and {count(task.exported.manifests, 'manifest')}
          {task.exported.skippedBlobs ? `, leaving out ${count(task.exported.skippedBlobs, 'blob')} the other side holds` : ''}.
        </p>
      ) : null}
    </Section>
  );
}

function selectionsOf(mode: Mode, rules: string[], form: RuleForm): BundleSelection[] | string {
  if (mode === 'rules') return rules.length > 0 ? rules.map((rule) => ({ kind: 'rule', rule })) : 'Choose at least one rule.';
  if (!form.repository.trim()) return 'Name the repository to export.';
  const parsed = ruleFromForm({ ...form, repository: form.repository.trim() });
  if (parsed.errors) return Object.values(parsed.errors)[0] ?? 'The selection is not valid.';
  return [{ kind: 'repository', repository: parsed.rule.repository, tags: parsed.rule.tags, platforms: parsed.rule.platforms }];
}

/** "1 blob", "3 blobs". */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function selectorField(form: RuleForm): keyof RuleForm {
  return ({ exact: 'exactTags', glob: 'globPattern', semver: 'semverRange', newest: 'newestCount' } as const)[form.selectorKind];
}

function selectorValue(form: RuleForm): string {
  return String(form[selectorField(form)] ?? '');
}
