import { useEffect, useId, useMemo, useRef, useState, type ReactNode } from 'react';
import type { ConnectionTestResult, EndpointChoice, Settings } from '../../src-main/api/types.js';
import { useApi } from '../app/api-context.js';
import { useLive } from '../app/live.js';
import { navigate } from '../app/route.js';
import { ActionError, Badge, ByteSizeInput, ErrorMessage, Loading, PageHeader, Section } from '../components/ui.js';
import { OfficeMeshJoin, PeersSettings } from '../components/PeersSettings.js';
import { formatDuration, formatMs, formatRate } from '../lib/format.js';
import {
  draftToPatch, endpointFromDraft, newBandwidthWindowDraft, newEndpointDraft, newKey, normalizePrefix, toDraft, validateDraft,
  type BandwidthWindowDraft, type DraftErrors, type EndpointDraft, type RegistryDraft, type SettingsDraft,
} from '../lib/settings-form.js';
import { useAction } from '../lib/use-async.js';

export function SettingsPage() {
  const { settings, settingsError, reloadSettings } = useLive();
  return (
    <>
      <PageHeader title="Settings" />
      {settings ? (
        <SettingsForm settings={settings} />
      ) : settingsError ? (
        <ErrorMessage error={settingsError} what="settings" onRetry={() => void reloadSettings()} />
      ) : (
        <Loading what="settings" />
      )}
    </>
  );
}

/**
 * The desktop app's window: the preload bridge is there (the rule
 * app/transport.ts chooses by). Desktop-only settings show only there.
 */
function inDesktopApp(): boolean {
  return typeof window !== 'undefined' && window.layover !== undefined;
}

