import { useId, useState } from 'react';
import { useApi } from '../app/api-context.js';
import { ActionError, PageHeader, Section } from '../components/ui.js';
import { formatBytes } from '../lib/format.js';
import { useAction } from '../lib/use-async.js';
import { TaskProgress, useFollowedTask } from './Export.js';

/**
 * Courier bundles in: pick the bundle on the drive, follow the import, and
 * see what was added, what was already here, and what was refused (with
 * why). The same as `layover import`.
 */
export function ImportPage() {
  const api = useApi();
  const ids = { path: useId(), pin: useId(), repository: useId() };
  const [path, setPath] = useState('');
  const [pinDays, setPinDays] = useState('30');
  const [repository, setRepository] = useState('');
  const [task, follow] = useFollowedTask();
  const [formError, setFormError] = useState<string>();
  const start = useAction(async () => {
    const days = Number(pinDays);
    if (!path.trim()) return setFormError('Name the bundle: its folder or its .tar (or .tar.zst) file.');
    if (!Number.isFinite(days) || days < 0) return setFormError('Keep for a number of days, 0 or more.');
    setFormError(undefined);
    follow(await api.startImport({ path: path.trim(), pinDays: days, ...(repository.trim() ? { repository: repository.trim() } : {}) }));
  });
  const result = task?.imported;

  return (
    <>
      <PageHeader title="Import" />
      <Section
        title="Import a courier bundle"
        testId="import-form"
        description="Every blob is verified as it is read: a damaged one is refused and named, the rest still imports. Tags keep the time they were last confirmed, so freshness and stale serving stay honest."
      >
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void start.run();
          }}
        >
          <div className="field">
            <label htmlFor={ids.path}>Bundle (folder, .tar or .tar.zst on this machine)</label>
            <input id={ids.path} value={path} onChange={(e) => setPath(e.target.value)} placeholder="/media/usb/office-2026-12.tar" data-testid="import-path" />
          </div>
          <div className="field">
            <label htmlFor={ids.pin}>Keep from eviction (days)</label>
            <input id={ids.pin} type="number" min="0" step="1" value={pinDays} onChange={(e) => setPinDays(e.target.value)} data-testid="import-pin-days" />
          </div>
          <div className="field">
            <label htmlFor={ids.repository}>Repository for a layout from another tool (optional)</label>
            <input id={ids.repository} value={repository} onChange={(e) => setRepository(e.target.value)} placeholder="library/alpine" />
          </div>
          {formError ? <p className="field-error" role="alert">{formError}</p> : null}
          <div className="form-actions">
            <button type="submit" className="button button-primary" disabled={start.busy || task?.state === 'running'} data-testid="import-start">
              Import
            </button>
          </div>
          <ActionError error={start.error} />
        </form>
      </Section>
      {task ? <TaskProgress task={task} /> : null}
      {result ? (
        <Section title="What the bundle brought" testId="import-result">
          <p data-testid="import-counts">
            Added {result.added.length} ({formatBytes(result.addedBytes)}), already here {result.alreadyPresent.length}, refused {result.refused.length}.
          </p>
          {result.tags.length > 0 ? (
            <p>
              Tags: {result.tags.map((tag) => <code key={tag}>{tag} </code>)}
            </p>
          ) : null}
          {result.added.length + result.alreadyPresent.length === 0 && result.refused.length > 0 ? (
            <p className="field-error" role="alert" data-testid="import-nothing">Nothing was imported: this Layover holds exactly what it held before.</p>
          ) : null}
          {result.pinnedUntil && result.added.length + result.alreadyPresent.length > 0 ? (
            <p className="muted">Kept from eviction until {new Date(result.pinnedUntil).toLocaleDateString()}.</p>
          ) : null}
          {result.refused.length > 0 ? (
            <ul data-testid="import-refused">
              {result.refused.map((refused) => (
                <li key={refused.entry}>
                  <code>{refused.entry}</code>: {refused.reason}
                </li>
              ))}
            </ul>
          ) : null}
        </Section>
      ) : null}
    </>
  );
}
