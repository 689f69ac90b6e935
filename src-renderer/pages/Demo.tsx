import { useId, useState } from 'react';
import type { DemoLink, DemoPull, DemoRequest, DemoStatus } from '../../src-main/api/types.js';
import { useApi } from '../app/api-context.js';
import { useLayoverEvent } from '../app/live.js';
import { ActionError, Badge, ErrorMessage, Loading, PageHeader, ProgressBar, Section, type Tone } from '../components/ui.js';
import { formatBytes, formatMs } from '../lib/format.js';
import { useAction, useAsync } from '../lib/use-async.js';

const MiB = 1024 * 1024;
const CUSTOM = 'custom';

/**
 * The demo: a simulated office link and origin on this machine, pulled three
 * times side by side (straight over the link, through Layover cold, warm),
 * live from `demo` events. Always labelled a simulation.
 */
export function DemoPage() {
  const api = useApi();
  const demo = useAsync(() => api.getDemo(), [api]);
  useLayoverEvent((event) => {
    if (event.type === 'demo') demo.setData(() => event.demo);
  });

  return (
    <>
      <PageHeader title="Demo">
        <Badge tone="busy" testId="demo-simulation" title="Origin, link and images are simulated on this machine">
          Simulation
        </Badge>
      </PageHeader>
      {demo.loading && !demo.data ? (
        <Loading what="the demo" />
      ) : demo.error && !demo.data ? (
        <ErrorMessage error={demo.error} what="the demo" onRetry={() => void demo.reload()} />
      ) : demo.data ? (
        <DemoContent demo={demo.data} onStarted={(next) => demo.setData(() => next)} />
      ) : null}
    </>
  );
}

function DemoContent({ demo, onStarted }: { demo: DemoStatus; onStarted: (status: DemoStatus) => void }) {
  const running = demo.state === 'preparing' || demo.state === 'running';
  return (
    <>
      <Section
        title="A simulation of what an office cache saves"
        testId="demo-setup"
        description="A sample registry behind a simulated office link, and a Layover with an empty cache in front of it. The same image is pulled three times. Nothing leaves this machine; your cache, settings and counters are not touched."
      >
        <DemoForm demo={demo} running={running} onStarted={onStarted} />
      </Section>
      <div className="demo-pulls" data-testid="demo-pulls">
        {demo.pulls.map((pull, index) => (
          <PullColumn key={pull.kind} pull={pull} number={index + 1} />
        ))}
      </div>
      <Outcome demo={demo} />
    </>
  );
}

function DemoForm({ demo, running, onStarted }: { demo: DemoStatus; running: boolean; onStarted: (status: DemoStatus) => void }) {
  const api = useApi();
  const ids = { profile: useId(), rate: useId(), latency: useId(), size: useId() };
  const [profile, setProfile] = useState(demo.link.id ?? CUSTOM);
  const [rate, setRate] = useState(String(demo.link.downBytesPerSecond / 125_000 || 20));
  const [latency, setLatency] = useState(String(demo.link.latencyMs));
  const [sizeMiB, setSizeMiB] = useState(String(Math.round((demo.image?.bytes ?? demo.defaultSizeBytes) / MiB)));
  const start = useAction(async (request: DemoRequest) => onStarted(await api.startDemo(request)));
  const cancel = useAction(async () => onStarted(await api.cancelDemo()));

  const request = (): DemoRequest => ({
    link: profile === CUSTOM ? `${rate.trim()}mbit,${latency.trim()}ms` : profile,
    sizeBytes: Math.round(Number(sizeMiB) * MiB),
  });
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void start.run(request());
      }}
    >
      <div className="form-grid demo-form">
        <div className="field">
          <label htmlFor={ids.profile}>Office link</label>
          <select id={ids.profile} value={profile} onChange={(e) => setProfile(e.target.value)} disabled={running} data-testid="demo-profile">
            {demo.profiles.map((p) => (
              <option key={p.id} value={p.id}>
                {linkText(p)}
              </option>
            ))}
            <option value={CUSTOM}>Custom link…</option>
          </select>
        </div>
        {profile === CUSTOM ? (
          <>
            <div className="field">
              <label htmlFor={ids.rate}>Bandwidth (Mbit/s)</label>
              <input id={ids.rate} type="number" min="0.1" step="any" value={rate} onChange={(e) => setRate(e.target.value)} disabled={running} />
            </div>
            <div className="field">
              <label htmlFor={ids.latency}>Latency (ms, one way)</label>
              <input id={ids.latency} type="number" min="0" step="any" value={latency} onChange={(e) => setLatency(e.target.value)} disabled={running} />
            </div>
          </>
        ) : null}
        <div className="field">
          <label htmlFor={ids.size}>Image size (MiB)</label>
          <input id={ids.size} type="number" min="1" step="any" value={sizeMiB} onChange={(e) => setSizeMiB(e.target.value)} disabled={running} />
        </div>
      </div>
      <div className="form-actions demo-actions">
        <button type="submit" className="button button-primary" disabled={running || start.busy} data-testid="demo-run">
          {running ? 'Running…' : demo.state === 'idle' ? 'Run demo' : 'Run again'}
        </button>
        {running ? (
          <button type="button" className="button" onClick={() => void cancel.run()} disabled={cancel.busy} data-testid="demo-cancel">
            {cancel.busy ? 'Cancelling…' : 'Cancel'}
          </button>
        ) : null}
        <p className="muted demo-step" role="status" aria-live="polite" data-testid="demo-step">
          {demo.state === 'idle' ? null : demo.step}
        </p>
      </div>
      <ActionError error={start.error ?? cancel.error} />
    </form>
  );
}

