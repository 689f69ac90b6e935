import { useEffect, useId, useRef, useState } from 'react';
import type { ConnectionTestResult, EndpointSettings, JobStatus, RegistrySettings, Settings } from '../../src-main/api/types.js';
import { useApi } from '../app/api-context.js';
import { useLive } from '../app/live.js';
import { navigate } from '../app/route.js';
import { DockerConfigChange } from '../components/DockerConfig.js';
import { OfficeMeshJoin } from '../components/PeersSettings.js';
import { ActionError, Badge, Empty, ErrorMessage, Loading, PageHeader } from '../components/ui.js';
import { plural } from '../lib/format.js';
import { checkEndpointUrl } from '../lib/settings-form.js';
import { useAction, useAsync } from '../lib/use-async.js';
import { DesktopNote, PullCheckResult } from './Docker.js';
import { ConnectionResult } from './Settings.js';

type Step = 'connect' | 'repositories' | 'docker' | 'office';
const STEPS: ReadonlyArray<[Step, string]> = [
  ['connect', 'Connect a registry'],
  ['repositories', 'Choose what to prefetch'],
  ['docker', 'Point Docker at Layover'],
  ['office', 'Share with your office'],
];

const DOCKER_HUB_HOSTS = new Set(['registry-1.docker.io', 'index.docker.io', 'docker.io', 'registry.hub.docker.com']);

/** The name clients use for the registry behind a URL: its host (and port), docker.io for Docker Hub. */
/**
 * A URL with a path after the host is a Harbor / MSR 4 proxy project (https://msr-fra.example.com/hub-proxy/):
 * the host is the endpoint, the path its repository prefix. Registries answer at their root, so a path means nothing else.
 */
export function splitProxyUrl(url: string): { url: string; prefix: string } {
  try {
    const parsed = new URL(url.trim());
    const prefix = parsed.pathname.replace(/^\/+|\/+$/g, '');
    return prefix ? { url: parsed.origin, prefix: `${prefix}/` } : { url: url.trim().replace(/\/+$/, ''), prefix: '' };
  } catch {
    return { url: url.trim(), prefix: '' };
  }
}

export function registryNameOf(url: string): string {
  try {
    const host = new URL(url.trim()).host.toLowerCase();
    return DOCKER_HUB_HOSTS.has(host) ? 'docker.io' : host;
  } catch {
    return '';
  }
}

/**
 * Adds the endpoint to the registry list: its credentials replace those of the same URL, else it goes last
 * (origin), or first for a regional cache (a proxy project, asked before the registry itself).
 */
export function withEndpoint(registries: RegistrySettings[], name: string, endpoint: EndpointSettings, position: 'first' | 'last' = 'last'): RegistrySettings[] {
  const strip = (list: EndpointSettings[]): EndpointSettings[] => list.map(({ hasPassword: _h, ...rest }) => rest);
  const existing = registries.find((r) => r.name === name);
  if (!existing) return [...registries.map((r) => ({ ...r, endpoints: strip(r.endpoints) })), { name, endpoints: [endpoint] }];
  return registries.map((r) => {
    if (r.name !== name) return { ...r, endpoints: strip(r.endpoints) };
    const endpoints = strip(r.endpoints);
    const index = endpoints.findIndex((e) => e.url === endpoint.url);
    if (index === -1) return { ...r, endpoints: position === 'first' ? [endpoint, ...endpoints] : [...endpoints, endpoint] };
    endpoints[index] = endpoint;
    return { ...r, endpoints };
  });
}

