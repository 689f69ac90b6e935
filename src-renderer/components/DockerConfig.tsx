import { useState } from 'react';
import type { DockerStatus } from '../../src-main/api/types.js';
import { useApi } from '../app/api-context.js';
import { useAction, useAsync } from '../lib/use-async.js';
import { DiffView } from './DiffView.js';
import { ActionError, ErrorMessage, Loading } from './ui.js';

/** What happened, in a line; whether pulls really arrive is the page's pull check, shown beside it. */
function appliedMessage(revert: boolean, status: DockerStatus): string {
  if (revert) return 'Docker no longer uses Layover.';
  if (status.pullCheck?.outcome === 'pending') return 'daemon.json now lists Layover: restart Docker Desktop to apply it.';
  return status.usesLayover ? 'Docker now uses Layover as its registry mirror.' : 'Docker no longer uses Layover.';
}

/**
 * Shows what applying (or reverting) Layover as Docker's registry mirror
 * would change in daemon.json, and does it on request. Used by the Docker
 * page and the last step of first run.
 */
export function DockerConfigChange({ docker, onApplied }: { docker: DockerStatus; onApplied(status: DockerStatus): void }) {
  const api = useApi();
  const [revert, setRevert] = useState(docker.usesLayover);
  const preview = useAsync(() => api.previewDockerConfig(revert ? { revert: true } : {}), [api, revert, docker.usesLayover, docker.mirrors.join(',')]);
  const apply = useAction(async () => {
    const status = await api.applyDockerConfig(revert ? { revert: true } : {});
    onApplied(status);
    return status;
  });
  const [applied, setApplied] = useState<string>();

  return (
    <div className="docker-config" data-testid="docker-config">
      <div className="segmented" role="group" aria-label="Change to preview">
        <button type="button" className="segment" aria-pressed={!revert} onClick={() => setRevert(false)}>
          Use Layover
        </button>
        <button type="button" className="segment" aria-pressed={revert} onClick={() => setRevert(true)}>
          Stop using Layover
        </button>
      </div>
      {preview.loading && !preview.data ? (
        <Loading what="the daemon.json preview" />
      ) : preview.error && !preview.data ? (
        <ErrorMessage error={preview.error} what="the daemon.json preview" onRetry={() => void preview.reload()} />
      ) : preview.data ? (
        <>
          <p>
            {preview.data.changed ? 'This change to ' : 'No change needed: '}
            <code>{preview.data.path}</code>
            {preview.data.changed ? ':' : revert ? ' does not list Layover.' : ' already lists Layover.'}
          </p>
          {preview.data.changed ? <DiffView before={preview.data.before} after={preview.data.after} label={`Change to ${preview.data.path}`} /> : null}
          {preview.data.changed ? (
            <p className="hint">
              Takes effect by: <span data-testid="docker-apply-how">{preview.data.apply}</span>
            </p>
          ) : null}
          <ActionError error={apply.error} />
          {applied ? (
            <p className="notice notice-good" role="status">
              {applied}
            </p>
          ) : null}
          <div className="form-actions">
            <button
              type="button"
              className="button button-primary"
              data-testid="docker-apply"
              disabled={!preview.data.changed || apply.busy}
              onClick={() =>
                void apply.run().then((status) => {
                  if (status) setApplied(appliedMessage(revert, status));
                })
              }
            >
              {apply.busy ? 'Applying…' : revert ? 'Revert daemon.json' : 'Apply to daemon.json'}
            </button>
          </div>
        </>
      ) : null}
    </div>
  );
}