const PULL_BADGES: Record<DemoPull['state'], [Tone, string]> = {
  waiting: ['neutral', 'Waiting'],
  running: ['busy', 'Pulling'],
  done: ['good', 'Done'],
  failed: ['bad', 'Failed'],
  cancelled: ['warn', 'Cancelled'],
};

function PullColumn({ pull, number }: { pull: DemoPull; number: number }) {
  const [tone, label] = PULL_BADGES[pull.state];
  const started = pull.state !== 'waiting';
  return (
    <section className="card demo-pull" aria-label={`Pull ${number}: ${pull.label}`} data-testid="demo-pull" data-kind={pull.kind} data-state={pull.state}>
      <div className="demo-pull-head">
        <h2>
          <span className="demo-pull-number" aria-hidden="true">
            {number}
          </span>
          {pull.label}
        </h2>
        <Badge tone={tone}>{label}</Badge>
      </div>
      <p className="muted small">{pull.route}</p>
      <ProgressBar value={pull.bytesDone} max={Math.max(pull.bytesTotal, 1)} label={`Pull ${number} progress`} tone={pull.state === 'done' ? 'good' : undefined} />
      <dl className="demo-figures">
        <div>
          <dt>Elapsed</dt>
          <dd className="demo-elapsed" data-testid="demo-elapsed">
            {started ? formatMs(pull.seconds * 1000) : '—'}
          </dd>
        </div>
        <div>
          <dt>Received</dt>
          <dd>{started ? `${formatBytes(pull.bytesDone)} of ${formatBytes(pull.bytesTotal)}` : '—'}</dd>
        </div>
        <div>
          <dt>Over the office link</dt>
          <dd data-testid="demo-link-bytes" className={pull.kind === 'warm' && pull.state === 'done' && pull.linkBytes === 0 ? 'text-good' : undefined}>
            {started ? (pull.linkBytes === 0 ? '0 bytes' : formatBytes(pull.linkBytes)) : '—'}
          </dd>
        </div>
      </dl>
    </section>
  );
}

function Outcome({ demo }: { demo: DemoStatus }) {
  if (demo.state === 'failed') {
    return (
      <div className="notice notice-bad" role="alert" data-testid="demo-error">
        <strong>The demo failed.</strong> {demo.error}
      </div>
    );
  }
  const result = demo.result;
  if (demo.state !== 'done' || !result) return null;
  const client = result.client === 'docker' ? 'docker pull' : "Layover's verifying client, as Docker was not reachable";
  return (
    <section className="card demo-summary" aria-label="Result" data-testid="demo-summary">
      <p className="demo-headline">{capitalize(result.summary)}</p>
      <p className="muted">
        {result.image} ({formatBytes(result.bytes)}, {result.layers} layers) over {linkText(result.link)}, pulled with {client}. Straight over the link{' '}
        {formatMs(result.directSeconds * 1000)}, through Layover cold {formatMs(result.coldSeconds * 1000)}, warm {formatMs(result.cachedSeconds * 1000)}.
      </p>
    </section>
  );
}

/** "Asia office → US DTR: 20 Mbit/s, 180 ms". */
function linkText(link: DemoLink): string {
  return `${link.label}: ${link.description}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
