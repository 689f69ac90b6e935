import { createPublicKey } from 'node:crypto';
import { z } from 'zod';
import type { Settings } from '../api/types.js';
import { DOCKER_HUB_ENDPOINT } from '../core/oci/docker-hub.js';

/** Bumped whenever the shape changes; migrations bring older files forward. */
export const SETTINGS_VERSION = 1;

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected HOST:PORT');
const httpUrl = z.string().url().refine((value) => /^https?:\/\//.test(value), 'expected an http:// or https:// URL');

/** A repository path (the OCI name grammar), with slashes around it allowed: "hub-proxy/", "/mirrors/hub/". */
const repositoryPrefix = z.string().regex(
  /^\/*[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*\/*$|^$/,
  'a repository prefix is a project path such as hub-proxy/ (lowercase letters, digits, . _ - and /)',
);
const platform = z.object({ os: z.string().min(1), architecture: z.string().min(1), variant: z.string().optional() });
const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a 24-hour time of day as HH:MM, 00:00 to 23:59');

const tagSelector = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('exact'), tags: z.array(z.string().min(1)).min(1) }),
  z.object({ kind: z.literal('glob'), pattern: z.string().min(1) }),
  z.object({ kind: z.literal('semver'), range: z.string().min(1) }),
  z.object({ kind: z.literal('newest'), count: z.number().int().positive() }),
]);

const schedule = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('now') }),
  z.object({ kind: z.literal('interval'), hours: z.number().positive() }),
  z.object({ kind: z.literal('window'), start: timeOfDay, end: timeOfDay }),
]);

export const prefetchRuleSchema = z.object({
  id: z.string().min(1),
  registry: z.string().min(1),
  repository: z.string().min(1),
  tags: tagSelector,
  platforms: z.union([z.literal('host'), z.literal('all'), z.array(platform).min(1)]),
  schedule,
  bandwidthLimit: z.number().int().positive().optional(),
  enabled: z.boolean(),
  referrers: z.boolean().optional(),
});

export const endpointSchema = z.object({
  url: httpUrl,
  username: z.string().optional(),
  password: z.string().optional(),
  hasPassword: z.boolean().optional(),
  caFile: z.string().optional(),
  insecureSkipVerify: z.boolean().optional(),
  repositoryPrefix: repositoryPrefix.optional(),
});

const redirectHostSchema = z.object({
  url: httpUrl,
  caFile: z.string().optional(),
  insecureSkipVerify: z.boolean().optional(),
});

export const bandwidthWindowSchema = z.object({
  start: timeOfDay,
  end: timeOfDay,
  bytesPerSecond: z.number({ message: 'expected a number of bytes per second (0 = unlimited)' }).int('expected whole bytes per second').nonnegative('expected 0 (unlimited) or more bytes per second'),
}).refine((window) => window.start !== window.end, { message: 'a bandwidth window must end at another time than it starts (for all day, set bandwidthLimit)', path: ['end'] });

export const registrySchema = z.object({
  name: z.string().min(1).regex(/^[A-Za-z0-9.-]+(:\d+)?$/, 'a registry name is a host name, optionally with :port'),
  endpoints: z.array(endpointSchema).min(1, 'a registry needs at least one endpoint'),
  bandwidthLimit: z.number().int().nonnegative().optional(),
  bandwidthWindows: z.array(bandwidthWindowSchema).optional(),
  endpointChoice: z.enum(['in-order', 'fastest'], { message: 'endpointChoice is "in-order" or "fastest"' }).optional(),
  redirectHosts: z.array(redirectHostSchema).optional(),
  requireSignature: z.object({
    publicKey: z.string().refine(isPublicKeyPem, 'expected a PEM public key, as in cosign.pub (-----BEGIN PUBLIC KEY-----)'),
  }).optional(),
});

function isPublicKeyPem(text: string): boolean {
  try {
    createPublicKey(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Office defaults: roomy enough that a build host pulling a whole compose
 * file at once (hundreds of manifest and blob requests in a few seconds, see
 * client-limits.test.ts) gets no 429, tight enough that one runaway client
 * cannot take the box.
 */
export const DEFAULT_LIMITS = { perClientConcurrency: 128, perClientRequestsPerSecond: 200, idleTimeoutSeconds: 120 };

const tlsSchema = z.object({ certFile: z.string().min(1), keyFile: z.string().min(1) });
const clientAuthSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('none') }),
  z.object({ mode: z.literal('upstream') }),
  z.object({ mode: z.literal('htpasswd'), file: z.string().min(1) }),
]);
const limitsSchema = z.object({
  perClientConcurrency: z.number().int().positive(),
  perClientRequestsPerSecond: z.number().positive(),
  idleTimeoutSeconds: z.number().positive(),
});

