/**
 * The Settings page's editable copy of Settings and its translation back to
 * the partial update the API takes. Passwords are write-only: the draft holds
 * only what the person typed, and an endpoint sent without a password keeps
 * the one it has.
 */
import type { BandwidthWindow, EndpointChoice, EndpointSettings, RedirectHostSettings, RegistrySettings, Settings } from '../../src-main/api/types.js';
import { meshDraftOf, meshPatch, validateMeshDraft, type MeshDraft } from './mesh-form.js';
import type { z } from 'zod';
import { allowedHost, bandwidthWindowSchema, endpointSchema, hostPort, httpUrl, registrySchema, settingsSchema } from '../../src-main/api/settings-schema.js';

export interface EndpointDraft {
  key: string;
  url: string;
  username: string;
  /** Typed in this session; empty means "keep the saved one". */
  password: string;
  hasPassword: boolean;
  caFile: string;
  insecureSkipVerify: boolean;
  /** A Harbor / MSR 4 proxy project, e.g. "hub-proxy/"; '' for none. */
  repositoryPrefix: string;
}

/** A row of a registry's bandwidth windows. */
export interface BandwidthWindowDraft {
  key: string;
  /** HH:MM as a time input gives it; '' while incomplete. */
  start: string;
  end: string;
  /** Bytes per second; undefined or 0: unlimited inside the window. */
  bytesPerSecond: number | undefined;
}

export interface RegistryDraft {
  key: string;
  name: string;
  /** Bytes per second; undefined or 0: unlimited. */
  bandwidthLimit: number | undefined;
  /** In order: where two overlap, the first applies. */
  bandwidthWindows: BandwidthWindowDraft[];
  endpoints: EndpointDraft[];
  endpointChoice: EndpointChoice;
  /** Not edited on the page (settings file only): kept as they are. */
  redirectHosts: RedirectHostSettings[];
}

export interface SettingsDraft {
  listen: string;
  admin: string;
  defaultRegistry: string;
  registries: RegistryDraft[];
  tagFreshnessSeconds: string;
  quotaBytes: number;
  startAtLogin: boolean;
  /** Desktop: run the admin HTTP listener (dashboard in a browser, the command line). */
  browserDashboard: boolean;
  /** Extra host names, as typed: one line, separated by commas (spaces and pasted new lines do too). */
  allowedHosts: string;
  mesh: MeshDraft;
}

let keyCounter = 0;
export const newKey = (): string => `k${++keyCounter}`;

/** A new row: office hours, at the registry's flat limit if it has one. */
export function newBandwidthWindowDraft(bytesPerSecond?: number): BandwidthWindowDraft {
  return { key: newKey(), start: '08:00', end: '18:00', bytesPerSecond };
}

export function newEndpointDraft(url = ''): EndpointDraft {
  return { key: newKey(), url, username: '', password: '', hasPassword: false, caFile: '', insecureSkipVerify: false, repositoryPrefix: '' };
}

/**
 * The editable copy of `settings`. With `previous`, registries and endpoints
 * that are still there keep their keys, so a save does not remount the
 * editors (and move the keyboard focus away).
 */
export function toDraft(settings: Settings, previous?: SettingsDraft): SettingsDraft {
  return {
    listen: settings.listen,
    admin: settings.admin,
    defaultRegistry: settings.defaultRegistry,
    registries: settings.registries.map((r) => {
      const before = previous?.registries.find((p) => p.name.trim() === r.name);
      return {
        key: before?.key ?? newKey(),
        name: r.name,
        bandwidthLimit: r.bandwidthLimit || undefined,
        // Rows keep their keys by position, so saving does not remount them.
        bandwidthWindows: (r.bandwidthWindows ?? []).map((w, i) => ({
          key: before?.bandwidthWindows[i]?.key ?? newKey(),
          start: w.start,
          end: w.end,
          bytesPerSecond: w.bytesPerSecond || undefined,
        })),
        endpoints: r.endpoints.map((e) => ({
          key: before?.endpoints.find((p) => p.url.trim() === e.url)?.key ?? newKey(),
          url: e.url,
          username: e.username ?? '',
          password: '',
          hasPassword: Boolean(e.hasPassword),
          caFile: e.caFile ?? '',
          insecureSkipVerify: Boolean(e.insecureSkipVerify),
          repositoryPrefix: e.repositoryPrefix ?? '',
        })),
        endpointChoice: r.endpointChoice ?? 'in-order',
        redirectHosts: r.redirectHosts ?? [],
      };
    }),
    tagFreshnessSeconds: String(settings.tagFreshnessSeconds),
    quotaBytes: settings.quotaBytes,
    startAtLogin: settings.startAtLogin,
    browserDashboard: settings.browserDashboard === true,
    allowedHosts: (settings.allowedHosts ?? []).join(', '),
    mesh: meshDraftOf(settings),
  };
}

