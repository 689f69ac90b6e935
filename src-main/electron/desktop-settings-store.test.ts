import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Settings } from '../api/types.js';
import { defaultSettings, SETTINGS_VERSION } from '../app/settings.js';
import { DesktopSettingsStore, secretKey, type DocumentStore, type SecretCipher, type SettingsDocument } from './desktop-settings-store.js';
import { secretStorageVerdict, type SecretVerdict } from './secret-storage.js';

/** electron-store as a document in memory, counting writes. */
function memoryDocument(initial: SettingsDocument = {}): DocumentStore & { current: SettingsDocument; writes: number } {
  const doc = {
    current: structuredClone(initial),
    writes: 0,
    location: '/home/me/.config/Layover/config.json',
    read: () => structuredClone(doc.current),
    write: (next: { settings: Settings; secrets: Record<string, string> }) => {
      doc.writes += 1;
      doc.current = JSON.parse(JSON.stringify(next)) as SettingsDocument;
    },
  };
  return doc;
}

/** A reversible stand-in for safeStorage: enough to prove the plain text never reaches the document. */
function fakeCipher(verdict: SecretVerdict = { ok: true, keystore: 'test keystore' }): SecretCipher & { encrypted: number; broken: Set<string>; rotate: boolean } {
  const cipher = {
    encrypted: 0,
    broken: new Set<string>(),
    rotate: false,
    verdict: async () => verdict,
    encrypt: async (plain: string) => {
      cipher.encrypted += 1;
      return Buffer.from(`enc:${[...plain].reverse().join('')}`).toString('base64');
    },
    decrypt: async (text: string) => {
      if (cipher.broken.has(text)) throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString');
      const raw = Buffer.from(text, 'base64').toString();
      if (!raw.startsWith('enc:')) throw new Error('not ours');
      return { plain: [...raw.slice(4)].reverse().join(''), reEncrypt: cipher.rotate };
    },
  };
  return cipher;
}

function withDtr(password?: string): Settings {
  const settings = defaultSettings();
  settings.registries.push({ name: 'dtr.example.com', endpoints: [{ url: 'https://cache.example.com', username: 'ci', ...(password ? { password } : {}) }, { url: 'https://dtr.example.com' }] });
  return settings;
}

test('no document yet: the defaults, and nothing written', async () => {
  const doc = memoryDocument();
  const store = new DesktopSettingsStore(doc, fakeCipher());
  assert.deepEqual(await store.load(), defaultSettings());
  assert.equal(doc.writes, 0);
  assert.equal(store.location, '/home/me/.config/Layover/config.json');
});

test('a password is stored encrypted under secrets, never in the settings, and comes back on load', async () => {
  const doc = memoryDocument();
  const cipher = fakeCipher();
  await new DesktopSettingsStore(doc, cipher).save(withDtr('s3cret-token'));
  const text = JSON.stringify(doc.current);
  assert.doesNotMatch(text, /s3cret-token/);
  const stored = doc.current.settings as Settings;
  assert.deepEqual(stored.registries[1]!.endpoints[0], { url: 'https://cache.example.com', username: 'ci', hasPassword: true });
  assert.deepEqual(stored.registries[1]!.endpoints[1], { url: 'https://dtr.example.com' });
  assert.deepEqual(Object.keys(doc.current.secrets as object), [secretKey('dtr.example.com', 'https://cache.example.com')]);

  const loaded = await new DesktopSettingsStore(doc, cipher).load();
  assert.deepEqual(loaded, withDtr('s3cret-token'), 'hasPassword is dropped: the password itself is back');
});

test('an unchanged password is not encrypted again; a changed one is; a removed one leaves no secret behind', async () => {
  const doc = memoryDocument();
  const cipher = fakeCipher();
  const store = new DesktopSettingsStore(doc, cipher);
  await store.save(withDtr('one'));
  await store.save({ ...withDtr('one'), tagFreshnessSeconds: 60 });
  assert.equal(cipher.encrypted, 1);
  await store.save(withDtr('two'));
  assert.equal(cipher.encrypted, 2);
  assert.equal((await new DesktopSettingsStore(doc, cipher).load()).registries[1]!.endpoints[0]!.password, 'two');
  await store.save(withDtr());
  assert.deepEqual(doc.current.secrets, {});
  assert.equal((doc.current.settings as Settings).registries[1]!.endpoints[0]!.hasPassword, undefined);
});

test('with no real keystore (Linux basic_text) a password is refused, saying why, and nothing is written', async () => {
  const verdict = secretStorageVerdict({ platform: 'linux', available: true, linuxBackend: 'basic_text' });
  const doc = memoryDocument();
  const store = new DesktopSettingsStore(doc, fakeCipher(verdict));
  await assert.rejects(store.save(withDtr('s3cret')), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'INSECURE_KEYSTORE');
    assert.match(error.message, /did not save the settings, because it will not store the password for https:\/\/cache\.example\.com \(dtr\.example\.com\)/);
    assert.match(error.message, /basic_text/);
    assert.match(error.message, /keyring/);
    return true;
  });
  assert.equal(doc.writes, 0);
  await store.save({ ...withDtr(), quotaBytes: 1024 });
  assert.equal((doc.current.settings as Settings).quotaBytes, 1024, 'settings without a password are saved as usual');
});