/** The one settings schema: electron-store validates with it on the desktop, the settings file headless. */
export const settingsSchema = z.object({
  schemaVersion: z.literal(SETTINGS_VERSION),
  listen: hostPort,
  admin: hostPort,
  defaultRegistry: z.string().min(1),
  registries: z.array(registrySchema).min(1),
  tagFreshnessSeconds: z.number().int().nonnegative(),
  quotaBytes: z.number().int().nonnegative(),
  rules: z.array(prefetchRuleSchema),
  startAtLogin: z.boolean(),
  firstRunDone: z.boolean(),
  tls: tlsSchema.optional(),
  clientAuth: clientAuthSchema.optional(),
  limits: limitsSchema.optional(),
  allowedHosts: z.array(z.string().regex(/^[A-Za-z0-9.-]+$/, 'a host name such as layover.office.example (no port, no scheme)')).optional(),
  browserDashboard: z.boolean().optional(),
  mesh: z.object({
    enabled: z.boolean(),
    keyFile: z.string().min(1).optional(),
    listen: hostPort.optional(),
    peers: z.array(hostPort).optional(),
    discovery: z.boolean().optional(),
    servingCapBytesPerSecond: z.number().int('expected whole bytes per second').nonnegative('expected 0 (no cap) or more bytes per second').optional(),
  }).refine((mesh) => !mesh.enabled || Boolean(mesh.keyFile), { message: 'joining the office mesh needs its key file (layover mesh join)', path: ['keyFile'] }).optional(),
}).superRefine((settings, ctx) => {
  if (!settings.registries.some((registry) => registry.name === settings.defaultRegistry)) {
    ctx.addIssue({ code: 'custom', path: ['defaultRegistry'], message: `default registry ${settings.defaultRegistry} is not among the registries` });
  }
}) satisfies z.ZodType<Settings>;


export function defaultSettings(): Settings {
  return {
    schemaVersion: SETTINGS_VERSION,
    listen: '127.0.0.1:5050',
    admin: '127.0.0.1:5051',
    defaultRegistry: 'docker.io',
    registries: [{ name: 'docker.io', endpoints: [{ url: DOCKER_HUB_ENDPOINT }] }],
    tagFreshnessSeconds: 300,
    quotaBytes: 0,
    rules: [],
    startAtLogin: false,
    firstRunDone: false,
  };
}

/** Validates settings, with every problem in one message that names where it is. */
export function parseSettings(input: unknown, source: string): Settings {
  const result = settingsSchema.safeParse(migrate(input));
  if (result.success) return result.data as Settings;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(top)'}: ${issue.message}`);
  throw new Error(`invalid settings in ${source}: ${problems.join('; ')}`);
}

/** Brings a settings object of any earlier schema version to the current one, filling in new keys. */
export function migrate(input: unknown): unknown {
  if (typeof input !== 'object' || input === null) return input;
  const value = input as Record<string, unknown>;
  const version = typeof value.schemaVersion === 'number' ? value.schemaVersion : 0;
  if (version > SETTINGS_VERSION) return value; // from a newer Layover: the schema check says so
  return { ...defaultSettings(), ...value, schemaVersion: SETTINGS_VERSION };
}

/** What may leave the process through the API: passwords become hasPassword. */
export function redactSettings(settings: Settings): Settings {
  return {
    ...settings,
    registries: settings.registries.map((registry) => ({
      ...registry,
      endpoints: registry.endpoints.map(({ password, ...endpoint }) => ({ ...endpoint, hasPassword: Boolean(password) || Boolean(endpoint.hasPassword) })),
    })),
  };
}
