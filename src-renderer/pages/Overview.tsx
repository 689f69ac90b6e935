import type { EndpointStatus, RateLimitStatus, RegistryStatus, Status, TransferStatus } from '../../src-main/api/types.js';
import { useApi } from '../app/api-context.js';
import { useLive } from '../app/live.js';
import { hrefOf } from '../app/route.js';
import { HealthBadge, MirrorStateBadge } from '../components/badges.js';
import {
  ActionError, Badge, CopyButton, Empty, ErrorMessage, Loading, PageHeader, ProgressBar, RelativeTime, Section,
} from '../components/ui.js';
import { describePullLimit, formatBytes, formatDuration, formatMs, formatRate, formatRatio, plural, shortDigest } from '../lib/format.js';
import { useAction } from '../lib/use-async.js';
import { PeersSection } from '../components/Peers.js';

export function OverviewPage() {
  const { status, statusError, reloadStatus } = useLive();
  return (
    <>
      <PageHeader title="Overview" />
      {status ? (
        <OverviewBody status={status} />
      ) : statusError ? (
        <ErrorMessage error={statusError} what="the mirror's status" onRetry={() => void reloadStatus()} />
      ) : (
        <Loading what="status" />
      )}
    </>
  );
}

function OverviewBody({ status }: { status: Status }) {
  const api = useApi();
  const { reloadStatus } = useLive();
  const pause = useAction(async (paused: boolean) => {
    await api.setPrefetchPaused({ paused });
    await reloadStatus();
  });
  const { counters, usage } = status;
  const requests = counters.hits + counters.misses;
  return (
    <div className="overview-grid">
      <section className="card mirror-card" aria-label="Mirror" data-testid="mirror-card">
        <div className="mirror-main">
          <div className="mirror-state-line">
            <MirrorStateBadge state={status.state} />
            <p className="mirror-summary" data-testid="mirror-summary">{status.summary}</p>
          </div>
          <div className="mirror-address">
            <span className="label">Mirror address</span>
            <code data-testid="mirror-address">{status.mirrorAddress}</code>
            <CopyButton text={status.mirrorAddress} label="Copy mirror address" />
          </div>
          <DockerLine status={status} />
        </div>
        <div className="mirror-side">
          <button
            type="button"
            className="button"
            disabled={pause.busy}
            aria-pressed={status.prefetchPaused}
            onClick={() => void pause.run(!status.prefetchPaused)}
          >
            {status.prefetchPaused ? 'Resume prefetch' : 'Pause prefetch'}
          </button>
          {status.prefetchPaused ? <p className="hint">Background prefetch is paused; pulls still work.</p> : null}
          <ActionError error={pause.error} />
          <p className="hint">
            Version {status.version} · up since <RelativeTime at={status.startedAt} />
          </p>
        </div>
      </section>

      <div className="stats" aria-label="Cache effect">
        <Stat label="Hit ratio" testId="hit-ratio" value={formatRatio(counters.hits, requests)}>
          {requests === 0 ? 'No requests yet' : `${counters.hits.toLocaleString('en')} hits · ${counters.misses.toLocaleString('en')} misses`}
        </Stat>
        <Stat label="Time saved" testId="time-saved" value={counters.secondsSaved > 0 ? formatDuration(counters.secondsSaved) : '—'}>
          {counters.upstreamBytesPerSecond > 0
            ? `at the measured upstream rate of ${formatRate(counters.upstreamBytesPerSecond)}`
            : 'Measured once something is fetched upstream'}
        </Stat>
        <Stat label="Served from cache" testId="bytes-from-cache" value={formatBytes(counters.bytesServedFromCache)}>
          at disk speed
        </Stat>
        <Stat label="Fetched upstream" testId="bytes-upstream" value={formatBytes(counters.bytesFetchedUpstream)}>
          {counters.upstreamErrors > 0 ? (
            <span className="text-warn">{plural(counters.upstreamErrors, 'upstream error')}</span>
          ) : (
            'no upstream errors'
          )}
        </Stat>
      </div>

      <Section
        title="Live transfers"
        testId="transfers"
        description="Blobs on their way from the upstream. Every client waiting for one follows the same transfer."
      >
        <Transfers transfers={status.transfers} />
      </Section>

      <Section title="Upstreams" testId="upstream-health" description="Tried in order: the regional cache first, then the origin.">
        <Upstreams registries={status.registries} />
      </Section>

      <PeersSection mesh={status.mesh} />

      <Section title="Cache usage" testId="cache-usage">
        <Usage status={status} />
      </Section>
    </div>
  );
}

