/**
 * Electron's security checklist, as decisions: what the dashboard window's
 * webPreferences are, which requests, navigations and permissions are
 * allowed, and the Content-Security-Policy sent with the page. Pure, so every
 * rule has a unit test; session-security.ts applies them.
 */
import type { WebPreferences } from 'electron';
import { dashboardContentSecurityPolicy } from '../api/content-security-policy.js';
import { isTrustedSender } from './ipc-protocol.js';

/**
 * The policy the shell sends as a response header: the dashboard's one
 * policy (src-main/api), connecting nowhere, since the window talks over IPC
 * only. The built index.html carries the browser's variant, which may connect
 * to its own origin; a page under both gets the intersection.
 */
export const CONTENT_SECURITY_POLICY = dashboardContentSecurityPolicy({ connect: "'none'", delivery: 'header' });

/** webPreferences of every window the shell opens (checklist 2, 3, 4, 6, 8, 9, 10, 11). */
export function secureWebPreferences(preload: string, options: { devTools: boolean }): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    // Spell checking downloads dictionaries from the network: no remote content.
    spellcheck: false,
    devTools: options.devTools,
  };
}

/** The dashboard's file:// directory as a URL ending in "/", for prefix checks. */
export function directoryUrl(fileUrlOfIndex: string): string {
  const url = new URL(fileUrlOfIndex);
  url.search = '';
  url.hash = '';
  return new URL('.', url).href;
}

/**
 * Which requests any page of the app may make (checklist 1: no remote
 * content). Only files under the dashboard's own directory; devtools:// only
 * while developer tools are allowed. Everything else, http(s) and ws
 * included, is cancelled: the main process's own upstream traffic does not
 * pass through the session and is not affected.
 */
export function isAllowedRequest(url: string, dashboardUrl: string, options: { devTools: boolean }): boolean {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return false;
  }
  if (target.protocol === 'devtools:') return options.devTools;
  if (target.protocol !== 'file:' || target.host !== '') return false;
  const base = new URL(directoryUrl(dashboardUrl));
  // Compare normalised paths: "/a/b/../c" was resolved by URL already, and an encoded "%2e%2e" is not a separator.
  return target.pathname.startsWith(base.pathname) && !/%2e%2e|%2f|%5c/i.test(target.pathname.slice(base.pathname.length));
}

/** Checklist 13: the dashboard never navigates away from itself (in-page hash routes do not count as navigations). */
export function isAllowedNavigation(url: string, dashboardUrl: string): boolean {
  return isTrustedSender({ url, isMainFrame: true }, dashboardUrl);
}

/**
 * Checklist 5: every permission is denied except writing to the clipboard
 * from the dashboard itself (its copy buttons).
 */
export const ALLOWED_PERMISSIONS: ReadonlySet<string> = new Set(['clipboard-sanitized-write']);

export function isPermissionAllowed(permission: string, requestingUrl: string | undefined, dashboardUrl: string): boolean {
  if (!ALLOWED_PERMISSIONS.has(permission) || !requestingUrl) return false;
  return isTrustedSender({ url: requestingUrl, isMainFrame: true }, dashboardUrl);
}

type Headers = Record<string, string | string[]>;

/**
 * Checklist 7: response headers with our CSP on every document. Any CSP the
 * response carried is replaced, not merged: ours is the one that holds.
 */
export function withContentSecurityPolicy(headers: Headers | undefined, resourceType: string): Headers | undefined {
  if (resourceType !== 'mainFrame' && resourceType !== 'subFrame') return headers;
  const next: Headers = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() !== 'content-security-policy') next[name] = value;
  }
  next['Content-Security-Policy'] = [CONTENT_SECURITY_POLICY];
  return next;
}