function SettingsForm({ settings }: { settings: Settings }) {
  const api = useApi();
  const desktop = inDesktopApp();
  const { setSettings } = useLive();
  const [base, setBase] = useState(settings);
  const [draft, setDraft] = useState(() => toDraft(settings));
  const [errors, setErrors] = useState<DraftErrors>({});
  const [saved, setSaved] = useState(false);
  const patch = useMemo(() => draftToPatch(base, draft), [base, draft]);
  const dirty = Object.keys(patch).length > 0;
  const changedElsewhere = settings !== base && dirty;

  // Settings changed elsewhere (tray, another browser, the CLI): follow them unless the person is editing.
  useEffect(() => {
    if (settings !== base && !dirty) {
      setBase(settings);
      setDraft((current) => toDraft(settings, current));
    }
  }, [settings, base, dirty]);

  const save = useAction(async () => {
    const next = await api.updateSettings(patch);
    setSettings(next);
    setBase(next);
    setDraft((current) => toDraft(next, current));
    setSaved(true);
  });
  const onSubmit = (e: React.FormEvent): void => {
    e.preventDefault();
    const found = validateDraft(draft);
    setErrors(found);
    setSaved(false);
    if (Object.keys(found).length > 0) return;
    void save.run();
  };
  const update = (change: (d: SettingsDraft) => SettingsDraft): void => {
    setSaved(false);
    setDraft(change);
  };
  const updateRegistry = (key: string, change: (r: RegistryDraft) => RegistryDraft): void =>
    update((d) => ({ ...d, registries: d.registries.map((r) => (r.key === key ? change(r) : r)) }));

  return (
    <form className="settings-form" onSubmit={onSubmit} noValidate aria-label="Settings">
      {changedElsewhere ? (
        <p className="notice notice-warn" role="status">
          These settings were changed elsewhere while you edited them. Save to keep yours, or{' '}
          <button type="button" className="button-link" onClick={() => { setBase(settings); setDraft(toDraft(settings)); }}>
            discard your changes
          </button>
          .
        </p>
      ) : null}

      <Section
        title="Registries"
        testId="settings-registries"
        description="Each registry lists its endpoints in the order Layover tries them: the regional cache first, then the origin."
        actions={
          <button
            type="button"
            className="button"
            onClick={() => update((d) => ({ ...d, registries: [...d.registries, { key: newKey(), name: '', bandwidthLimit: undefined, bandwidthWindows: [], endpoints: [newEndpointDraft()], endpointChoice: 'in-order', redirectHosts: [] }] }))}
          >
            Add registry
          </button>
        }
      >
        {draft.registries.length === 0 ? <p className="muted">No registries. Add one to start caching.</p> : null}
        {errors.defaultRegistry ? <p className="field-error" role="alert">{errors.defaultRegistry}</p> : null}
        {draft.registries.map((registry) => (
          <RegistryEditor
            key={registry.key}
            registry={registry}
            isDefault={draft.defaultRegistry === registry.name.trim() && registry.name.trim() !== ''}
            errors={errors}
            onChange={(change) => updateRegistry(registry.key, change)}
            onRename={(name) =>
              update((d) => ({
                ...d,
                defaultRegistry: d.defaultRegistry === registry.name.trim() ? name.trim() : d.defaultRegistry,
                registries: d.registries.map((r) => (r.key === registry.key ? { ...r, name } : r)),
              }))
            }
            onMakeDefault={() => update((d) => ({ ...d, defaultRegistry: registry.name.trim() }))}
            onRemove={() => update((d) => ({ ...d, registries: d.registries.filter((r) => r.key !== registry.key) }))}
          />
        ))}
      </Section>

      <Section title="Mirror" testId="settings-mirror">
        <div className="form-grid">
          <TextField
            label="Mirror listen address"
            value={draft.listen}
            onChange={(listen) => update((d) => ({ ...d, listen }))}
            error={errors.listen}
            hint="Where Docker pulls from. 127.0.0.1 for this machine only; 0.0.0.0 for the office."
            testId="settings-listen"
          />
          <TextField
            label="Dashboard and API address"
            value={draft.admin}
            onChange={(admin) => update((d) => ({ ...d, admin }))}
            error={errors.admin}
            hint={desktop
              ? 'Used only while "Dashboard in a browser and the command line" is on (below).'
              : 'Where this dashboard and the layover command line reach Layover. A browser logs in with a one-time link from `layover dashboard`.'}
          />
          <TextField
            label="Allowed host names"
            value={draft.allowedHosts}
            onChange={(allowedHosts) => update((d) => ({ ...d, allowedHosts }))}
            error={errors.allowedHosts}
            placeholder="layover.office.example, cache.lan"
            hint="The names an office box is reached by, separated by commas. IP addresses, localhost and host.docker.internal always work; any other name is refused, so that a web page cannot reach Layover by pointing a name of its own at it."
            testId="settings-allowed-hosts"
          />
          <ByteSizeInput
            label="Cache quota"
            value={draft.quotaBytes}
            onChange={(bytes) => update((d) => ({ ...d, quotaBytes: bytes ?? 0 }))}
            units={['GiB', 'TiB']}
            hint="0 or empty: no quota. Past it, the least recently used images go first."
            testId="settings-quota"
          />
          <TextField
            label="Tag freshness (seconds)"
            type="number"
            value={draft.tagFreshnessSeconds}
            onChange={(tagFreshnessSeconds) => update((d) => ({ ...d, tagFreshnessSeconds }))}
            error={errors.tagFreshnessSeconds}
            hint={
              Number(draft.tagFreshnessSeconds) > 0
                ? `A cached tag is served for ${formatDuration(Number(draft.tagFreshnessSeconds))} before Layover asks the upstream again.`
                : 'Every tag pull asks the upstream (a cheap HEAD request).'
            }
          />
        </div>
      </Section>

      <PeersSettings draft={draft.mesh} onChange={(mesh) => update((d) => ({ ...d, mesh }))} errors={errors} joinControls={<OfficeMeshJoin />} />

      <Section title="Desktop" testId="settings-desktop">
        <div className="field field-check">
          <input id="settings-start-at-login" type="checkbox" checked={draft.startAtLogin} onChange={(e) => update((d) => ({ ...d, startAtLogin: e.target.checked }))} />
          <label htmlFor="settings-start-at-login">Start Layover at login</label>
        </div>
        {desktop ? (
          <div className="field">
            <div className="field-check">
              <input
                id="settings-browser-dashboard"
                type="checkbox"
                checked={draft.browserDashboard}
                aria-describedby="settings-browser-dashboard-hint"
                onChange={(e) => update((d) => ({ ...d, browserDashboard: e.target.checked }))}
              />
              <label htmlFor="settings-browser-dashboard">Dashboard in a browser and the command line</label>
            </div>
            <p className="hint" id="settings-browser-dashboard-hint">
              Starts Layover&apos;s admin listener on the dashboard and API address, so that this dashboard also opens in a web browser
              (the tray&apos;s &quot;Open dashboard in browser&quot;, which logs the browser in once) and the <code>layover</code> command
              line can drive this app. This window never needs it: it talks to Layover directly. Off, nothing but the mirror listens.
              Saving a change restarts the mirror for a moment.
            </p>
          </div>
        ) : null}
        <div className="setup-again">
          <button type="button" className="button" onClick={() => navigate('first-run')}>
            Run first-run setup again
          </button>
          <span className="hint">Connect a registry, choose what to prefetch and point Docker at Layover, step by step.</span>
        </div>
      </Section>

      <div className="save-bar" data-dirty={dirty}>
        <ActionError error={save.error} />
        {saved && !dirty ? (
          <span className="saved-note" role="status" data-testid="settings-saved">
            Saved
          </span>
        ) : dirty ? (
          <span className="muted">Unsaved changes</span>
        ) : null}
        {Object.keys(errors).length > 0 ? <span className="text-bad">Fix the marked fields first.</span> : null}
        <button type="button" className="button" disabled={!dirty || save.busy} onClick={() => { setDraft(toDraft(base)); setErrors({}); }}>
          Discard changes
        </button>
        <button type="submit" className="button button-primary" disabled={!dirty || save.busy} data-testid="settings-save">
          {save.busy ? 'Saving…' : 'Save settings'}
        </button>
      </div>
    </form>
  );
}

