import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src-main/api/types.js';
import { createFakeApi, emptyState, NOW, renderApp, sampleState } from '../test/render.js';

const MiB = 1024 ** 2;
const rowOf = (rows: HTMLElement[], repository: string): HTMLElement => rows.find((r) => r.dataset.repository === repository)!;

describe('Repositories', () => {
  it('prefetches a repository and follows its job to done through live events', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'repositories' });
    await user.selectOptions(await screen.findByLabelText('Registry'), 'dtr.example.com');
    const row = rowOf(await screen.findAllByTestId('repository-row'), 'payments/worker');
    await user.click(within(row).getByRole('button', { name: 'Prefetch payments/worker' }));

    expect(fake.calls.filter((c) => c.method === 'prefetch').map((c) => c.arg)).toEqual([{ registry: 'dtr.example.com', repository: 'payments/worker' }]);
    const jobRow = await waitFor(() => rowOf(screen.getAllByTestId('job-row'), 'payments/worker'));
    expect(within(jobRow).getByTestId('job-state').dataset.state).toBe('queued');
    // While it runs, the repository cannot be prefetched twice.
    expect((within(rowOf(screen.getAllByTestId('repository-row'), 'payments/worker')).getByRole('button', { name: 'Prefetch payments/worker' }) as HTMLButtonElement).disabled).toBe(true);

    const job = fake.state.jobs.find((j) => j.repository === 'payments/worker')!;
    const running: JobStatus = { ...job, state: 'running', bytesTotal: 200 * MiB, bytesDone: 50 * MiB, blobsTotal: 8, blobsDone: 2, bytesPerSecond: 2 * MiB, etaSeconds: 75 };
    act(() => fake.emit({ type: 'job', job: running }));
    const live = rowOf(screen.getAllByTestId('job-row'), 'payments/worker');
    expect(within(live).getByTestId('job-state').dataset.state).toBe('running');
    expect((within(live).getByRole('progressbar') as HTMLProgressElement).value).toBe(50 * MiB);
    expect(live.textContent).toContain('1 min 15 s left');

    act(() => fake.emit({ type: 'job', job: { ...running, state: 'done', bytesDone: 200 * MiB, blobsDone: 8, finishedAt: NOW } }));
    const done = rowOf(screen.getAllByTestId('job-row'), 'payments/worker');
    expect(done.dataset.state).toBe('done');
    expect(within(done).queryByRole('button', { name: /Pause|Cancel/ })).toBeNull();
  });

  it('pauses, resumes and cancels a job', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'repositories' });
    await user.click(await screen.findByRole('button', { name: 'Pause platform/build-agent:3.5.0-rc.1' }));
    await user.click(await screen.findByRole('button', { name: 'Resume platform/build-agent:3.5.0-rc.1' }));
    await user.click(await screen.findByRole('button', { name: 'Cancel payments/api:v1.11.3' }));
    expect(fake.calls.filter((c) => /Job$/.test(c.method)).map((c) => [c.method, c.arg])).toEqual([
      ['pauseJob', { id: 'job-1' }],
      ['resumeJob', { id: 'job-1' }],
      ['cancelJob', { id: 'job-2' }],
    ]);
    await waitFor(() => expect(rowOf(screen.getAllByTestId('job-row'), 'payments/api').dataset.state).toBe('cancelled'));
  });

  it('shows tags with their sync state and prefetches the chosen ones', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'repositories' });
    await user.selectOptions(await screen.findByLabelText('Registry'), 'dtr.example.com');
    await user.click(await screen.findByRole('button', { name: 'Show tags of platform/build-agent' }));
    const rows = await screen.findAllByTestId('tag-row');
    expect(rows.map((r) => [r.dataset.tag, within(r).getByTestId('sync-state').dataset.state])).toEqual([
      ['3.4.1', 'in-sync'], ['3.4.0', 'in-sync'], ['latest', 'stale'], ['3.5.0-rc.1', 'syncing'], ['3.3.9', 'failed'], ['2.9.0', 'missing'],
    ]);
    expect(rows.find((r) => r.dataset.tag === '3.3.9')!.textContent).toContain('manifest unknown');
    await user.click(screen.getByLabelText('Select tag latest'));
    await user.click(screen.getByLabelText('Select tag 2.9.0'));
    await user.click(screen.getByRole('button', { name: 'Prefetch 2 tags' }));
    expect(fake.calls.filter((c) => c.method === 'prefetch').map((c) => c.arg)).toEqual([
      { registry: 'dtr.example.com', repository: 'platform/build-agent', tags: { kind: 'exact', tags: ['latest', '2.9.0'] } },
    ]);
  });

  it('searches the catalog', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'repositories' });
    await user.selectOptions(await screen.findByLabelText('Registry'), 'dtr.example.com');
    await screen.findAllByTestId('repository-row');
    await user.type(screen.getByLabelText('Search repositories'), 'payments');
    await waitFor(() => expect(screen.getAllByTestId('repository-row').map((r) => r.dataset.repository)).toEqual(['payments/api', 'payments/worker', 'payments/ledger']));
    expect(fake.calls.filter((c) => c.method === 'listRepositories').at(-1)?.arg).toEqual({ registry: 'dtr.example.com', query: 'payments' });
    await user.type(screen.getByLabelText('Search repositories'), 'zzz');
    expect((await screen.findByTestId('catalog-empty')).textContent).toContain('No repository matches “paymentszzz”');
  });

  it('shows a catalog of 2,000 repositories a page at a time, and what is cached searched by the core', async () => {
    const user = userEvent.setup();
    const state = sampleState(NOW);
    state.catalog['docker.io'] = Array.from({ length: 2000 }, (_, i) => ({ name: `team/service-${String(i).padStart(4, '0')}`, cached: i % 2 === 0, cachedTags: i % 2 === 0 ? 50 : 0 }));
    const { fake } = renderApp({ page: 'repositories', state });
    const firstPage = await screen.findAllByTestId('repository-row');
    expect(firstPage).toHaveLength(50);
    await user.click(within(screen.getByTestId('catalog-pager')).getByRole('button', { name: 'Next' }));
    await waitFor(() => expect(screen.getAllByTestId('repository-row')[0]!.dataset.repository).toBe('team/service-0050'));
    expect(screen.getAllByTestId('repository-row')).toHaveLength(50);
    expect(screen.getByTestId('catalog-pager-number').textContent).toBe('Page 2');
    await user.click(within(screen.getByTestId('catalog-pager')).getByRole('button', { name: 'Previous' }));
    await waitFor(() => expect(screen.getAllByTestId('repository-row')[0]!.dataset.repository).toBe('team/service-0000'));

    const cached = await screen.findAllByTestId('cached-row');
    expect(cached.length).toBeLessThanOrEqual(50);
    expect(screen.getByTestId('cached-total').textContent).toContain('cached in all');
    await user.type(screen.getByLabelText('Search what is cached'), 'service-1234');
    await waitFor(() => expect(screen.getAllByTestId('cached-row').map((r) => r.dataset.repository)).toEqual(['team/service-1234']));
    expect(fake.calls.filter((c) => c.method === 'listCachedRepositories').at(-1)?.arg).toEqual({ registry: 'docker.io', limit: 50, query: 'service-1234' });
    await user.click(screen.getByRole('button', { name: 'Show cached tags of team/service-1234' }));
    expect(await screen.findByRole('heading', { name: 'team/service-1234' })).toBeTruthy();
  });

  it('says when the catalog comes from the cache only, and when it cannot be listed at all', async () => {
    const state = sampleState(NOW);
    state.catalogSource = 'cache';
    renderApp({ page: 'repositories', state });
    expect((await screen.findByText(/The upstream is unreachable/)).getAttribute('role')).toBe('status');
  });

  it('shows a catalog error with the message and a Retry', async () => {
    const fake = createFakeApi(sampleState(NOW));
    fake.fail('listRepositories', 'UNAUTHORIZED: authentication required to list the catalog');
    renderApp({ page: 'repositories', fake });
    const catalog = await screen.findByTestId('catalog');
    expect((await within(catalog).findByRole('alert')).textContent).toContain('UNAUTHORIZED: authentication required to list the catalog');
    expect(within(catalog).getByRole('button', { name: 'Retry' })).toBeTruthy();
  });

  it('has empty states for jobs and rules', async () => {
    const state = emptyState(NOW);
    state.settings.firstRunDone = true;
    renderApp({ page: 'repositories', state });
    expect(await screen.findByTestId('jobs-empty')).toBeTruthy();
    expect(await screen.findByTestId('rules-empty')).toBeTruthy();
    expect(await screen.findByTestId('catalog-empty')).toBeTruthy();
  });

  it('deletes a rule only after a confirmation', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'repositories' });
    await user.click(await screen.findByRole('button', { name: 'Delete rule for library/postgres' }));
    expect(fake.calls.some((c) => c.method === 'deleteRule')).toBe(false);
    await user.click(screen.getByRole('button', { name: 'Confirm deleting the rule for library/postgres' }));
    await waitFor(() => expect(screen.getAllByTestId('rule-row').map((r) => r.dataset.ruleId)).toEqual(['rule-nightly-agent', 'rule-bases']));
  });
});
