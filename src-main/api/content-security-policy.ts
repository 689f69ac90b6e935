/**
 * The dashboard's Content-Security-Policy, defined once for every way it is
 * served: in the built index.html (a meta tag), by the admin listener to a
 * browser, and by the Electron shell as a response header. The page loads
 * nothing but its own files and never runs inline or evaluated code. Two
 * things differ, and only these: where it may connect (a browser talks to the
 * control API on its own origin; the Electron window talks over IPC, so it
 * connects nowhere), and frame-ancestors, which only a header can carry (a
 * browser reports it as an error in a meta tag).
 */
export function dashboardContentSecurityPolicy(options: { connect: "'self'" | "'none'"; delivery: 'header' | 'meta' }): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    `connect-src ${options.connect}`,
    "object-src 'none'",
    "frame-src 'none'",
    "worker-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    ...(options.delivery === 'header' ? ["frame-ancestors 'none'"] : []),
  ].join('; ');
}

/** What the admin listener sends with the dashboard to a browser. */
export const DASHBOARD_CONTENT_SECURITY_POLICY = dashboardContentSecurityPolicy({ connect: "'self'", delivery: 'header' });

/** What the built index.html carries, however it is served. */
export const DASHBOARD_META_CONTENT_SECURITY_POLICY = dashboardContentSecurityPolicy({ connect: "'self'", delivery: 'meta' });
