/**
 * Start at login. macOS and Windows have login items (app.setLoginItemSettings);
 * Linux desktops follow the XDG Autostart spec: a .desktop file in
 * $XDG_CONFIG_HOME/autostart. Everything here is pure; login-item.ts acts.
 */
import { posix } from 'node:path';

/** Passed when the OS starts Layover at login: the tray comes up, the window does not. */
export const HIDDEN_FLAG = '--hidden';
export const AUTOSTART_FILE = 'layover.desktop';

/**
 * The command that starts this Layover again, as argv.
 * - An AppImage runs from a new mount point each time: the command must be
 *   the .AppImage file itself ($APPIMAGE), never process.execPath.
 * - A packaged app (deb, dmg, nsis) is its executable.
 * - In development the Electron binary needs the app's folder.
 */
export function launchCommand(input: { execPath: string; isPackaged: boolean; appPath: string; env: Record<string, string | undefined> }): string[] {
  if (input.env.APPIMAGE) return [input.env.APPIMAGE, HIDDEN_FLAG];
  if (input.isPackaged) return [input.execPath, HIDDEN_FLAG];
  return [input.execPath, input.appPath, HIDDEN_FLAG];
}

/** $XDG_CONFIG_HOME/autostart/layover.desktop, with the spec's fallback to ~/.config. */
export function xdgAutostartPath(env: Record<string, string | undefined>, home: string): string {
  const configHome = env.XDG_CONFIG_HOME && posix.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : posix.join(home, '.config');
  return posix.join(configHome, 'autostart', AUTOSTART_FILE);
}

/** Characters that oblige an Exec argument to be quoted (Desktop Entry spec, "The Exec key"). */
const RESERVED = /[\s"'\\><~|&;$*?#`()]/;

/**
 * One Exec argument, quoted as the spec asks, then escaped as a string value:
 * inside double quotes `"`, `` ` ``, `$` and `\` take a backslash, and every
 * backslash is then doubled by the string escaping (so a literal backslash
 * becomes four). `%` is a field code and is written `%%`.
 */
export function quoteExecArgument(argument: string): string {
  if (argument === '') return '""';
  if (/[\n\r\t\0]/.test(argument)) throw new Error(`a desktop entry cannot start a command whose argument holds a control character: ${JSON.stringify(argument)}`);
  const percent = argument.replace(/%/g, '%%');
  if (!RESERVED.test(percent)) return percent;
  const quoted = `"${percent.replace(/(["`$\\])/g, '\\$1')}"`;
  return quoted.replace(/\\/g, '\\\\');
}

/** A value of type string or localestring: backslash, newline, tab and carriage return escaped. */
export function escapeStringValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r');
}

export interface AutostartEntryInput {
  command: string[];
  name: string;
  comment: string;
  /** An icon name from the icon theme (the deb installs "layover"), or an absolute path. */
  icon: string;
}

export function xdgAutostartEntry(input: AutostartEntryInput): string {
  if (input.command.length === 0) throw new Error('an autostart entry needs a command');
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Version=1.5',
    `Name=${escapeStringValue(input.name)}`,
    `Comment=${escapeStringValue(input.comment)}`,
    `Exec=${input.command.map(quoteExecArgument).join(' ')}`,
    `Icon=${escapeStringValue(input.icon)}`,
    'Terminal=false',
    'Categories=Development;',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

/** What app.setLoginItemSettings gets on macOS and Windows. */
export interface LoginItemSettings {
  openAtLogin: boolean;
  /** Windows: the executable and its arguments. macOS reports a login launch through wasOpenedAtLogin instead. */
  path?: string;
  args?: string[];
}

export function loginItemSettings(platform: string, openAtLogin: boolean, command: string[]): LoginItemSettings {
  if (platform === 'win32') {
    const [path, ...args] = command;
    return { openAtLogin, ...(path ? { path } : {}), args };
  }
  return { openAtLogin };
}

/** Whether this launch should stay in the tray: started at login, or asked to. */
export function startsHidden(argv: readonly string[], wasOpenedAtLogin: boolean): boolean {
  return wasOpenedAtLogin || argv.includes(HIDDEN_FLAG);
}
