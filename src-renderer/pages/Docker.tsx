import { useId, useState } from 'react';
import type { DockerPullCheck, DockerStatus, RuntimeSnippet } from '../../src-main/api/types.js';
import { useApi } from '../app/api-context.js';
import { useLayoverEvent, useLive } from '../app/live.js';
import { DockerConfigChange } from '../components/DockerConfig.js';
import { ActionError, Badge, CopyButton, Empty, ErrorMessage, Loading, PageHeader, Section } from '../components/ui.js';
import { useAction, useAsync } from '../lib/use-async.js';

export function DockerPage() {
  const api = useApi();
  const { status } = useLive();
  const docker = useAsync(() => api.getDockerStatus(), [api]);
  useLayoverEvent((event) => {
    if (event.type === 'status' && event.status.docker) {
      const next = event.status.docker;
      docker.setData(() => next);
    }
  });
  const recheck = useAction(async () => {
    const next = await api.getDockerStatus({ recheck: true });
    docker.setData(() => next);
  });

  return (
    <>
      <PageHeader title="Docker" />
      <Section title="Docker Engine" testId="docker-status">
        {docker.loading && !docker.data ? (
          <Loading what="Docker's status" />
        ) : docker.error && !docker.data ? (
          <ErrorMessage error={docker.error} what="Docker's status" onRetry={() => void docker.reload()} />
        ) : docker.data ? (
          <>
            <DockerFacts docker={docker.data} mirrorUrl={status?.mirrorUrl} />
            {docker.data.pullCheck ? <PullCheckResult check={docker.data.pullCheck} onRecheck={() => void recheck.run()} rechecking={recheck.busy} /> : null}
            <ActionError error={recheck.error} />
          </>
        ) : null}
      </Section>

      {docker.data?.available ? (
        <Section
          title="Registry mirror in daemon.json"
          testId="docker-configure"
          description="Docker sends Docker Hub pulls to its registry mirrors. Layover adds itself first and keeps your other settings."
        >
          {docker.data.isDesktop ? <DesktopNote docker={docker.data} /> : null}
          <DockerConfigChange docker={docker.data} onApplied={(next) => docker.setData(() => next)} />
        </Section>
      ) : null}

      <Section
        title="Pull through Layover"
        testId="pull-through"
        description="Docker uses mirrors only for Docker Hub. For images from another registry (DTR), pull them through Layover here; they are then cached for everyone."
      >
        <PullThrough mirrorAddress={status?.mirrorAddress} />
      </Section>

      <Section title="Podman and containerd" testId="snippets" description="These runtimes are configured by a file; Layover does not write it for you.">
        <Snippets />
      </Section>
    </>
  );
}

const PULL_CHECK_TONE: Record<DockerPullCheck['outcome'], string> = { reaches: 'good', unreachable: 'bad', pending: 'warn' };

/**
 * Whether Docker's pulls really arrive at Layover: Layover asked Docker for a
 * probe image and watched for it at its mirror. A listed mirror that Docker
 * cannot reach is shown as the problem it is, with its likely cause.
 */
export function PullCheckResult({ check, onRecheck, rechecking }: { check: DockerPullCheck; onRecheck(): void; rechecking: boolean }) {
  return (
    <div className={`notice notice-${PULL_CHECK_TONE[check.outcome]}`} role="status" data-testid="docker-pull-check" data-outcome={check.outcome}>
      <p>
        {check.outcome === 'reaches' ? <strong>Verified. </strong> : check.outcome === 'unreachable' ? <strong>Not reaching Layover. </strong> : null}
        {check.message}
      </p>
      <button type="button" className="button" onClick={onRecheck} disabled={rechecking} data-testid="docker-recheck">
        {rechecking ? 'Checking…' : 'Check again'}
      </button>
    </div>
  );
}

/** Docker Desktop's engine lives in a VM: why Layover writes another address, and why a restart is needed. */
export function DesktopNote({ docker }: { docker: DockerStatus }) {
  return (
    <p className="notice notice-warn" data-testid="docker-desktop-note">
      Docker Desktop runs its engine in a VM, where 127.0.0.1 is the VM itself. Layover therefore writes{' '}
      <code>{docker.layoverMirror ?? 'http://host.docker.internal:PORT'}</code>, the address the VM reaches this computer by. Docker Desktop reads
      daemon.json only when it starts: after applying, restart it (Docker menu → Restart), then check again.
    </p>
  );
}

