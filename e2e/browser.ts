/**
 * Debian's Chromium through playwright-core (browser downloads are impossible
 * here), with the flags that keep it off the network.
 */
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.LAYOVER_CHROMIUM ?? '/usr/bin/chromium';

/** extraArgs: e.g. a --host-resolver-rules that maps a test's own name to 127.0.0.1. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic', ...extraArgs],
  });
}

/** Collects console errors and page errors (a CSP violation shows up as one), for assertions. */
export function watchForProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return problems;
}