export function FirstRunPage() {
  const api = useApi();
  const { settings, settingsError, reloadSettings, setSettings } = useLive();
  const [step, setStep] = useState<Step>('connect');
  const [registry, setRegistry] = useState<string>();
  const finish = useAction(async () => {
    setSettings(await api.updateSettings({ firstRunDone: true }));
    navigate('overview');
  });
  const stepIndex = STEPS.findIndex(([s]) => s === step);
  const body = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (stepIndex > 0) body.current?.querySelector<HTMLElement>('h2')?.focus();
  }, [stepIndex]);

  return (
    <div className="first-run" data-testid="first-run" data-step={step}>
      <PageHeader title="Set up Layover">
        <button type="button" className="button button-quiet" onClick={() => void finish.run()} disabled={finish.busy} data-testid="first-run-skip">
          Skip setup
        </button>
      </PageHeader>
      <p className="lead">
        Three steps, then Layover keeps the images your team pulls next to you. Every step can be changed later in Settings.
      </p>
      <ActionError error={finish.error} />
      <ol className="steps" aria-label="Setup steps">
        {STEPS.map(([s, label], index) => (
          <li key={s} className={`step${index < stepIndex ? ' step-done' : ''}${s === step ? ' step-current' : ''}`} aria-current={s === step ? 'step' : undefined}>
            <span className="step-number" aria-hidden="true">{index < stepIndex ? '✓' : index + 1}</span>
            <span>{label}</span>
          </li>
        ))}
      </ol>
      <div className="card first-run-body" ref={body}>
        {!settings ? (
          settingsError ? <ErrorMessage error={settingsError} what="settings" onRetry={() => void reloadSettings()} /> : <Loading what="settings" />
        ) : step === 'connect' ? (
          <ConnectStep
            settings={settings}
            onDone={(name) => {
              setRegistry(name);
              setStep('repositories');
            }}
          />
        ) : step === 'repositories' ? (
          <RepositoriesStep registry={registry ?? settings.defaultRegistry} onDone={() => setStep('docker')} onBack={() => setStep('connect')} />
        ) : (
          step === 'docker' ? (
            <DockerStep finishing={false} onFinish={() => setStep('office')} onBack={() => setStep('repositories')} />
          ) : (
            <OfficeStep finishing={finish.busy} onFinish={() => void finish.run()} onBack={() => setStep('docker')} />
          )
        )}
      </div>
    </div>
  );
}

function ConnectStep({ settings, onDone }: { settings: Settings; onDone(registry: string): void }) {
  const api = useApi();
  const { setSettings } = useLive();
  const id = useId();
  const [url, setUrl] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [caFile, setCaFile] = useState('');
  const [makeDefault, setMakeDefault] = useState(false);
  const [urlError, setUrlError] = useState<string>();
  const [result, setResult] = useState<ConnectionTestResult>();
  const [proxied, setProxied] = useState('docker.io');
  const split = splitProxyUrl(url);
  // A proxy project caches another registry: the endpoint joins that registry, ahead of its origin.
  const name = split.prefix ? proxied.trim() : registryNameOf(url);

  const endpoint = (): EndpointSettings => ({
    url: split.url,
    ...(split.prefix ? { repositoryPrefix: split.prefix } : {}),
    ...(username.trim() ? { username: username.trim() } : {}),
    ...(password ? { password } : {}),
    ...(caFile.trim() ? { caFile: caFile.trim() } : {}),
  });
  const test = useAction(async () => {
    setResult(undefined);
    setResult(await api.testConnection(endpoint()));
  });
  const save = useAction(async () => {
    const patch: Partial<Settings> = { registries: withEndpoint(settings.registries, name, endpoint(), split.prefix ? 'first' : 'last') };
    if (makeDefault) patch.defaultRegistry = name;
    setSettings(await api.updateSettings(patch));
    onDone(name);
  });
  const onTest = (e: React.FormEvent): void => {
    e.preventDefault();
    const problem = checkEndpointUrl(url);
    setUrlError(problem);
    if (!problem) void test.run();
  };
  const changed = (setter: (v: string) => void) => (e: React.ChangeEvent<HTMLInputElement>) => {
    setter(e.target.value);
    setResult(undefined);
  };

  return (
    <form onSubmit={onTest} noValidate aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} tabIndex={-1}>
        Connect a registry
      </h2>
      <p className="muted">The registry your team pulls from, e.g. your DTR, or its regional cache. Layover fetches each image from it once.</p>
      <div className="form-grid form-grid-2">
        <div className="field">
          <label htmlFor={`${id}-url`}>Registry URL</label>
          <input
            id={`${id}-url`}
            value={url}
            onChange={changed(setUrl)}
            placeholder="https://dtr.example.com"
            data-testid="first-run-url"
            aria-invalid={urlError ? true : undefined}
            aria-describedby={urlError ? `${id}-url-error` : `${id}-url-hint`}
          />
          {urlError ? (
            <p className="field-error" id={`${id}-url-error`}>
              {urlError}
            </p>
          ) : (
            <p className="hint" id={`${id}-url-hint`}>
              {split.prefix ? (
                <>
                  A proxy project (Harbor, MSR 4): <code>library/alpine</code> is asked there as <code>{split.prefix}library/alpine</code>, ahead of the registry it caches.
                </>
              ) : name ? (
                <>
                  Clients pull it as <code>{name}/org/app:tag</code>
                </>
              ) : (
                'https:// and the host; a port if it has one. For a Harbor or MSR 4 proxy project, add its name: https://msr.example.com/hub-proxy/'
              )}
            </p>
          )}
        </div>
        {split.prefix ? (
          <div className="field">
            <label htmlFor={`${id}-proxied`}>Registry it caches</label>
            <input id={`${id}-proxied`} value={proxied} onChange={changed(setProxied)} placeholder="docker.io" data-testid="first-run-proxied" />
            <p className="hint">Pulls of this registry try the proxy project first and the registry itself when it fails.</p>
          </div>
        ) : null}
        <div className="field">
          <label htmlFor={`${id}-ca`}>CA bundle (optional)</label>
          <input id={`${id}-ca`} value={caFile} onChange={changed(setCaFile)} placeholder="/etc/ssl/certs/company-root.pem" />
          <p className="hint">A PEM file, if the registry's certificate comes from your company's own CA.</p>
        </div>
        <div className="field">
          <label htmlFor={`${id}-user`}>Username (optional)</label>
          <input id={`${id}-user`} value={username} onChange={changed(setUsername)} autoComplete="username" data-testid="first-run-username" />
        </div>
        <div className="field">
          <label htmlFor={`${id}-password`}>Password or access token (optional)</label>
          <input id={`${id}-password`} type="password" value={password} onChange={changed(setPassword)} autoComplete="current-password" data-testid="first-run-password" />
        </div>
      </div>
      <div className="field field-check">
        <input id={`${id}-default`} type="checkbox" checked={makeDefault} onChange={(e) => setMakeDefault(e.target.checked)} />
        <label htmlFor={`${id}-default`}>
          Make it the default registry (pulls without a registry name, such as <code>docker pull nginx</code>, go to it)
        </label>
      </div>

      <ConnectionResult result={result} error={test.error} />
      <ActionError error={save.error} />
      <div className="form-actions">
        {result?.ok ? (
          <button type="button" className="button button-primary" onClick={() => void save.run()} disabled={save.busy} data-testid="first-run-continue">
            {save.busy ? 'Saving…' : 'Save and continue'}
          </button>
        ) : (
          <button type="submit" className="button button-primary" disabled={test.busy || !url.trim()} data-testid="first-run-test">
            {test.busy ? 'Testing…' : 'Test connection'}
          </button>
        )}
        {result && !result.ok ? (
          <button type="button" className="button" onClick={() => void save.run()} disabled={save.busy}>
            Save anyway
          </button>
        ) : null}
        {result?.ok ? (
          <button type="submit" className="button" disabled={test.busy}>
            Test again
          </button>
        ) : null}
      </div>
    </form>
  );
}