function TextField({ label, value, onChange, error, hint, type = 'text', testId, placeholder, autoComplete }: {
  label: string;
  value: string;
  onChange(value: string): void;
  error?: string | undefined;
  hint?: ReactNode;
  type?: string;
  testId?: string;
  placeholder?: string;
  autoComplete?: string;
}) {
  const id = useId();
  const describedBy = [error ? `${id}-error` : '', hint ? `${id}-hint` : ''].filter(Boolean).join(' ');
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type={type}
        value={value}
        placeholder={placeholder}
        autoComplete={autoComplete}
        data-testid={testId}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy || undefined}
        onChange={(e) => onChange(e.target.value)}
      />
      {error ? (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
      {hint ? (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

function RegistryEditor({ registry, isDefault, errors, onChange, onRename, onMakeDefault, onRemove }: {
  registry: RegistryDraft;
  isDefault: boolean;
  errors: DraftErrors;
  onChange(change: (r: RegistryDraft) => RegistryDraft): void;
  onRename(name: string): void;
  onMakeDefault(): void;
  onRemove(): void;
}) {
  const defaultId = useId();
  const setEndpoints = (change: (list: EndpointDraft[]) => EndpointDraft[]): void => onChange((r) => ({ ...r, endpoints: change(r.endpoints) }));
  const move = (index: number, by: -1 | 1): void =>
    setEndpoints((list) => {
      const next = [...list];
      const [item] = next.splice(index, 1);
      next.splice(index + by, 0, item!);
      return next;
    });
  const label = registry.name.trim() || 'new registry';
  return (
    <div className="registry-editor" data-testid="registry-editor" data-registry={registry.name}>
      <div className="registry-editor-head">
        <div className="form-grid">
          <TextField label="Registry name" value={registry.name} onChange={onRename} error={errors[`registry.${registry.key}.name`]} placeholder="dtr.example.com" />
          <ByteSizeInput
            label="Bandwidth budget"
            value={registry.bandwidthLimit}
            onChange={(bytes) => onChange((r) => ({ ...r, bandwidthLimit: bytes }))}
            units={['KiB', 'MiB']}
            perSecond
            optional
            hint={registry.bandwidthWindows.length > 0 ? "For all of this registry's traffic outside the time windows below. Empty: unlimited." : "For all of this registry's traffic. Empty: unlimited."}
          />
        </div>
        <div className="registry-editor-actions">
          <span className="choice">
            <input type="radio" id={defaultId} name="default-registry" checked={isDefault} onChange={onMakeDefault} />
            <label htmlFor={defaultId}>Default registry</label>
          </span>
          <button type="button" className="button button-small button-danger-quiet" onClick={onRemove} aria-label={`Remove registry ${label}`}>
            Remove
          </button>
        </div>
      </div>
      <BandwidthWindowsEditor
        windows={registry.bandwidthWindows}
        registryLabel={label}
        errors={errors}
        onChange={(change) => onChange((r) => ({ ...r, bandwidthWindows: change(r.bandwidthWindows) }))}
        onAdd={() => onChange((r) => ({ ...r, bandwidthWindows: [...r.bandwidthWindows, newBandwidthWindowDraft(r.bandwidthLimit)] }))}
      />
      {registry.endpoints.length > 1 ? <EndpointChoiceField registry={registry} onChange={(choice) => onChange((r) => ({ ...r, endpointChoice: choice }))} /> : null}
      {errors[`registry.${registry.key}.endpoints`] ? <p className="field-error">{errors[`registry.${registry.key}.endpoints`]}</p> : null}
      <ol className="endpoint-editors">
        {registry.endpoints.map((endpoint, index) => (
          <EndpointEditor
            key={endpoint.key}
            endpoint={endpoint}
            index={index}
            count={registry.endpoints.length}
            error={errors[`endpoint.${endpoint.key}.url`]}
            prefixError={errors[`endpoint.${endpoint.key}.repositoryPrefix`]}
            onChange={(change) => setEndpoints((list) => list.map((e) => (e.key === endpoint.key ? change(e) : e)))}
            onMove={(by) => move(index, by)}
            onRemove={() => setEndpoints((list) => list.filter((e) => e.key !== endpoint.key))}
          />
        ))}
      </ol>
      <button type="button" className="button button-small" onClick={() => setEndpoints((list) => [...list, newEndpointDraft()])} aria-label={`Add an endpoint to ${label}`}>
        Add endpoint
      </button>
    </div>
  );
}

/** A registry's budget by time of day: rows of from, until and a limit; the first row covering the time applies. */
function BandwidthWindowsEditor({ windows, registryLabel, errors, onChange, onAdd }: {
  windows: BandwidthWindowDraft[];
  registryLabel: string;
  errors: DraftErrors;
  onChange(change: (list: BandwidthWindowDraft[]) => BandwidthWindowDraft[]): void;
  onAdd(): void;
}) {
  const hintId = useId();
  return (
    <fieldset className="bandwidth-windows" aria-describedby={hintId} data-testid="bandwidth-windows">
      <legend>Bandwidth by time of day</legend>
      <p className="hint" id={hintId}>
        Local time; a window such as 22:00 until 06:00 runs past midnight. Where windows overlap, the first one listed applies.
      </p>
      {windows.length > 0 ? (
        <ol className="bandwidth-window-list">
          {windows.map((window, index) => (
            <BandwidthWindowRow
              key={window.key}
              window={window}
              index={index}
              registryLabel={registryLabel}
              startError={errors[`window.${window.key}.start`]}
              endError={errors[`window.${window.key}.end`]}
              onChange={(change) => onChange((list) => list.map((w) => (w.key === window.key ? change(w) : w)))}
              onRemove={() => onChange((list) => list.filter((w) => w.key !== window.key))}
            />
          ))}
        </ol>
      ) : null}
      <button type="button" className="button button-small" onClick={onAdd} aria-label={`Add a bandwidth window to ${registryLabel}`}>
        Add time window
      </button>
    </fieldset>
  );
}

function BandwidthWindowRow({ window, index, registryLabel, startError, endError, onChange, onRemove }: {
  window: BandwidthWindowDraft;
  index: number;
  registryLabel: string;
  startError?: string | undefined;
  endError?: string | undefined;
  onChange(change: (w: BandwidthWindowDraft) => BandwidthWindowDraft): void;
  onRemove(): void;
}) {
  const id = useId();
  const span = window.start && window.end ? `${window.start}–${window.end}` : `${index + 1}`;
  const overnight = Boolean(window.start && window.end && !startError && !endError && window.end < window.start);
  const summary = `${window.bytesPerSecond ? `At most ${formatRate(window.bytesPerSecond)}` : 'Unlimited'}${overnight ? ', until the next morning' : ''}.`;
  return (
    <li className="bandwidth-window" data-testid="bandwidth-window">
      <div className="field">
        <label htmlFor={`${id}-start`}>From</label>
        <input
          id={`${id}-start`}
          type="time"
          value={window.start}
          aria-invalid={startError ? true : undefined}
          aria-describedby={startError ? `${id}-start-error` : undefined}
          onChange={(e) => onChange((w) => ({ ...w, start: e.target.value }))}
        />
        {startError ? <p className="field-error" id={`${id}-start-error`}>{startError}</p> : null}
      </div>
      <div className="field">
        <label htmlFor={`${id}-end`}>Until</label>
        <input
          id={`${id}-end`}
          type="time"
          value={window.end}
          aria-invalid={endError ? true : undefined}
          aria-describedby={endError ? `${id}-end-error` : undefined}
          onChange={(e) => onChange((w) => ({ ...w, end: e.target.value }))}
        />
        {endError ? <p className="field-error" id={`${id}-end-error`}>{endError}</p> : null}
      </div>
      <ByteSizeInput
        label="Budget in this window"
        value={window.bytesPerSecond}
        onChange={(bytes) => onChange((w) => ({ ...w, bytesPerSecond: bytes }))}
        units={['KiB', 'MiB']}
        perSecond
        optional
        hint={summary}
      />
      <button type="button" className="button button-small button-danger-quiet" onClick={onRemove} aria-label={`Remove the ${span} bandwidth window of ${registryLabel}`}>
        Remove
      </button>
    </li>
  );
}

/** In order (the regional cache first) or the endpoint whose real transfers were fastest. */
function EndpointChoiceField({ registry, onChange }: { registry: RegistryDraft; onChange(choice: EndpointChoice): void }) {
  const id = useId();
  return (
    <div className="field endpoint-choice" data-testid="endpoint-choice">
      <label htmlFor={id}>Which endpoint first</label>
      <select id={id} value={registry.endpointChoice} onChange={(e) => onChange(e.target.value as EndpointChoice)} aria-describedby={`${id}-hint`}>
        <option value="in-order">In the order listed</option>
        <option value="fastest">The fastest healthy one</option>
      </select>
      <p className="hint" id={`${id}-hint`}>
        {registry.endpointChoice === 'fastest'
          ? 'Each endpoint is measured by real downloads; the one that moved bytes fastest from this office is asked first while it answers. Overview shows the figures.'
          : 'The first listed is asked first; the next ones only when it fails or does not have the image.'}
      </p>
    </div>
  );
}

function EndpointEditor({ endpoint, index, count, error, prefixError, onChange, onMove, onRemove }: {
  endpoint: EndpointDraft;
  index: number;
  count: number;
  error?: string | undefined;
  prefixError?: string | undefined;
  onChange(change: (e: EndpointDraft) => EndpointDraft): void;
  onMove(by: -1 | 1): void;
  onRemove(): void;
}) {
  const api = useApi();
  const passwordId = useId();
  const insecureId = useId();
  const [result, setResult] = useState<ConnectionTestResult>();
  const test = useAction(async () => {
    setResult(undefined);
    // A saved password cannot be read back; hasPassword tells the core to test with the one it holds for this URL.
    const args = endpointFromDraft(endpoint);
    if (endpoint.hasPassword && !endpoint.password) args.hasPassword = true;
    setResult(await api.testConnection(args));
  });
  const lastUrl = useRef(endpoint.url);
  useEffect(() => {
    if (lastUrl.current !== endpoint.url) setResult(undefined);
    lastUrl.current = endpoint.url;
  }, [endpoint.url]);
  const set = <K extends keyof EndpointDraft>(key: K, value: EndpointDraft[K]): void => onChange((e) => ({ ...e, [key]: value }));
  const role = count === 1 ? 'Only endpoint' : index === 0 ? 'Tried first' : index === count - 1 ? 'Origin, tried last' : `Tried ${index + 1}${['st', 'nd', 'rd'][index] ?? 'th'}`;
  const name = endpoint.url.trim() || `endpoint ${index + 1}`;

  return (
    <li className="endpoint-editor" data-testid="endpoint-editor" data-url={endpoint.url}>
      <div className="endpoint-editor-head">
        <span className="endpoint-role">
          <span className="endpoint-index">{index + 1}</span> {role}
        </span>
        <span className="endpoint-editor-actions">
          <button type="button" className="button button-small button-quiet" disabled={index === 0} onClick={() => onMove(-1)} aria-label={`Move ${name} up`}>
            Move up
          </button>
          <button type="button" className="button button-small button-quiet" disabled={index === count - 1} onClick={() => onMove(1)} aria-label={`Move ${name} down`}>
            Move down
          </button>
          <button type="button" className="button button-small button-danger-quiet" onClick={onRemove} aria-label={`Remove ${name}`}>
            Remove
          </button>
        </span>
      </div>
      <div className="form-grid form-grid-2">
        <TextField label="URL" value={endpoint.url} onChange={(v) => set('url', v)} error={error} placeholder="https://dtr-cache.office.example.com" />
        <TextField
          label="CA bundle (PEM file path)"
          value={endpoint.caFile}
          onChange={(v) => set('caFile', v)}
          placeholder="/etc/ssl/certs/company-root.pem"
          hint="Extra certificate authorities to trust for this endpoint."
        />
        <TextField
          label="Repository prefix (optional)"
          value={endpoint.repositoryPrefix}
          onChange={(v) => set('repositoryPrefix', v)}
          error={prefixError}
          placeholder="hub-proxy/"
          testId="repository-prefix"
          hint={endpoint.repositoryPrefix.trim()
            ? `For a Harbor or MSR 4 proxy project: library/alpine is asked here as ${normalizePrefix(endpoint.repositoryPrefix)}library/alpine, and by its own name at the other endpoints.`
            : 'For a Harbor or MSR 4 proxy project: its name, e.g. hub-proxy/. Empty for a DTR cache, a mirror or the registry itself.'}
        />
        <TextField label="Username" value={endpoint.username} onChange={(v) => set('username', v)} autoComplete="username" />
        <div className="field">
          <label htmlFor={passwordId}>
            Password{' '}
            {endpoint.hasPassword && !endpoint.password ? (
              <span data-testid="password-saved">
                <Badge tone="good">saved</Badge>
              </span>
            ) : null}
          </label>
          <input
            id={passwordId}
            type="password"
            autoComplete="new-password"
            value={endpoint.password}
            placeholder={endpoint.hasPassword ? 'Saved; type to replace' : ''}
            onChange={(e) => set('password', e.target.value)}
          />
          <p className="hint">Write-only: once saved, it is never shown again.</p>
        </div>
      </div>
      <div className="endpoint-editor-foot">
        <span className="field-check">
          <input id={insecureId} type="checkbox" checked={endpoint.insecureSkipVerify} onChange={(e) => set('insecureSkipVerify', e.target.checked)} />
          <label htmlFor={insecureId}>Skip TLS verification</label>
          {endpoint.insecureSkipVerify ? <span className="text-warn small"> Anyone on the path can swap images. Prefer a CA bundle.</span> : null}
        </span>
        <button type="button" className="button button-small" disabled={test.busy || !endpoint.url.trim()} onClick={() => void test.run()} aria-label={`Test connection to ${name}`}>
          {test.busy ? 'Testing…' : 'Test connection'}
        </button>
      </div>
      <ConnectionResult result={result} error={test.error} />
    </li>
  );
}

/** The outcome of testConnection, with the exact error when it failed. */
export function ConnectionResult({ result, error }: { result?: ConnectionTestResult | undefined; error?: Error | undefined }) {
  if (error) {
    return (
      <div className="notice notice-bad" role="alert" data-testid="connection-error">
        <strong>Could not test the connection.</strong> <span className="error-text">{error.message}</span>
      </div>
    );
  }
  if (!result) return null;
  if (!result.ok) {
    return (
      <div className="notice notice-bad" role="alert" data-testid="connection-error">
        <strong>Connection to {result.url} failed:</strong> <span className="error-text">{result.error ?? 'no reason given'}</span>
      </div>
    );
  }
  return (
    <div className="notice notice-good" role="status" data-testid="connection-ok">
      Connected to {result.url}
      {result.latencyMs !== undefined ? ` in ${formatMs(result.latencyMs)}` : ''}
      {result.auth ? ` · ${result.auth} auth` : ''}
      {result.repositoryCheck ? ` · ${result.repositoryCheck.detail}` : ''}
    </div>
  );
}
