/**
 * The desktop's SettingsStore: electron-store for the document, safeStorage
 * for passwords. Glue only; desktop-settings-store.ts holds the logic and
 * secret-storage.ts the judgement of the keystore.
 *
 * Call after app 'ready': on Linux safeStorage picks its backend then.
 */
import { safeStorage } from 'electron';
import Store from 'electron-store';
import { DesktopSettingsStore, type DocumentStore } from './desktop-settings-store.js';
import { secretStorageVerdict, type LinuxBackend } from './secret-storage.js';

type Document = { settings?: unknown; secrets?: unknown };

export function createDesktopSettingsStore(): DesktopSettingsStore {
  // conf throws on a config.json that is not JSON (clearInvalidConfig is off):
  // the shell shows that message instead of silently starting from defaults.
  const store = new Store<Document>({
    name: 'config',
    configFileMode: 0o600,
    clearInvalidConfig: false,
    accessPropertiesByDotNotation: false,
  });
  const document: DocumentStore = {
    location: store.path,
    read: () => ({ settings: store.get('settings'), secrets: store.get('secrets') }),
    // One assignment, one atomic write of the whole file.
    write: (next) => {
      store.store = { settings: next.settings, secrets: next.secrets };
    },
  };
  return new DesktopSettingsStore(document, {
    verdict: async () => secretStorageVerdict({
      platform: process.platform,
      available: await safeStorage.isAsyncEncryptionAvailable(),
      ...(process.platform === 'linux' ? { linuxBackend: safeStorage.getSelectedStorageBackend() as LinuxBackend } : {}),
    }),
    encrypt: async (plain) => (await safeStorage.encryptStringAsync(plain)).toString('base64'),
    decrypt: async (cipher) => {
      const { result, shouldReEncrypt } = await safeStorage.decryptStringAsync(Buffer.from(cipher, 'base64'));
      return { plain: result, reEncrypt: shouldReEncrypt };
    },
  });
}