function RepositoriesStep({ registry, onDone, onBack }: { registry: string; onDone(): void; onBack(): void }) {
  const api = useApi();
  const id = useId();
  const [query, setQuery] = useState('');
  const [picked, setPicked] = useState<string[]>([]);
  const [byName, setByName] = useState('');
  const page = useAsync(() => api.listRepositories({ registry, ...(query.trim() ? { query: query.trim() } : {}) }), [api, registry, query]);
  const prefetch = useAction(async () => {
    const jobs: JobStatus[] = [];
    for (const repository of picked) jobs.push(await api.prefetch({ registry, repository }));
    return jobs;
  });
  const toggle = (name: string): void => setPicked((list) => (list.includes(name) ? list.filter((n) => n !== name) : [...list, name]));
  const names = page.data?.repositories.map((r) => r.name) ?? [];
  const extra = picked.filter((n) => !names.includes(n));

  return (
    <div aria-labelledby={`${id}-title`} role="group">
      <h2 id={`${id}-title`} tabIndex={-1}>
        Choose what to prefetch
      </h2>
      <p className="muted">
        Pick the repositories your team needs from <strong>{registry}</strong>. Layover starts fetching them now; you can follow the
        jobs on the Repositories page and add rules for more later.
      </p>
      <div className="field search-field">
        <label htmlFor={`${id}-search`}>Search repositories</label>
        <input id={`${id}-search`} type="search" value={query} onChange={(e) => setQuery(e.target.value)} />
      </div>
      {page.loading && !page.data ? (
        <Loading what="repositories" />
      ) : page.error && !page.data ? (
        <ErrorMessage error={page.error} what={`the catalog of ${registry}`} onRetry={() => void page.reload()} />
      ) : names.length === 0 ? (
        <Empty title={query ? `No repository matches “${query}”` : 'The registry lists no repositories'}>You can still add one by name below.</Empty>
      ) : (
        <ul className="pick-list" aria-label="Repositories">
          {[...names, ...extra].map((name) => (
            <li key={name}>
              <input type="checkbox" id={`${id}-${name}`} checked={picked.includes(name)} onChange={() => toggle(name)} />
              <label htmlFor={`${id}-${name}`}>{name}</label>
            </li>
          ))}
        </ul>
      )}
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          const name = byName.trim();
          if (name && !picked.includes(name)) setPicked((list) => [...list, name]);
          setByName('');
        }}
      >
        <div className="field">
          <label htmlFor={`${id}-name`}>Add a repository by name</label>
          <div className="input-group">
            <input id={`${id}-name`} value={byName} onChange={(e) => setByName(e.target.value)} placeholder="platform/build-agent" />
            <button type="submit" className="button" disabled={!byName.trim()}>
              Add
            </button>
          </div>
        </div>
      </form>
      {extra.length > 0 && names.length === 0 ? (
        <p>
          Chosen:{' '}
          {extra.map((n) => (
            <Badge key={n}>{n}</Badge>
          ))}
        </p>
      ) : null}
      <ActionError error={prefetch.error} />
      <div className="form-actions">
        <button
          type="button"
          className="button button-primary"
          disabled={picked.length === 0 || prefetch.busy}
          data-testid="first-run-prefetch"
          onClick={() => void prefetch.run().then((jobs) => jobs && onDone())}
        >
          {picked.length ? `Prefetch ${plural(picked.length, 'repository', 'repositories')} and continue` : 'Prefetch and continue'}
        </button>
        <button type="button" className="button" onClick={onDone} data-testid="first-run-skip-step">
          Skip this step
        </button>
        <button type="button" className="button button-quiet" onClick={onBack}>
          Back
        </button>
      </div>
    </div>
  );
}

