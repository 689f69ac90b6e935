import { createPublicKey } from 'node:crypto';
import type { Settings } from '../api/types.js';
import { settingsSchema, SETTINGS_VERSION } from '../api/settings-schema.js';
import { DOCKER_HUB_ENDPOINT } from '../core/oci/docker-hub.js';

/** The schema lives with the API's vocabulary (src-main/api/settings-schema.ts): the dashboard checks with it too. */
export { DEFAULT_LIMITS, SETTINGS_VERSION } from '../api/settings-schema.js';

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
  const problems = result.success ? unreadableKeys(result.data as Settings) : result.error.issues.map((issue) => `${issue.path.join('.') || '(top)'}: ${issue.message}`);
  if (result.success && problems.length === 0) return result.data as Settings;
  throw new Error(`invalid settings in ${source}: ${problems.join('; ')}`);
}

/** Signature keys the schema took for PEM but the platform cannot read. */
function unreadableKeys(settings: Settings): string[] {
  return settings.registries.flatMap((registry, index) => {
    const key = registry.requireSignature?.publicKey;
    if (key === undefined) return [];
    try {
      createPublicKey(key);
      return [];
    } catch {
      return [`registries.${index}.requireSignature.publicKey: expected a PEM public key, as in cosign.pub (-----BEGIN PUBLIC KEY-----)`];
    }
  });
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
