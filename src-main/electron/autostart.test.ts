import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  escapeStringValue, HIDDEN_FLAG, launchCommand, loginItemSettings, quoteExecArgument, startsHidden, xdgAutostartEntry, xdgAutostartPath,
} from './autostart.js';

test('the command: the AppImage file itself, the packaged executable, or Electron with the app folder', () => {
  assert.deepEqual(
    launchCommand({ execPath: '/tmp/.mount_LayoveXYZ/layover', isPackaged: true, appPath: '/tmp/.mount_LayoveXYZ/resources/app.asar', env: { APPIMAGE: '/home/me/Apps/Layover-0.1.0.AppImage' } }),
    ['/home/me/Apps/Layover-0.1.0.AppImage', HIDDEN_FLAG],
  );
  assert.deepEqual(launchCommand({ execPath: '/opt/Layover/layover', isPackaged: true, appPath: '/opt/Layover/resources/app.asar', env: {} }), ['/opt/Layover/layover', '--hidden']);
  assert.deepEqual(launchCommand({ execPath: '/repo/node_modules/electron/dist/electron', isPackaged: false, appPath: '/repo', env: {} }),
    ['/repo/node_modules/electron/dist/electron', '/repo', '--hidden']);
});

test('the autostart file: $XDG_CONFIG_HOME/autostart, else ~/.config/autostart; a relative XDG_CONFIG_HOME is ignored as the spec says', () => {
  assert.equal(xdgAutostartPath({ XDG_CONFIG_HOME: '/home/me/.cfg' }, '/home/me'), '/home/me/.cfg/autostart/layover.desktop');
  assert.equal(xdgAutostartPath({}, '/home/me'), '/home/me/.config/autostart/layover.desktop');
  assert.equal(xdgAutostartPath({ XDG_CONFIG_HOME: '' }, '/home/me'), '/home/me/.config/autostart/layover.desktop');
  assert.equal(xdgAutostartPath({ XDG_CONFIG_HOME: 'relative/cfg' }, '/home/me'), '/home/me/.config/autostart/layover.desktop');
});

test('Exec arguments are quoted and escaped as the Desktop Entry spec asks', () => {
  assert.equal(quoteExecArgument('/opt/Layover/layover'), '/opt/Layover/layover');
  assert.equal(quoteExecArgument('--hidden'), '--hidden');
  assert.equal(quoteExecArgument('/home/me/My Apps/Layover.AppImage'), '"/home/me/My Apps/Layover.AppImage"');
  // Inside quotes: " ` $ \ take a backslash; then the string escaping doubles every backslash.
  assert.equal(quoteExecArgument('a"b'), '"a\\\\"b"');
  assert.equal(quoteExecArgument('$HOME'), '"\\\\$HOME"');
  assert.equal(quoteExecArgument('a`b'), '"a\\\\`b"');
  assert.equal(quoteExecArgument('C:\\x'), '"C:\\\\\\\\x"', 'a literal backslash is four');
  assert.equal(quoteExecArgument("it's"), `"it's"`);
  assert.equal(quoteExecArgument('100%'), '100%%', 'a percent sign is not a field code');
  assert.equal(quoteExecArgument('a b%c'), '"a b%%c"');
  assert.equal(quoteExecArgument(''), '""');
  assert.throws(() => quoteExecArgument('a\nb'), /control character/);
});

test('string values escape backslash, newline, tab and carriage return', () => {
  assert.equal(escapeStringValue('a\\b\nc\td\re'), 'a\\\\b\\nc\\td\\re');
});

test('the autostart entry', () => {
  const entry = xdgAutostartEntry({
    command: ['/home/me/My Apps/Layover.AppImage', '--hidden'],
    name: 'Layover',
    comment: 'Pull-through registry cache for slow-link offices',
    icon: 'layover',
  });
  assert.equal(entry, [
    '[Desktop Entry]',
    'Type=Application',
    'Version=1.5',
    'Name=Layover',
    'Comment=Pull-through registry cache for slow-link offices',
    'Exec="/home/me/My Apps/Layover.AppImage" --hidden',
    'Icon=layover',
    'Terminal=false',
    'Categories=Development;',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n'));
  assert.throws(() => xdgAutostartEntry({ command: [], name: 'x', comment: 'y', icon: 'z' }), /needs a command/);
});

test('login items: Windows names the executable and its arguments; macOS only opens at login', () => {
  assert.deepEqual(loginItemSettings('win32', true, ['C:\\Program Files\\Layover\\Layover.exe', '--hidden']),
    { openAtLogin: true, path: 'C:\\Program Files\\Layover\\Layover.exe', args: ['--hidden'] });
  assert.deepEqual(loginItemSettings('win32', false, ['C:\\L.exe', '--hidden']), { openAtLogin: false, path: 'C:\\L.exe', args: ['--hidden'] });
  assert.deepEqual(loginItemSettings('darwin', true, ['/Applications/Layover.app/Contents/MacOS/Layover', '--hidden']), { openAtLogin: true });
});

test('a login launch stays in the tray', () => {
  assert.equal(startsHidden(['/opt/Layover/layover', '--hidden'], false), true);
  assert.equal(startsHidden(['/opt/Layover/layover'], true), true);
  assert.equal(startsHidden(['/opt/Layover/layover'], false), false);
});
