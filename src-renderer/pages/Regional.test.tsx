/**
 * Regional caches in the dashboard (#18): the repository prefix in Settings
 * and first run, the endpoint choice, and what Overview and Activity show of
 * pull limits, measured throughput, redirect hosts and the host that served
 * each blob.
 */
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Settings } from '../../src-main/api/types.js';
import { emptyState, NOW, renderApp, sampleState } from '../test/render.js';
import { splitProxyUrl } from './FirstRun.js';

const MiB = 1024 * 1024;

function hubWithCache() {
  const state = sampleState(NOW);
  const hub = state.status.registries.find((r) => r.name === 'docker.io')!;
  hub.endpointChoice = 'fastest';
  hub.endpoints = [
    { url: 'https://msr-fra.example.com', repositoryPrefix: 'hub-proxy/', health: 'healthy', latencyMs: 12, throughputBytesPerSecond: 3 * MiB },
    {
      url: 'https://registry-1.docker.io', health: 'healthy', latencyMs: 187, throughputBytesPerSecond: 40 * MiB,
      rateLimit: { limit: 100, remaining: 14, windowSeconds: 21_600, source: '192.0.2.10', observedAt: NOW, low: true, exhausted: false },
    },
  ];
  const dtr = state.status.registries.find((r) => r.name === 'dtr.example.com')!;
  dtr.redirectHosts = [{ url: 'https://msr-cache-fra.example.com', health: 'down', lastError: 'certificate signed by unknown authority' }];
  return state;
}