function Stat({ label, value, testId, children }: { label: string; value: string; testId: string; children?: React.ReactNode }) {
  return (
    <div className="stat card" data-testid={testId}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      <div className="stat-detail muted">{children}</div>
    </div>
  );
}

function DockerLine({ status }: { status: Status }) {
  const docker = status.docker;
  if (!docker) return null;
  if (!docker.available) {
    return (
      <p className="docker-line muted">
        Docker: not found{docker.error ? ` (${docker.error})` : ''}. <a href={hrefOf('docker')}>Docker page</a>
      </p>
    );
  }
  return (
    <p className="docker-line" data-testid="docker-line">
      Docker {docker.version ?? ''}:{' '}
      {docker.usesLayover ? (
        <Badge tone="good">uses Layover</Badge>
      ) : (
        <>
          <Badge tone="warn">not using Layover</Badge> <a href={hrefOf('docker')}>Configure Docker</a>
        </>
      )}
    </p>
  );
}

function Transfers({ transfers }: { transfers: TransferStatus[] }) {
  if (transfers.length === 0) {
    return (
      <Empty title="Nothing downloading right now" testId="transfers-empty">
        A pull that misses the cache shows up here while it downloads.
      </Empty>
    );
  }
  return (
    <ul className="transfer-list">
      {transfers.map((t) => {
        const percent = t.bytesTotal ? Math.floor((t.bytesDone / t.bytesTotal) * 100) : undefined;
        return (
          <li key={t.id} className="transfer" data-testid="transfer-row" data-transfer-id={t.id}>
            <div className="transfer-head">
              <span className="transfer-name">
                <strong>{t.repository}</strong>
                <code className="muted" title={t.digest}>{shortDigest(t.digest)}</code>
              </span>
              <span className="transfer-meta">
                <Badge tone={t.kind === 'pull' ? 'info' : 'neutral'}>{t.kind === 'pull' ? 'Pull' : 'Prefetch'}</Badge>
                <span className="muted">{t.registry}</span>
              </span>
            </div>
            <ProgressBar value={t.bytesDone} {...(t.bytesTotal !== undefined ? { max: t.bytesTotal } : {})} label={`${t.repository} ${shortDigest(t.digest)}`} testId="transfer-progress" />
            <div className="transfer-numbers muted">
              <span data-testid="transfer-bytes">
                {formatBytes(t.bytesDone)}
                {t.bytesTotal !== undefined ? ` of ${formatBytes(t.bytesTotal)}` : ' (size not known yet)'}
                {percent !== undefined ? ` · ${percent}%` : ''}
              </span>
              <span>{formatRate(t.bytesPerSecond)}</span>
              <span>{t.clients === 0 ? 'no client waiting' : `${plural(t.clients, 'client')} waiting`}</span>
              <span>
                started <RelativeTime at={t.startedAt} />
              </span>
            </div>
          </li>
        );
      })}
    </ul>
  );
}

