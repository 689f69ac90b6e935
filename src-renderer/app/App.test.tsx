import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { createFakeApi, emptyState, renderApp } from '../test/render.js';

const NAV_NAMES = ['Overview', 'Repositories', 'Activity', 'Docker', 'Settings', 'Demo', 'Export', 'Import'];

describe('the dashboard shell', () => {
  it('names the navigation links and marks the current page', async () => {
    renderApp({ page: 'activity' });
    const nav = screen.getByRole('navigation', { name: 'Main' });
    const links = within(nav).getAllByRole('link');
    expect(links.map((l) => l.textContent)).toEqual(NAV_NAMES);
    for (const name of NAV_NAMES) expect(within(nav).getByRole('link', { name }).getAttribute('href')).toBe(`#/${name.toLowerCase()}`);
    await screen.findByRole('heading', { level: 1, name: 'Activity' });
    expect(within(nav).getByRole('link', { name: 'Activity' }).getAttribute('aria-current')).toBe('page');
    expect(within(nav).getByRole('link', { name: 'Overview' }).getAttribute('aria-current')).toBeNull();
  });

  it('is reachable by keyboard: Tab walks the nav in order, Enter opens a page and focus lands on its heading', async () => {
    const user = userEvent.setup();
    renderApp({ page: 'overview' });
    await screen.findByRole('heading', { level: 1, name: 'Overview' });
    await user.tab();
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Skip to content' }));
    for (const name of NAV_NAMES) {
      await user.tab();
      expect(document.activeElement).toBe(screen.getByRole('link', { name }));
    }
    // Back past "Import", "Export", "Demo" and "Settings" to "Docker", and open it with Enter.
    for (let step = 0; step < 4; step += 1) await user.tab({ shift: true });
    await user.keyboard('{Enter}');
    const heading = await screen.findByRole('heading', { level: 1, name: 'Docker' });
    await waitFor(() => expect(document.activeElement).toBe(heading));
    expect(screen.getByRole('link', { name: 'Docker' }).getAttribute('aria-current')).toBe('page');
  });

  it('opens first run on a fresh install and the overview once it is done', async () => {
    renderApp({ state: emptyState() });
    expect(await screen.findByRole('heading', { level: 1, name: 'Set up Layover' })).toBeTruthy();
    expect(window.location.hash).toBe('#/first-run');
    window.location.hash = '';
  });

  it('goes to the overview when first run is done', async () => {
    renderApp();
    expect(await screen.findByRole('heading', { level: 1, name: 'Overview' })).toBeTruthy();
    await waitFor(() => expect(window.location.hash).toBe('#/overview'));
  });

  it('says so when Layover does not answer, and recovers on Retry', async () => {
    const fake = createFakeApi();
    fake.fail('getStatus', 'connect ECONNREFUSED 127.0.0.1:5051');
    fake.fail('getSettings', 'connect ECONNREFUSED 127.0.0.1:5051');
    renderApp({ fake, page: 'overview' });
    expect(await screen.findByRole('heading', { name: 'Layover is not answering' })).toBeTruthy();
    expect(screen.getByRole('alert').textContent).toContain('connect ECONNREFUSED 127.0.0.1:5051');
    fake.fail('getStatus');
    fake.fail('getSettings');
    await userEvent.click(screen.getByRole('button', { name: 'Retry' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Overview' })).toBeTruthy();
  });
});
