import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { DASHBOARD_META_CONTENT_SECURITY_POLICY } from '../src-main/api/content-security-policy.js';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * Puts the CSP into the built index.html as well, so the page is protected
 * however it is served. Build only: the dev server's React refresh needs an
 * inline script.
 */
function contentSecurityPolicy(): Plugin {
  return {
    name: 'layover-csp-meta',
    apply: 'build',
    transformIndexHtml: {
      order: 'pre',
      handler: (html) => {
        const charset = '<meta charset="utf-8" />';
        if (!html.includes(charset)) throw new Error(`index.html must start its head with ${charset}`);
        return html.replace(charset, `${charset}\n    <meta http-equiv="Content-Security-Policy" content="${DASHBOARD_META_CONTENT_SECURITY_POLICY}" />`);
      },
    },
  };
}

/**
 * Builds the dashboard to dist/renderer/. `base: './'` because the Electron
 * shell loads it from file:// and `layover serve` serves it from `/`.
 * The output must run under `default-src 'self'; style-src 'self'`, so no
 * asset is ever inlined as a data: URI and nothing is fetched from elsewhere.
 */
export default defineConfig({
  root,
  base: './',
  plugins: [react(), contentSecurityPolicy()],
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: true,
    modulePreload: { polyfill: false },
  },
});