test('the document is validated by the one schema, naming the file and the field', async () => {
  const broken = { ...defaultSettings(), listen: 'everywhere' };
  const store = new DesktopSettingsStore(memoryDocument({ settings: broken }), fakeCipher());
  await assert.rejects(store.load(), /invalid settings in \/home\/me\/\.config\/Layover\/config\.json: listen: expected HOST:PORT/);
  await assert.rejects(new DesktopSettingsStore(memoryDocument(), fakeCipher()).save(broken), /invalid settings in the settings to save: listen/);
});

test('an older document is migrated and written back in the current version', async () => {
  const old = { listen: '127.0.0.1:6060' };
  const doc = memoryDocument({ settings: old });
  const loaded = await new DesktopSettingsStore(doc, fakeCipher()).load();
  assert.equal(loaded.listen, '127.0.0.1:6060');
  assert.equal(loaded.schemaVersion, SETTINGS_VERSION);
  assert.equal(doc.writes, 1);
  assert.equal((doc.current.settings as Settings).schemaVersion, SETTINGS_VERSION);
  const again = memoryDocument(doc.current);
  await new DesktopSettingsStore(again, fakeCipher()).load();
  assert.equal(again.writes, 0, 'a current document is not rewritten');
});

test('a document from a newer Layover is refused, not downgraded', async () => {
  const store = new DesktopSettingsStore(memoryDocument({ settings: { ...defaultSettings(), schemaVersion: SETTINGS_VERSION + 1 } }), fakeCipher());
  await assert.rejects(store.load(), /schemaVersion/);
});

test('a plain password found in the document is moved into the keystore', async () => {
  const doc = memoryDocument({ settings: withDtr('typed-by-hand') });
  const loaded = await new DesktopSettingsStore(doc, fakeCipher()).load();
  assert.equal(loaded.registries[1]!.endpoints[0]!.password, 'typed-by-hand');
  assert.doesNotMatch(JSON.stringify(doc.current), /typed-by-hand/);
});

test('a secret the keystore cannot decrypt: a warning, no password, and the secret kept for a later launch', async () => {
  const doc = memoryDocument();
  const cipher = fakeCipher();
  await new DesktopSettingsStore(doc, cipher).save(withDtr('kept'));
  const key = secretKey('dtr.example.com', 'https://cache.example.com');
  const secret = (doc.current.secrets as Record<string, string>)[key]!;
  cipher.broken.add(secret);

  const store = new DesktopSettingsStore(doc, cipher);
  const loaded = await store.load();
  assert.equal(loaded.registries[1]!.endpoints[0]!.password, undefined);
  assert.equal(store.warnings.length, 1);
  assert.match(store.warnings[0]!, /ci at https:\/\/cache\.example\.com \(dtr\.example\.com\) could not be read from the keystore/);

  await store.save({ ...loaded, quotaBytes: 5 });
  assert.equal((doc.current.secrets as Record<string, string>)[key], secret, 'an unrelated change keeps the unreadable secret');
  await store.save({ ...withDtr('new one'), quotaBytes: 5 });
  cipher.broken.clear();
  assert.equal((await new DesktopSettingsStore(doc, cipher).load()).registries[1]!.endpoints[0]!.password, 'new one', 'a new password replaces it');
});

test('a secret the keystore asks to re-encrypt (key rotated) is written again', async () => {
  const doc = memoryDocument();
  const cipher = fakeCipher();
  await new DesktopSettingsStore(doc, cipher).save(withDtr('rotate-me'));
  cipher.rotate = true;
  const writes = doc.writes;
  const loaded = await new DesktopSettingsStore(doc, cipher).load();
  assert.equal(loaded.registries[1]!.endpoints[0]!.password, 'rotate-me');
  assert.equal(doc.writes, writes + 1);
  assert.equal(cipher.encrypted, 2);
});

test('hasPassword without a secret: a warning that the password is missing', async () => {
  const settings = withDtr();
  settings.registries[1]!.endpoints[0]!.hasPassword = true;
  const store = new DesktopSettingsStore(memoryDocument({ settings }), fakeCipher());
  await store.load();
  assert.match(store.warnings[0]!, /is missing from .*config\.json/);
});

test('keystore verdicts', () => {
  assert.deepEqual(secretStorageVerdict({ platform: 'linux', available: true, linuxBackend: 'gnome_libsecret' }), { ok: true, keystore: 'the Secret Service keyring' });
  assert.deepEqual(secretStorageVerdict({ platform: 'linux', available: true, linuxBackend: 'kwallet6' }), { ok: true, keystore: 'KWallet' });
  const basic = secretStorageVerdict({ platform: 'linux', available: true, linuxBackend: 'basic_text' });
  assert.equal(basic.ok, false);
  if (!basic.ok) assert.match(basic.reason, /no keyring.*'basic_text'.*protects nothing.*docker login/s);
  assert.equal(secretStorageVerdict({ platform: 'linux', available: true, linuxBackend: 'unknown' }).ok, false);
  assert.equal(secretStorageVerdict({ platform: 'linux', available: false, linuxBackend: 'gnome_libsecret' }).ok, false);
  assert.deepEqual(secretStorageVerdict({ platform: 'darwin', available: true }), { ok: true, keystore: 'the macOS Keychain' });
  assert.deepEqual(secretStorageVerdict({ platform: 'win32', available: true }), { ok: true, keystore: 'Windows DPAPI' });
  const mac = secretStorageVerdict({ platform: 'darwin', available: false });
  assert.equal(mac.ok, false);
  if (!mac.ok) assert.match(mac.reason, /macOS Keychain is not available/);
});