function Upstreams({ registries }: { registries: RegistryStatus[] }) {
  if (registries.length === 0) {
    return (
      <Empty title="No registry configured">
        Add one in <a href={hrefOf('settings')}>Settings</a>.
      </Empty>
    );
  }
  return (
    <div className="upstreams">
      {registries.map((registry) => (
        <div key={registry.name} className="upstream" data-testid="registry-health" data-registry={registry.name}>
          <h3 className="upstream-name">
            {registry.name} {registry.isDefault ? <Badge tone="neutral">default</Badge> : null}
            {registry.endpointChoice === 'fastest' ? <span className="muted small" data-testid="endpoint-choice"> · fastest healthy endpoint first</span> : null}
          </h3>
          <ol className="endpoint-list">
            {registry.endpoints.map((endpoint, index) => {
              // With "fastest" the measured figures, not the position, decide who is asked first.
              const role = registry.endpoints.length > 1 && index === registry.endpoints.length - 1 ? 'origin' : index === 0 && registry.endpoints.length > 1 && registry.endpointChoice !== 'fastest' ? 'first' : undefined;
              return (
                <li key={endpoint.url} className="endpoint" data-testid="endpoint-row" data-url={endpoint.url}>
                  <div className="endpoint-head">
                    <span className="endpoint-url">
                      <code>{endpoint.url}</code>
                      {endpoint.repositoryPrefix ? <span className="muted small" data-testid="endpoint-prefix"> as {endpoint.repositoryPrefix}…</span> : null}
                      {role ? <span className="muted small"> {role === 'origin' ? 'origin' : 'tried first'}</span> : null}
                    </span>
                    <span className="endpoint-status">
                      {endpoint.throughputBytesPerSecond !== undefined ? <span className="muted" data-testid="endpoint-throughput" title="Measured from real downloads (moving average)">{formatRate(endpoint.throughputBytesPerSecond)}</span> : null}
                      {endpoint.latencyMs !== undefined ? <span className="muted" data-testid="endpoint-latency">{formatMs(endpoint.latencyMs)}</span> : null}
                      <HealthBadge health={endpoint.health} />
                    </span>
                  </div>
                  {endpoint.rateLimit ? <PullLimitLine limit={endpoint.rateLimit} /> : null}
                  {endpoint.lastError ? (
                    <p className="endpoint-error">
                      {endpoint.lastError}
                      {endpoint.retryAt ? (
                        <span className="muted">
                          {' '}· retry <RelativeTime at={endpoint.retryAt} />
                        </span>
                      ) : null}
                    </p>
                  ) : null}
                </li>
              );
            })}
          </ol>
          {registry.redirectHosts?.length ? <RedirectHosts hosts={registry.redirectHosts} /> : null}
        </div>
      ))}
    </div>
  );
}

/** Docker Hub's pull limit as its answers state it; a 429 says why tags are served stale. */
function PullLimitLine({ limit }: { limit: RateLimitStatus }) {
  const tone = limit.exhausted ? 'endpoint-error' : limit.low ? 'text-warn small' : 'muted small';
  return (
    <p className={tone} data-testid="pull-limit">
      {describePullLimit(limit)}
      {limit.exhausted ? ': cached tags are served as they are (stale) until it resets; new images cannot be fetched' : ''}
      {limit.exhausted && limit.retryAt ? (
        <span className="muted">
          {' '}· retry <RelativeTime at={limit.retryAt} />
        </span>
      ) : null}
      {limit.source ? <span className="muted"> · counted for {limit.source}</span> : null}
    </p>
  );
}

/** Hosts the endpoints redirected downloads to (MSR 2/3 content caches, object stores), each with its own health. */
function RedirectHosts({ hosts }: { hosts: EndpointStatus[] }) {
  return (
    <div className="redirect-hosts" data-testid="redirect-hosts">
      <p className="muted small">Blobs redirected to:</p>
      <ul className="endpoint-list">
        {hosts.map((host) => (
          <li key={host.url} className="endpoint" data-testid="redirect-host" data-url={host.url}>
            <div className="endpoint-head">
              <span className="endpoint-url">
                <code>{host.url}</code>
              </span>
              <span className="endpoint-status">
                {host.throughputBytesPerSecond !== undefined ? <span className="muted">{formatRate(host.throughputBytesPerSecond)}</span> : null}
                <HealthBadge health={host.health} />
              </span>
            </div>
            {host.lastError && host.health !== 'healthy' ? <p className="endpoint-error">{host.lastError}</p> : null}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Usage({ status }: { status: Status }) {
  const { usage } = status;
  const quota = usage.quotaBytes;
  const ratio = quota > 0 ? usage.bytesUsed / quota : 0;
  return (
    <div className="usage">
      <div className="usage-figure">
        <span className="stat-value">{formatBytes(usage.bytesUsed)}</span>
        <span className="muted">{quota > 0 ? ` of ${formatBytes(quota)} (${formatRatio(usage.bytesUsed, quota)})` : ' used · no quota'}</span>
      </div>
      {quota > 0 ? (
        <ProgressBar value={usage.bytesUsed} max={quota} label="Cache usage against the quota" tone={ratio > 0.9 ? 'bad' : ratio > 0.75 ? 'warn' : undefined} testId="usage-progress" />
      ) : (
        <p className="hint">
          No quota: the cache grows until the disk is full. <a href={hrefOf('settings')}>Set a quota</a>
        </p>
      )}
      <p className="muted">
        {plural(usage.blobs, 'blob')} in {plural(usage.repositories, 'repository', 'repositories')}
      </p>
      <p className="muted small">
        Stored in <code>{status.dataDir}</code>
      </p>
    </div>
  );
}