/** Docker lists a mirror as http://host:port/; Layover names it without the slash. */
function sameMirror(a: string, b: string | undefined): boolean {
  return b !== undefined && a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

function DockerFacts({ docker, mirrorUrl }: { docker: DockerStatus; mirrorUrl?: string | undefined }) {
  if (!docker.available) {
    return (
      <div className="notice notice-warn" data-testid="docker-unavailable">
        <strong>Docker is not reachable.</strong> {docker.error?.replace(/^Docker is not reachable:\s*/, '') ?? 'Start Docker, or install it, and this page fills in.'}
      </div>
    );
  }
  return (
    <dl className="facts">
      <div>
        <dt>Engine</dt>
        <dd>
          {docker.isDesktop ? 'Docker Desktop' : 'Docker Engine'} {docker.version ?? ''}
        </dd>
      </div>
      <div>
        <dt>Uses Layover</dt>
        <dd data-testid="docker-uses-layover" data-state={docker.usesLayover ? 'yes' : 'no'}>
          {docker.usesLayover ? <Badge tone="good">Yes</Badge> : <Badge tone="warn">No</Badge>}
        </dd>
      </div>
      <div>
        <dt>Registry mirrors</dt>
        <dd>
          {docker.mirrors.length === 0 ? (
            <span className="muted">none</span>
          ) : (
            <ul className="plain-list">
              {docker.mirrors.map((m) => (
                <li key={m}>
                  <code>{m}</code> {sameMirror(m, docker.layoverMirror ?? mirrorUrl) ? <span className="muted small">(Layover)</span> : null}
                </li>
              ))}
            </ul>
          )}
        </dd>
      </div>
      {docker.daemonJsonPath ? (
        <div>
          <dt>Configuration</dt>
          <dd>
            <code>{docker.daemonJsonPath}</code>
          </dd>
        </div>
      ) : null}
      {docker.error ? (
        <div>
          <dt>Problem</dt>
          <dd className="text-bad">{docker.error}</dd>
        </div>
      ) : null}
    </dl>
  );
}

function PullThrough({ mirrorAddress }: { mirrorAddress?: string | undefined }) {
  const api = useApi();
  const id = useId();
  const [reference, setReference] = useState('');
  const [result, setResult] = useState<{ reference: string; digest?: string }>();
  const pull = useAction(async (ref: string) => {
    setResult(undefined);
    setResult(await api.pullThroughLayover({ reference: ref }));
  });
  return (
    <form
      className="pull-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (reference.trim()) void pull.run(reference.trim());
      }}
    >
      <div className="field">
        <label htmlFor={id}>Image reference</label>
        <div className="input-group">
          <input id={id} value={reference} placeholder="dtr.example.com/platform/build-agent:3.4.1" onChange={(e) => setReference(e.target.value)} data-testid="pull-reference" />
          <button type="submit" className="button button-primary" disabled={pull.busy || !reference.trim()}>
            {pull.busy ? 'Pulling…' : 'Pull through Layover'}
          </button>
        </div>
        {mirrorAddress ? (
          <p className="hint">
            From a shell: <code>docker pull {mirrorAddress}/{reference.trim() || 'dtr.example.com/org/app:tag'}</code>
          </p>
        ) : null}
      </div>
      <ActionError error={pull.error} />
      {result ? (
        <p className="notice notice-good" role="status" data-testid="pull-result">
          Pulled <code>{result.reference}</code>
          {result.digest ? (
            <>
              {' '}
              as <code>{result.digest}</code>
            </>
          ) : null}
        </p>
      ) : null}
    </form>
  );
}

const RUNTIME_NAMES: Record<RuntimeSnippet['runtime'], string> = { podman: 'Podman', containerd: 'containerd' };

function Snippets() {
  const api = useApi();
  const snippets = useAsync(() => api.runtimeSnippets(), [api]);
  if (snippets.loading && !snippets.data) return <Loading what="snippets" />;
  if (snippets.error && !snippets.data) return <ErrorMessage error={snippets.error} what="the snippets" onRetry={() => void snippets.reload()} />;
  if (!snippets.data?.length) return <Empty title="No snippets" />;
  return (
    <div className="snippets">
      {snippets.data.map((s) => (
        <article key={s.runtime} className="snippet" data-testid="snippet" data-runtime={s.runtime}>
          <div className="snippet-head">
            <h3>{RUNTIME_NAMES[s.runtime]}</h3>
            <CopyButton text={s.content} label={`Copy the ${RUNTIME_NAMES[s.runtime]} snippet`} />
          </div>
          <p className="muted">{s.explanation}</p>
          <p className="small">
            File: <code>{s.path}</code> <CopyButton text={s.path} label={`Copy the ${RUNTIME_NAMES[s.runtime]} file path`} />
          </p>
          <pre className="code" tabIndex={0} aria-label={`${RUNTIME_NAMES[s.runtime]} snippet`}>
            {s.content}
          </pre>
        </article>
      ))}
    </div>
  );
}
