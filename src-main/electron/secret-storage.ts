/**
 * Whether the platform's keystore really protects a registry password, as
 * Electron's safeStorage reports it. Pure: electron-settings.ts asks
 * safeStorage and passes the answers in.
 */

export type LinuxBackend = 'basic_text' | 'gnome_libsecret' | 'kwallet' | 'kwallet5' | 'kwallet6' | 'unknown';

export type SecretVerdict =
  | { ok: true; keystore: string }
  | { ok: false; reason: string };

export interface KeystoreFacts {
  platform: string;
  /** safeStorage.isAsyncEncryptionAvailable() */
  available: boolean;
  /** safeStorage.getSelectedStorageBackend(), Linux only. */
  linuxBackend?: LinuxBackend;
}

const DOCKER_LOGIN_HINT = 'Layover still uses what `docker login` stored for a registry, and `layover serve` keeps passwords in a file only you can read.';

export function secretStorageVerdict(facts: KeystoreFacts): SecretVerdict {
  if (facts.platform === 'linux') {
    switch (facts.linuxBackend) {
      case 'basic_text':
        return {
          ok: false,
          reason: 'this Linux session has no keyring that Electron can use (no Secret Service such as GNOME Keyring, no KWallet), '
            + "so safeStorage would fall back to 'basic_text': the password would be encrypted with a key built into every copy of the program, "
            + 'which protects nothing. Start or unlock a keyring and restart Layover to save passwords. ' + DOCKER_LOGIN_HINT,
        };
      case 'unknown':
      case undefined:
        return { ok: false, reason: 'the keyring was asked before Layover had finished starting; try again in a moment.' };
      default:
        if (!facts.available) return { ok: false, reason: `the keyring (${facts.linuxBackend}) is locked or refused access. Unlock it and try again. ${DOCKER_LOGIN_HINT}` };
        return { ok: true, keystore: facts.linuxBackend === 'gnome_libsecret' ? 'the Secret Service keyring' : 'KWallet' };
    }
  }
  if (!facts.available) {
    const store = facts.platform === 'darwin' ? 'the macOS Keychain' : facts.platform === 'win32' ? 'Windows DPAPI' : 'the system keystore';
    return { ok: false, reason: `${store} is not available to Layover. ${DOCKER_LOGIN_HINT}` };
  }
  return { ok: true, keystore: facts.platform === 'darwin' ? 'the macOS Keychain' : facts.platform === 'win32' ? 'Windows DPAPI' : 'the system keystore' };
}
