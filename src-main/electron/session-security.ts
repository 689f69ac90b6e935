/**
 * Applies security-policy.ts to Electron: the session's CSP header, request
 * filter and permission handlers, and the navigation/new-window/webview
 * guards on every web contents the app ever creates. Glue only: every
 * decision is in security-policy.ts.
 */
import { app, type Session, type WebContents } from 'electron';
import type { Logger } from 'pino';
import { isAllowedNavigation, isAllowedRequest, isPermissionAllowed, withContentSecurityPolicy } from './security-policy.js';

export interface SecurityOptions {
  dashboardUrl: string;
  devTools: boolean;
  logger: Logger;
}

export function hardenSession(session: Session, options: SecurityOptions): void {
  const { dashboardUrl, devTools, logger } = options;

  // Checklist 1: no remote content. Cancels anything not under the dashboard's folder.
  session.webRequest.onBeforeRequest((details, callback) => {
    const allowed = isAllowedRequest(details.url, dashboardUrl, { devTools });
    if (!allowed) logger.warn({ url: details.url.slice(0, 200), resourceType: details.resourceType }, 'blocked a request from the dashboard');
    callback({ cancel: !allowed });
  });

  // Checklist 7: the CSP as a response header on every document.
  session.webRequest.onHeadersReceived((details, callback) => {
    const responseHeaders = withContentSecurityPolicy(details.responseHeaders, details.resourceType);
    callback(responseHeaders ? { responseHeaders } : {});
  });

  // Checklist 5: permissions denied, but for clipboard writes from the dashboard.
  session.setPermissionRequestHandler((_contents, permission, callback, details) => {
    const allowed = isPermissionAllowed(permission, details.requestingUrl, dashboardUrl);
    if (!allowed) logger.warn({ permission, url: details.requestingUrl }, 'denied a permission request');
    callback(allowed);
  });
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin, details) =>
    isPermissionAllowed(permission, details.requestingUrl ?? requestingOrigin, dashboardUrl));
  session.setDevicePermissionHandler(() => false);
  session.setDisplayMediaRequestHandler((_request, callback) => callback({}));
  session.setSpellCheckerEnabled(false);
}

/** Checklist 11–14: no webviews, no navigation away, no new windows; for every web contents, including any not made by us. */
export function guardAllWebContents(options: SecurityOptions): void {
  app.on('web-contents-created', (_event, contents) => guardWebContents(contents, options));
}

function guardWebContents(contents: WebContents, { dashboardUrl, logger }: SecurityOptions): void {
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    logger.warn('refused to attach a <webview>');
  });
  // The dashboard has no frames (its CSP says frame-src 'none'), so a subframe never navigates anywhere.
  const refuseNavigation = (event: { preventDefault(): void; url: string; isMainFrame?: boolean }) => {
    if (event.isMainFrame !== false && isAllowedNavigation(event.url, dashboardUrl)) return;
    event.preventDefault();
    logger.warn({ url: event.url.slice(0, 200) }, 'refused a navigation away from the dashboard');
  };
  contents.on('will-navigate', refuseNavigation);
  contents.on('will-frame-navigate', refuseNavigation);
  contents.on('will-redirect', refuseNavigation);
  contents.setWindowOpenHandler(({ url }) => {
    logger.warn({ url: url.slice(0, 200) }, 'refused to open a new window');
    return { action: 'deny' };
  });
}
