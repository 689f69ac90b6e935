/**
 * The desktop adapter of app's SettingsStore: settings live in electron-store
 * as one document { settings, secrets }, validated by the one zod schema and
 * brought forward by app's migrations (parseSettings/migrate); passwords never
 * sit in it in plain text: each is encrypted by the platform keystore
 * (safeStorage) and kept under `secrets`, and the settings say hasPassword.
 *
 * The document store and the cipher are injected, so this file is pure of
 * Electron and fully unit-tested; electron-settings.ts supplies electron-store
 * and safeStorage.
 */
import type { EndpointSettings, Settings } from '../api/types.js';
import type { SettingsStore } from '../app/settings-store.js';
import { defaultSettings, parseSettings, SETTINGS_VERSION } from '../app/settings.js';
import type { SecretVerdict } from './secret-storage.js';

export interface SettingsDocument {
  settings?: unknown;
  /** secretKey(registry, endpoint url) → base64 of the keystore's ciphertext. */
  secrets?: unknown;
}

/** electron-store, seen as one document read and written whole (one atomic write). */
export interface DocumentStore {
  read(): SettingsDocument;
  write(document: { settings: Settings; secrets: Record<string, string> }): void;
  readonly location: string;
}

/** safeStorage, seen through what this adapter needs. */
export interface SecretCipher {
  verdict(): Promise<SecretVerdict>;
  encrypt(plain: string): Promise<string>;
  decrypt(cipher: string): Promise<{ plain: string; reEncrypt: boolean }>;
}

export function secretKey(registry: string, url: string): string {
  return `${registry} ${url}`;
}

export class DesktopSettingsStore implements SettingsStore {
  /** Things the person should hear about after load() (a password the keystore would not give back). */
  readonly warnings: string[] = [];
  /** Ciphertexts of the passwords as loaded or saved, so an unchanged password is not encrypted again. */
  private known = new Map<string, { plain: string; cipher: string }>();
  /** Secrets that could not be decrypted: kept as they are until the endpoint gets a new password or goes. */
  private unreadable = new Set<string>();

  constructor(private readonly document: DocumentStore, private readonly cipher: SecretCipher) {}

  get location(): string {
    return this.document.location;
  }

  async load(): Promise<Settings> {
    const { settings: raw, secrets: rawSecrets } = this.document.read();
    if (raw === undefined) return defaultSettings();
    const parsed = parseSettings(raw, this.location);
    const secrets = asSecrets(rawSecrets);
    let rewrite = (raw as { schemaVersion?: unknown }).schemaVersion !== SETTINGS_VERSION;
    this.known = new Map();
    this.unreadable = new Set();

    const registries = [];
    for (const registry of parsed.registries) {
      const endpoints: EndpointSettings[] = [];
      for (const { hasPassword, ...endpoint } of registry.endpoints) {
        const key = secretKey(registry.name, endpoint.url);
        const who = `${endpoint.username ? `${endpoint.username} at ` : ''}${endpoint.url} (${registry.name})`;
        if (endpoint.password) {
          // A plain password in the file (edited by hand, or an old build): moved into the keystore below.
          rewrite = true;
          endpoints.push(endpoint);
          continue;
        }
        const cipher = secrets[key];
        if (cipher === undefined) {
          if (hasPassword) this.warnings.push(`The password for ${who} is missing from ${this.location}; enter it again in Settings.`);
          endpoints.push(endpoint);
          continue;
        }
        try {
          const { plain, reEncrypt } = await this.cipher.decrypt(cipher);
          if (reEncrypt) rewrite = true;
          else this.known.set(key, { plain, cipher });
          endpoints.push({ ...endpoint, password: plain });
        } catch (error) {
          this.unreadable.add(key);
          this.warnings.push(`The password for ${who} could not be read from the keystore (${(error as Error).message}); Layover goes on without it. Unlock the keyring and restart, or enter it again in Settings.`);
          endpoints.push(endpoint);
        }
      }
      registries.push({ ...registry, endpoints });
    }
    const settings: Settings = { ...parsed, registries };
    if (rewrite) {
      try {
        await this.save(settings);
      } catch (error) {
        this.warnings.push(`The settings were read but could not be written back in the current form: ${(error as Error).message}`);
      }
    }
    return settings;
  }

  async save(settings: Settings): Promise<void> {
    const valid = parseSettings(settings, 'the settings to save');
    const previous = asSecrets(this.document.read().secrets);
    const secrets: Record<string, string> = {};
    const known = new Map<string, { plain: string; cipher: string }>();
    let verdict: SecretVerdict | undefined;

    const registries = [];
    for (const registry of valid.registries) {
      const endpoints: EndpointSettings[] = [];
      for (const { password, hasPassword: _ignored, ...endpoint } of registry.endpoints) {
        const key = secretKey(registry.name, endpoint.url);
        if (password) {
          const same = this.known.get(key);
          let cipher: string;
          if (same && same.plain === password) {
            cipher = same.cipher;
          } else {
            verdict ??= await this.cipher.verdict();
            if (!verdict.ok) {
              throw Object.assign(new Error(`Layover did not save the settings, because it will not store the password for ${endpoint.url} (${registry.name}): ${verdict.reason}`), { code: 'INSECURE_KEYSTORE', status: 400 });
            }
            cipher = await this.cipher.encrypt(password);
          }
          secrets[key] = cipher;
          known.set(key, { plain: password, cipher });
          endpoints.push({ ...endpoint, hasPassword: true });
        } else if (this.unreadable.has(key) && previous[key] !== undefined) {
          secrets[key] = previous[key];
          endpoints.push({ ...endpoint, hasPassword: true });
        } else {
          endpoints.push(endpoint);
        }
      }
      registries.push({ ...registry, endpoints });
    }
    this.document.write({ settings: { ...valid, registries }, secrets });
    this.known = known;
    this.unreadable = new Set([...this.unreadable].filter((key) => secrets[key] !== undefined && !known.has(key)));
  }
}

function asSecrets(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}
