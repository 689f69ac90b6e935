import { readFile } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import type { Settings } from '../api/types.js';
import { defaultSettings, parseSettings } from './settings.js';

/**
 * Where settings live. The desktop app adapts electron-store (with
 * safeStorage for secrets); headless uses this JSON file, readable only by
 * its owner because it may hold registry passwords.
 */
export interface SettingsStore {
  load(): Promise<Settings>;
  save(settings: Settings): Promise<void>;
  /** Where they are, for messages. */
  readonly location: string;
}

export class FileSettingsStore implements SettingsStore {
  constructor(readonly location: string) {}

  async load(): Promise<Settings> {
    let text: string;
    try {
      text = await readFile(this.location, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return defaultSettings();
      throw new Error(`cannot read settings file ${this.location}: ${(error as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new Error(`settings file ${this.location} is not valid JSON: ${(error as Error).message}`);
    }
    return parseSettings(parsed, this.location);
  }

  async save(settings: Settings): Promise<void> {
    parseSettings(settings, 'the settings to save');
    await writeFileAtomic(this.location, JSON.stringify(settings, null, 2) + '\n', { mode: 0o600 });
  }
}
