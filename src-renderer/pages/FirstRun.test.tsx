import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { emptyState, NOW, renderApp } from '../test/render.js';
import { registryNameOf, withEndpoint } from './FirstRun.js';

function freshInstall() {
  const state = emptyState(NOW);
  state.catalog['dtr.example.com'] = [
    { name: 'platform/build-agent', cached: false, cachedTags: 0 },
    { name: 'payments/api', cached: false, cachedTags: 0 },
  ];
  return state;
}

describe('First run', () => {
  it('shows the exact error when the connection test fails, and lets the person fix it', async () => {
    const state = freshInstall();
    const exact = 'Get "https://dtr.example.com/v2/": x509: certificate signed by unknown authority';
    state.connection = (endpoint) =>
      endpoint.caFile ? { ok: true, url: endpoint.url, latencyMs: 48, auth: 'bearer' } : { ok: false, url: endpoint.url, error: exact };
    const user = userEvent.setup();
    const { fake } = renderApp({ state });
    await user.type(await screen.findByLabelText('Registry URL'), 'https://dtr.example.com');
    await user.type(screen.getByLabelText('Username (optional)'), 'ci-reader');
    await user.type(screen.getByLabelText('Password or access token (optional)'), 'hunter2');
    await user.click(screen.getByRole('button', { name: 'Test connection' }));

    const error = await screen.findByTestId('connection-error');
    expect(error.getAttribute('role')).toBe('alert');
    expect(error.textContent).toContain(exact);
    expect(screen.queryByTestId('first-run-continue')).toBeNull();
    expect(fake.calls.find((c) => c.method === 'testConnection')?.arg).toMatchObject({ url: 'https://dtr.example.com', username: 'ci-reader', password: '***' });

    await user.type(screen.getByLabelText('CA bundle (optional)'), '/etc/ssl/certs/company-root.pem');
    expect(screen.queryByTestId('connection-error')).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Test connection' }));
    expect((await screen.findByTestId('connection-ok')).textContent).toContain('48 ms');
  });

  it('shows a transport failure of the test itself, word for word', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ state: freshInstall() });
    fake.fail('testConnection', 'connect ECONNREFUSED 10.0.0.5:443');
    await user.type(await screen.findByLabelText('Registry URL'), 'https://dtr.example.com');
    await user.click(screen.getByRole('button', { name: 'Test connection' }));
    expect((await screen.findByTestId('connection-error')).textContent).toContain('connect ECONNREFUSED 10.0.0.5:443');
  });

  it('refuses a URL that is not one before asking the core', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ state: freshInstall() });
    await user.type(await screen.findByLabelText('Registry URL'), 'dtr.example.com');
    await user.click(screen.getByRole('button', { name: 'Test connection' }));
    expect(screen.getByLabelText('Registry URL').getAttribute('aria-invalid')).toBe('true');
    expect(fake.calls.some((c) => c.method === 'testConnection')).toBe(false);
  });

  it('walks through connect → prefetch → Docker and lands on the overview', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ state: freshInstall() });
    await user.type(await screen.findByLabelText('Registry URL'), 'https://dtr.example.com/');
    await user.type(screen.getByLabelText('Password or access token (optional)'), 'tok');
    await user.click(screen.getByRole('button', { name: 'Test connection' }));
    await user.click(await screen.findByTestId('first-run-continue'));

    // The registry was saved with its credentials, after Docker Hub.
    expect(fake.state.settings.registries.map((r) => r.name)).toEqual(['docker.io', 'dtr.example.com']);
    expect(fake.state.settings.registries[1]!.endpoints).toEqual([{ url: 'https://dtr.example.com', password: 'tok' }]);

    await screen.findByRole('heading', { name: 'Choose what to prefetch' });
    const list = await screen.findByRole('list', { name: 'Repositories' });
    await user.click(within(list).getByLabelText('platform/build-agent'));
    await user.click(screen.getByTestId('first-run-prefetch'));
    expect(fake.calls.filter((c) => c.method === 'prefetch').map((c) => c.arg)).toEqual([{ registry: 'dtr.example.com', repository: 'platform/build-agent' }]);

    await screen.findByRole('heading', { name: 'Point Docker at Layover' });
    const diff = await screen.findByTestId('config-diff');
    expect(diff.textContent).toContain('http://127.0.0.1:5050');
    await user.click(screen.getByTestId('docker-apply'));
    expect((await screen.findByText('Docker now uses Layover as its registry mirror.')).getAttribute('role')).toBe('status');
    expect(fake.state.docker.usesLayover).toBe(true);
    expect((await screen.findByTestId('docker-pull-check')).dataset.outcome).toBe('reaches');

    await user.click(screen.getByTestId('first-run-next'));
    await user.click(await screen.findByTestId('first-run-finish'));
    expect(await screen.findByRole('heading', { level: 1, name: 'Overview' })).toBeTruthy();
    expect(fake.state.settings.firstRunDone).toBe(true);
  });

  it('can be skipped from the first step', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ state: freshInstall() });
    await user.click(await screen.findByTestId('first-run-skip'));
    await waitFor(() => expect(window.location.hash).toBe('#/overview'));
    expect(fake.state.settings.firstRunDone).toBe(true);
  });

  it('names registries as clients do and keeps saved passwords out of the update', () => {
    expect(registryNameOf('https://registry-1.docker.io')).toBe('docker.io');
    expect(registryNameOf('https://dtr.example.com:8443/')).toBe('dtr.example.com:8443');
    expect(registryNameOf('nope')).toBe('');
    const merged = withEndpoint(
      [{ name: 'dtr.example.com', endpoints: [{ url: 'https://cache', hasPassword: true }, { url: 'https://dtr.example.com', hasPassword: true }] }],
      'dtr.example.com',
      { url: 'https://dtr.example.com', username: 'me', password: 'new' },
    );
    expect(merged).toEqual([{ name: 'dtr.example.com', endpoints: [{ url: 'https://cache' }, { url: 'https://dtr.example.com', username: 'me', password: 'new' }] }]);
  });
});