/** The names in the allowed-hosts field, in order, each once; separators are commas, spaces and new lines. */
export function parseHostList(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

export function endpointFromDraft(e: EndpointDraft): EndpointSettings {
  const endpoint: EndpointSettings = { url: e.url.trim() };
  if (e.username.trim()) endpoint.username = e.username.trim();
  if (e.password) endpoint.password = e.password;
  if (e.caFile.trim()) endpoint.caFile = e.caFile.trim();
  if (e.insecureSkipVerify) endpoint.insecureSkipVerify = true;
  const prefix = normalizePrefix(e.repositoryPrefix);
  if (prefix) endpoint.repositoryPrefix = prefix;
  return endpoint;
}

/** "hub-proxy" and "/hub-proxy/" are both the project hub-proxy/: one trailing slash, none leading. */
export function normalizePrefix(value: string): string {
  const trimmed = value.trim().replace(/^\/+|\/+$/g, '');
  return trimmed ? `${trimmed}/` : '';
}

export function windowFromDraft(w: BandwidthWindowDraft): BandwidthWindow {
  return { start: w.start, end: w.end, bytesPerSecond: w.bytesPerSecond ?? 0 };
}

function registriesFromDraft(draft: SettingsDraft): RegistrySettings[] {
  return draft.registries.map((r) => {
    const registry: RegistrySettings = { name: r.name.trim(), endpoints: r.endpoints.map(endpointFromDraft) };
    if (r.bandwidthLimit) registry.bandwidthLimit = r.bandwidthLimit;
    if (r.bandwidthWindows.length > 0) registry.bandwidthWindows = r.bandwidthWindows.map(windowFromDraft);
    if (r.endpointChoice === 'fastest') registry.endpointChoice = 'fastest';
    if (r.redirectHosts.length > 0) registry.redirectHosts = r.redirectHosts;
    return registry;
  });
}

/** How a saved registry list compares (passwords reduced to whether one is set). */
function comparable(registries: RegistrySettings[]): string {
  return JSON.stringify(
    registries.map((r) => ({
      name: r.name,
      bandwidthLimit: r.bandwidthLimit || undefined,
      bandwidthWindows: r.bandwidthWindows?.length ? r.bandwidthWindows.map((w) => [w.start, w.end, w.bytesPerSecond]) : undefined,
      endpointChoice: r.endpointChoice === 'fastest' ? 'fastest' : undefined,
      redirectHosts: r.redirectHosts?.length ? r.redirectHosts : undefined,
      endpoints: r.endpoints.map((e) => ({
        url: e.url, username: e.username || undefined, caFile: e.caFile || undefined,
        insecureSkipVerify: e.insecureSkipVerify || undefined, newPassword: e.password || undefined,
        repositoryPrefix: e.repositoryPrefix || undefined,
      })),
    })),
  );
}

/** Only what changed, so a save does not overwrite what someone else changed meanwhile. */
export function draftToPatch(original: Settings, draft: SettingsDraft): Partial<Settings> {
  const patch: Partial<Settings> = {};
  if (draft.listen.trim() !== original.listen) patch.listen = draft.listen.trim();
  if (draft.admin.trim() !== original.admin) patch.admin = draft.admin.trim();
  if (draft.defaultRegistry !== original.defaultRegistry) patch.defaultRegistry = draft.defaultRegistry;
  const registries = registriesFromDraft(draft);
  if (comparable(registries) !== comparable(original.registries)) patch.registries = registries;
  const freshness = Number(draft.tagFreshnessSeconds);
  if (freshness !== original.tagFreshnessSeconds) patch.tagFreshnessSeconds = freshness;
  if (draft.quotaBytes !== original.quotaBytes) patch.quotaBytes = draft.quotaBytes;
  if (draft.startAtLogin !== original.startAtLogin) patch.startAtLogin = draft.startAtLogin;
  if (draft.browserDashboard !== (original.browserDashboard === true)) patch.browserDashboard = draft.browserDashboard;
  const hosts = parseHostList(draft.allowedHosts);
  if (hosts.join('\n') !== (original.allowedHosts ?? []).join('\n')) patch.allowedHosts = hosts;
  const mesh = meshPatch(original, draft.mesh);
  if (mesh) patch.mesh = mesh;
  return patch;
}

export type DraftErrors = Record<string, string>;

// Every field is checked by the settings schema's own rule for it (src-main/api/settings-schema.ts), the one
// the core applies when the change arrives; what needs the whole settings (a registry name's form, the default
// registry) the core answers on save.

/** The first problem the rule finds, as the form shows it (a sentence); undefined when it is fine. */
function problem(schema: z.ZodType, value: unknown): string | undefined {
  const result = schema.safeParse(value);
  return result.success ? undefined : asSentence(result.error.issues[0]!.message);
}

function asSentence(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? '' : '.'}`;
}

const checkAddress = (value: string): string | undefined => problem(hostPort, value.trim());

export const checkEndpointUrl = (value: string): string | undefined => problem(httpUrl, value.trim());

function checkHostList(text: string): string | undefined {
  const wrong = parseHostList(text).filter((host) => !allowedHost.safeParse(host).success);
  if (wrong.length === 0) return undefined;
  return `${wrong.map((host) => JSON.stringify(host)).join(', ')}: ${asSentence(allowedHost.safeParse(wrong[0]).error!.issues[0]!.message).replace(/^./, (c) => c.toLowerCase())}`;
}

/** A window's problems by field: each time of day, and an end equal to its start. */
function checkWindow(window: BandwidthWindowDraft): { start?: string; end?: string } {
  const result = bandwidthWindowSchema.safeParse(windowFromDraft(window));
  if (result.success) return {};
  const found: { start?: string; end?: string } = {};
  for (const issue of result.error.issues) {
    const field = issue.path[0] === 'start' ? 'start' : issue.path[0] === 'end' ? 'end' : undefined;
    if (field && !found[field]) found[field] = asSentence(issue.message);
  }
  return found;
}

/** The settings schema's own rule for a prefix (the OCI repository-name grammar). */
export const checkRepositoryPrefix = (value: string): string | undefined => problem(endpointSchema.shape.repositoryPrefix, value.trim());

/** Errors keyed by field: "listen", "allowedHosts", "registry.<key>.name", "endpoint.<key>.url", "window.<key>.start". */
export function validateDraft(draft: SettingsDraft): DraftErrors {
  const errors: DraftErrors = {};
  const listen = checkAddress(draft.listen);
  if (listen) errors.listen = listen;
  const admin = checkAddress(draft.admin);
  if (admin) errors.admin = admin;
  const hosts = checkHostList(draft.allowedHosts);
  if (hosts) errors.allowedHosts = hosts;
  Object.assign(errors, validateMeshDraft(draft.mesh));
  const freshness = problem(settingsSchema.shape.tagFreshnessSeconds, draft.tagFreshnessSeconds.trim() === '' ? Number.NaN : Number(draft.tagFreshnessSeconds));
  if (freshness) errors.tagFreshnessSeconds = freshness;
  const names = new Set<string>();
  for (const registry of draft.registries) {
    const name = registry.name.trim();
    if (!name) errors[`registry.${registry.key}.name`] = 'Name the registry as clients write it, e.g. dtr.example.com or docker.io.';
    else if (names.has(name)) errors[`registry.${registry.key}.name`] = `${name} is listed twice.`;
    names.add(name);
    if (registry.endpoints.length === 0) errors[`registry.${registry.key}.endpoints`] = problem(registrySchema.shape.endpoints, [])!;
    for (const window of registry.bandwidthWindows) {
      const { start, end } = checkWindow(window);
      if (start) errors[`window.${window.key}.start`] = start;
      if (end) errors[`window.${window.key}.end`] = end;
    }
    for (const endpoint of registry.endpoints) {
      const url = checkEndpointUrl(endpoint.url);
      if (url) errors[`endpoint.${endpoint.key}.url`] = url;
      const prefix = checkRepositoryPrefix(endpoint.repositoryPrefix);
      if (prefix) errors[`endpoint.${endpoint.key}.repositoryPrefix`] = prefix;
    }
  }
  if (!draft.registries.some((r) => r.name.trim() === draft.defaultRegistry)) errors.defaultRegistry = 'Pick the default registry.';
  return errors;
}
