import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CONTENT_SECURITY_POLICY, directoryUrl, isAllowedNavigation, isAllowedRequest, isPermissionAllowed, secureWebPreferences, withContentSecurityPolicy,
} from './security-policy.js';

const DASHBOARD = 'file:///opt/Layover/resources/app.asar/dist/renderer/index.html';

test('the window runs sandboxed and context-isolated, without Node, webviews, insecure content or experiments', () => {
  const preferences = secureWebPreferences('/app/dist/electron/preload.cjs', { devTools: false });
  assert.equal(preferences.preload, '/app/dist/electron/preload.cjs');
  assert.equal(preferences.contextIsolation, true);
  assert.equal(preferences.sandbox, true);
  assert.equal(preferences.nodeIntegration, false);
  assert.equal(preferences.nodeIntegrationInWorker, false);
  assert.equal(preferences.nodeIntegrationInSubFrames, false);
  assert.equal(preferences.webSecurity, true);
  assert.equal(preferences.allowRunningInsecureContent, false);
  assert.equal(preferences.experimentalFeatures, false);
  assert.equal(preferences.webviewTag, false);
  assert.equal(preferences.spellcheck, false, 'the spell checker would download dictionaries');
  assert.equal(preferences.devTools, false);
  assert.equal('enableBlinkFeatures' in preferences, false);
  assert.equal(secureWebPreferences('/p', { devTools: true }).devTools, true);
});

test('the CSP lets the page load only its own scripts, styles and images, and connect nowhere', () => {
  const directives = new Map(CONTENT_SECURITY_POLICY.split(';').map((part) => {
    const [name, ...values] = part.trim().split(/\s+/);
    return [name!, values.join(' ')];
  }));
  assert.equal(directives.get('default-src'), "'none'");
  assert.equal(directives.get('script-src'), "'self'");
  assert.equal(directives.get('style-src'), "'self'");
  assert.equal(directives.get('connect-src'), "'none'");
  assert.equal(directives.get('object-src'), "'none'");
  assert.equal(directives.get('base-uri'), "'none'");
  assert.equal(directives.get('frame-ancestors'), "'none'");
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-|data:|blob:|\*|https?:/);
});

test('the CSP header goes on documents only and replaces any policy the response had', () => {
  const document = withContentSecurityPolicy({ 'content-security-policy': ["default-src *"], 'X-Other': ['1'] }, 'mainFrame');
  assert.deepEqual(document, { 'X-Other': ['1'], 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] });
  assert.deepEqual(withContentSecurityPolicy(undefined, 'subFrame'), { 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] });
  const script = { 'Content-Type': ['text/javascript'] };
  assert.equal(withContentSecurityPolicy(script, 'script'), script);
});

test('requests: the dashboard\'s own files only; no remote content at all', () => {
  const allowed = (url: string, devTools = false) => isAllowedRequest(url, DASHBOARD, { devTools });
  assert.equal(directoryUrl(`${DASHBOARD}#/overview`), 'file:///opt/Layover/resources/app.asar/dist/renderer/');
  assert.equal(allowed(DASHBOARD), true);
  assert.equal(allowed('file:///opt/Layover/resources/app.asar/dist/renderer/assets/index-abc.js'), true);
  assert.equal(allowed('file:///opt/Layover/resources/app.asar/dist/renderer/favicon.svg'), true);
  assert.equal(allowed('file:///opt/Layover/resources/app.asar/dist/main/electron/main.js'), false, 'not outside the renderer folder');
  assert.equal(allowed('file:///opt/Layover/resources/app.asar/dist/renderer/../main/app/settings.js'), false, 'dot segments resolve outside');
  assert.equal(allowed('file:///opt/Layover/resources/app.asar/dist/renderer/%2e%2e/main/x.js'), false, 'encoded dot segments');
  assert.equal(allowed('file:///opt/Layover/resources/app.asar/dist/renderer/a%2f..%2fb'), false);
  assert.equal(allowed('file:///etc/passwd'), false);
  assert.equal(allowed('file:///opt/Layover/resources/app.asar/dist/renderer-evil/x.js'), false, 'a sibling folder with the same prefix');
  assert.equal(allowed('file://host/opt/Layover/resources/app.asar/dist/renderer/index.html'), false);
  for (const remote of ['https://example.com/x.js', 'http://127.0.0.1:5051/api/v1/call/getStatus', 'ws://127.0.0.1:1/', 'data:text/html,hi', 'blob:file:///x', 'chrome://gpu', 'about:blank#x']) {
    assert.equal(allowed(remote), false, remote);
  }
  assert.equal(allowed('devtools://devtools/bundled/inspector.html'), false);
  assert.equal(allowed('devtools://devtools/bundled/inspector.html', true), true);
  assert.equal(allowed('::not a url'), false);
});

test('navigation stays on the dashboard; only its hash routes change', () => {
  assert.equal(isAllowedNavigation(`${DASHBOARD}#/docker`, DASHBOARD), true);
  assert.equal(isAllowedNavigation('https://example.com/', DASHBOARD), false);
  assert.equal(isAllowedNavigation('file:///home/user/Downloads/page.html', DASHBOARD), false);
  assert.equal(isAllowedNavigation('http://127.0.0.1:5051/', DASHBOARD), false);
});

test('permissions: all denied, but clipboard writes from the dashboard itself', () => {
  assert.equal(isPermissionAllowed('clipboard-sanitized-write', DASHBOARD, DASHBOARD), true);
  assert.equal(isPermissionAllowed('clipboard-sanitized-write', 'https://example.com/', DASHBOARD), false);
  assert.equal(isPermissionAllowed('clipboard-sanitized-write', undefined, DASHBOARD), false);
  for (const permission of ['clipboard-read', 'notifications', 'media', 'geolocation', 'openExternal', 'fullscreen', 'hid', 'usb', 'serial']) {
    assert.equal(isPermissionAllowed(permission, DASHBOARD, DASHBOARD), false, permission);
  }
});