describe('regional caches in the dashboard', () => {
  it('Overview: the prefix, the measured throughput, the pull limit and the redirect hosts of each registry', async () => {
    renderApp({ page: 'overview', state: hubWithCache() });
    const hub = (await screen.findAllByTestId('registry-health')).find((el) => el.dataset.registry === 'docker.io')!;
    expect(within(hub).getByTestId('endpoint-choice').textContent).toContain('fastest healthy endpoint first');
    const rows = within(hub).getAllByTestId('endpoint-row');
    expect(within(rows[0]!).getByTestId('endpoint-prefix').textContent).toBe(' as hub-proxy/…');
    expect(rows[0]!.textContent).not.toContain('tried first');
    expect(rows.map((row) => within(row).getByTestId('endpoint-throughput').textContent)).toEqual(['3.0 MiB/s', '40.0 MiB/s']);
    expect(within(rows[1]!).getByTestId('pull-limit').textContent).toBe('14 of 100 pulls left per 6 h · counted for 192.0.2.10');
    expect(within(rows[0]!).queryByTestId('pull-limit')).toBeNull();
    const dtr = (await screen.findAllByTestId('registry-health')).find((el) => el.dataset.registry === 'dtr.example.com')!;
    const redirect = within(dtr).getByTestId('redirect-host');
    expect(redirect.dataset.url).toBe('https://msr-cache-fra.example.com');
    expect(within(redirect).getByTestId('endpoint-health').dataset.state).toBe('down');
    expect(redirect.textContent).toContain('certificate signed by unknown authority');
  });

  it('Overview: at 429 it says cached tags are served stale until the limit resets', async () => {
    const state = hubWithCache();
    state.status.registries.find((r) => r.name === 'docker.io')!.endpoints[1]!.rateLimit = { limit: 100, remaining: 0, windowSeconds: 21_600, low: true, exhausted: true, exhaustedAt: NOW };
    renderApp({ page: 'overview', state });
    const hub = (await screen.findAllByTestId('registry-health')).find((el) => el.dataset.registry === 'docker.io')!;
    expect(within(hub).getByTestId('pull-limit').textContent).toBe('pull limit reached (429): 100 pulls per 6 h: cached tags are served as they are (stale) until it resets; new images cannot be fetched');
  });

  it('Activity: the host that served each fetched blob, and why a tag was served stale', async () => {
    const state = sampleState(NOW);
    const [manifest, blob] = state.activity.requests.filter((r) => r.repository === 'library/postgres');
    blob!.servedBy = 'msr-cache-fra.example.com';
    manifest!.cache = 'stale';
    manifest!.staleReason = 'upstream registry-1.docker.io is rate-limiting requests for manifest library/postgres:16';
    renderApp({ page: 'activity', state });
    const rows = (await screen.findAllByTestId('request-row')).filter((row) => row.dataset.repository === 'library/postgres');
    expect(rows.map((row) => within(row).getByTestId('served-by').textContent)).toEqual(['—', 'msr-cache-fra.example.com']);
    expect(within(rows[0]!).getByTestId('stale-reason').textContent).toContain('rate-limiting');
    expect(screen.getByRole('columnheader', { name: 'Served by' })).toBeTruthy();
  });

  it('Settings: a repository prefix and the endpoint choice are explained, checked and saved', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'settings' });
    const dtr = (await screen.findAllByTestId('registry-editor')).find((e) => e.dataset.registry === 'dtr.example.com')!;
    const cache = within(dtr).getAllByTestId('endpoint-editor')[0]!;
    const prefix = within(cache).getByTestId('repository-prefix');
    await user.type(prefix, 'Hub Proxy');
    await user.click(screen.getByTestId('settings-save'));
    expect(within(cache).getByText(/is a project path such as hub-proxy\//)).toBeTruthy();
    expect(fake.calls.filter((c) => c.method === 'updateSettings')).toHaveLength(0);

    await user.clear(prefix);
    await user.type(prefix, '/dtr-proxy');
    expect(cache.textContent).toContain('asked here as dtr-proxy/library/alpine');
    await user.selectOptions(within(dtr).getByLabelText('Which endpoint first'), 'fastest');
    expect(within(dtr).getByTestId('endpoint-choice').textContent).toContain('measured by real downloads');
    await user.click(screen.getByTestId('settings-save'));
    await screen.findByTestId('settings-saved');
    const saved = fake.calls.filter((c) => c.method === 'updateSettings')[0]!.arg as Partial<Settings>;
    const registry = saved.registries!.find((r) => r.name === 'dtr.example.com')!;
    expect(registry.endpointChoice).toBe('fastest');
    expect(registry.endpoints.map((e) => e.repositoryPrefix)).toEqual(['dtr-proxy/', undefined]);
  });

  it('first run: a proxy-project URL becomes a prefixed endpoint ahead of the registry it caches, checked through the prefix', async () => {
    expect(splitProxyUrl('https://msr-fra.example.com/hub-proxy/')).toEqual({ url: 'https://msr-fra.example.com', prefix: 'hub-proxy/' });
    expect(splitProxyUrl('https://dtr.example.com/')).toEqual({ url: 'https://dtr.example.com', prefix: '' });
    const state = emptyState(NOW);
    state.connection = (endpoint) => ({
      ok: true, url: endpoint.url, latencyMs: 30, auth: 'bearer',
      repositoryCheck: { repository: `${endpoint.repositoryPrefix}library/alpine`, ok: true, status: 200, detail: `${endpoint.repositoryPrefix}library/alpine:latest answered through the prefix` },
    });
    const user = userEvent.setup();
    const { fake } = renderApp({ state });
    await user.type(await screen.findByLabelText('Registry URL'), 'https://msr-fra.example.com/hub-proxy/');
    expect(screen.getByText(/A proxy project \(Harbor, MSR 4\)/)).toBeTruthy();
    expect((screen.getByTestId('first-run-proxied') as HTMLInputElement).value).toBe('docker.io');
    await user.click(screen.getByRole('button', { name: 'Test connection' }));
    expect((await screen.findByTestId('connection-ok')).textContent).toContain('hub-proxy/library/alpine:latest answered through the prefix');
    expect(fake.calls.find((c) => c.method === 'testConnection')?.arg).toMatchObject({ url: 'https://msr-fra.example.com', repositoryPrefix: 'hub-proxy/' });
    await user.click(await screen.findByTestId('first-run-continue'));
    expect(fake.state.settings.registries.find((r) => r.name === 'docker.io')!.endpoints).toEqual([
      { url: 'https://msr-fra.example.com', repositoryPrefix: 'hub-proxy/' },
      { url: 'https://registry-1.docker.io' },
    ]);
  });
});
