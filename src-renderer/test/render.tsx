import { render, type RenderResult } from '@testing-library/react';
import { App } from '../app/App.js';
import { createFakeApi, emptyState, sampleState, type FakeApi, type FakeState } from './fake-api.js';

export const NOW = Date.UTC(2025, 10, 28, 9, 30, 0);

/** Renders the whole dashboard on a page (hash route) against a fake, with a fixed clock and no polling. */
export function renderApp(options: { page?: string; fake?: FakeApi; state?: FakeState } = {}): RenderResult & { fake: FakeApi } {
  const fake = options.fake ?? createFakeApi(options.state ?? sampleState(NOW));
  window.location.hash = options.page ? `/${options.page}` : '';
  const result = render(<App api={fake} statusRefreshMs={0} now={NOW} />);
  return { ...result, fake };
}

export { createFakeApi, emptyState, sampleState };