function DockerStep({ onFinish, onBack, finishing }: { onFinish(): void; onBack(): void; finishing: boolean }) {
  const api = useApi();
  const id = useId();
  const docker = useAsync(() => api.getDockerStatus(), [api]);
  const recheck = useAction(async () => {
    const next = await api.getDockerStatus({ recheck: true });
    docker.setData(() => next);
  });
  return (
    <div aria-labelledby={`${id}-title`} role="group">
      <h2 id={`${id}-title`} tabIndex={-1}>
        Point Docker at Layover
      </h2>
      <p className="muted">Docker then asks Layover first for every Docker Hub image. Nothing else in daemon.json changes.</p>
      {docker.loading && !docker.data ? (
        <Loading what="Docker's status" />
      ) : docker.error && !docker.data ? (
        <ErrorMessage error={docker.error} what="Docker's status" onRetry={() => void docker.reload()} />
      ) : docker.data && !docker.data.available ? (
        <div className="notice notice-warn" data-testid="docker-unavailable">
          <strong>Docker is not reachable here.</strong> {docker.error?.message ?? docker.data.error ?? ''} You can configure it later on the Docker page, or use
          the Podman and containerd snippets there.
        </div>
      ) : docker.data ? (
        <>
          {docker.data.isDesktop ? <DesktopNote docker={docker.data} /> : null}
          <DockerConfigChange docker={docker.data} onApplied={(next) => docker.setData(() => next)} />
          {docker.data.pullCheck ? <PullCheckResult check={docker.data.pullCheck} onRecheck={() => void recheck.run()} rechecking={recheck.busy} /> : null}
          <ActionError error={recheck.error} />
        </>
      ) : null}
      <div className="form-actions form-actions-end">
        <button type="button" className="button button-quiet" onClick={onBack}>
          Back
        </button>
        <button
          type="button"
          className={`button${docker.data && (docker.data.pullCheck?.outcome === 'reaches' || !docker.data.available) ? ' button-primary' : ''}`}
          onClick={onFinish}
          disabled={finishing}
          data-testid="first-run-next"
        >
          Next
        </button>
      </div>
    </div>
  );
}

/** Asked once: the office mesh stays off (Skip) unless the person creates one or joins with a colleague's code. */
function OfficeStep({ onFinish, onBack, finishing }: { onFinish(): void; onBack(): void; finishing: boolean }) {
  const { settings } = useLive();
  const joined = settings?.mesh?.enabled === true;
  return (
    <div data-testid="first-run-office">
      <h2 tabIndex={-1}>Share layers with your office's other Layovers?</h2>
      <p className="muted">
        Layovers of one office can share layers over the LAN, so the office fetches each layer once over the WAN. Only members holding the office key are answered, with blobs by digest; manifests, tags and credentials are never shared. Off unless you choose; Settings can change it later.
      </p>
      <OfficeMeshJoin />
      <div className="form-actions form-actions-end">
        <button type="button" className="button button-quiet" onClick={onBack}>
          Back
        </button>
        <button type="button" className="button button-primary" onClick={onFinish} disabled={finishing} data-testid="first-run-finish">
          {finishing ? 'Finishing…' : joined ? 'Finish setup' : 'Skip and finish'}
        </button>
      </div>
    </div>
  );
}
