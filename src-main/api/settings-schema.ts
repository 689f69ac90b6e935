/**
 * The one settings schema (zod), in the vocabulary everyone shares: the app
 * validates every settings file and change with it, electron-store holds what
 * it accepts, and the dashboard's forms check each field with these same
 * rules before sending it. Pure, so it runs in the renderer too.
 */
import { z } from 'zod';
import type { Settings } from './types.js';

/** Bumped whenever the shape changes; migrations bring older files forward. */
export const SETTINGS_VERSION = 1;

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
export const hostPort = z.string()
  .regex(HOST_PORT, 'expected HOST:PORT')
  // Only a HOST:PORT has a port to check: anything else has its one message above.
  .refine((value) => Number(HOST_PORT.exec(value)?.[2] ?? 0) <= 65535, 'the port must be between 0 and 65535');
export const httpUrl = z.string().url().refine((value) => /^https?:\/\//.test(value), 'expected an http:// or https:// URL');

/** A repository path (the OCI name grammar), with slashes around it allowed: "hub-proxy/", "/mirrors/hub/". */
const repositoryPrefix = z.string().regex(
  /^\/*[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*\/*$|^$/,
  'a repository prefix is a project path such as hub-proxy/ (lowercase letters, digits, . _ - and /)',
);
const platform = z.object({ os: z.string().min(1), architecture: z.string().min(1), variant: z.string().optional() });
export const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day, e.g. 08:00');

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
}).refine((window) => window.start !== window.end, { message: 'it must end at another time than it starts', path: ['end'] });

export const registrySchema = z.object({
  name: z.string().min(1).regex(/^[A-Za-z0-9.-]+(:\d+)?$/, 'a registry name is a host name, optionally with :port'),
  endpoints: z.array(endpointSchema).min(1, 'a registry needs at least one endpoint'),
  bandwidthLimit: z.number().int().nonnegative().optional(),
  bandwidthWindows: z.array(bandwidthWindowSchema).optional(),
  endpointChoice: z.enum(['in-order', 'fastest'], { message: 'endpointChoice is "in-order" or "fastest"' }).optional(),
  redirectHosts: z.array(redirectHostSchema).optional(),
  requireSignature: z.object({
    publicKey: z.string().refine(looksLikePublicKeyPem, 'expected a PEM public key, as in cosign.pub (-----BEGIN PUBLIC KEY-----)'),
  }).optional(),
});

/**
 * The shape of a PEM public key (cosign.pub). The app also has the platform
 * read it (app/settings.ts), which a browser cannot do.
 */
export function looksLikePublicKeyPem(text: string): boolean {
  return /^\s*-----BEGIN PUBLIC KEY-----\s*[A-Za-z0-9+/=\s]+-----END PUBLIC KEY-----\s*$/.test(text);
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

/** A name the listeners answer to besides their own: a bare host name, no scheme, no port. */
export const allowedHost = z.string().regex(/^[A-Za-z0-9.-]+$/, 'a host name only, such as layover.office.example (no http://, no port)');

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
  allowedHosts: z.array(allowedHost).optional(),
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
