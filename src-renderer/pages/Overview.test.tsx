import { act, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { createFakeApi, emptyState, NOW, renderApp, sampleState } from '../test/render.js';

const MiB = 1024 ** 2;

describe('Overview', () => {
  it('shows hit ratio, time saved and cache usage against the quota', async () => {
    renderApp({ page: 'overview' });
    const ratio = await screen.findByTestId('hit-ratio');
    expect(ratio.textContent).toContain('86%');
    expect(ratio.textContent).toContain('1,842 hits · 311 misses');
    expect(screen.getByTestId('time-saved').textContent).toContain('7 h 42 min');
    expect(screen.getByTestId('time-saved').textContent).toContain('3.6 MiB/s');
    const usage = screen.getByTestId('cache-usage');
    expect(usage.textContent).toContain('41.7 GiB');
    expect(usage.textContent).toContain('of 80.0 GiB (52%)');
    const bar = within(usage).getByRole('progressbar', { name: 'Cache usage against the quota' }) as HTMLProgressElement;
    expect(bar.value / bar.max).toBeCloseTo(41.7 / 80, 3);
  });

  it('shows each upstream endpoint in order with its health and latency', async () => {
    renderApp({ page: 'overview' });
    const dtr = (await screen.findAllByTestId('registry-health')).find((el) => el.dataset.registry === 'dtr.example.com')!;
    const rows = within(dtr).getAllByTestId('endpoint-row');
    expect(rows.map((r) => r.dataset.url)).toEqual(['https://dtr-cache.fra.example.com', 'https://dtr.example.com']);
    expect(within(rows[0]!).getByTestId('endpoint-latency').textContent).toBe('38 ms');
    expect(within(rows[1]!).getByTestId('endpoint-health').dataset.state).toBe('degraded');
    expect(rows[1]!.textContent).toContain('timeout after 10 s');
    expect(rows[1]!.textContent).toContain('origin');
  });

  it('moves a transfer progress bar on a transfer event, and drops the transfer when it is done', async () => {
    const { fake } = renderApp({ page: 'overview' });
    const row = (await screen.findAllByTestId('transfer-row')).find((r) => r.dataset.transferId === 't2')!;
    const bar = within(row).getByRole('progressbar') as HTMLProgressElement;
    expect(bar.value).toBe(21 * MiB);
    const transfer = { ...fake.state.status.transfers[1]!, bytesDone: 120 * MiB };
    act(() => fake.emit({ type: 'transfer', transfer, done: false }));
    expect(bar.value).toBe(120 * MiB);
    expect(within(row).getByTestId('transfer-bytes').textContent).toBe('120 MiB of 148 MiB · 81%');
    act(() => fake.emit({ type: 'transfer', transfer: { ...transfer, bytesDone: 148 * MiB }, done: true }));
    expect(screen.getAllByTestId('transfer-row').map((r) => r.dataset.transferId)).toEqual(['t1', 't3']);
  });

  it('adds a transfer that starts while the page is open, indeterminate until its size is known', async () => {
    const { fake } = renderApp({ page: 'overview', state: emptyState(NOW) });
    expect(await screen.findByTestId('transfers-empty')).toBeTruthy();
    act(() =>
      fake.emit({
        type: 'transfer',
        done: false,
        transfer: { id: 'n', registry: 'docker.io', repository: 'library/alpine', digest: 'sha256:abc', bytesDone: 1024, bytesPerSecond: 512, clients: 1, kind: 'pull', startedAt: NOW },
      }),
    );
    const bar = within(screen.getByTestId('transfer-row')).getByRole('progressbar');
    expect(bar.hasAttribute('value')).toBe(false);
    expect(screen.queryByTestId('transfers-empty')).toBeNull();
  });

  it('turns the state to offline on a status event, without a reload', async () => {
    const { fake } = renderApp({ page: 'overview' });
    expect((await screen.findByTestId('mirror-state')).dataset.state).toBe('ready');
    act(() =>
      fake.emit({ type: 'status', status: { ...fake.state.status, state: 'offline', summary: 'Serving from cache: upstream unreachable' } }),
    );
    expect(screen.getByTestId('mirror-state').dataset.state).toBe('offline');
    expect(screen.getByTestId('mirror-state').textContent).toBe('Upstream offline');
    expect(screen.getByTestId('mirror-summary').textContent).toBe('Serving from cache: upstream unreachable');
    expect(screen.getByTestId('sidebar-mirror-state').dataset.state).toBe('offline');
  });

  it('has honest empty states on a fresh install', async () => {
    renderApp({ page: 'overview', state: { ...emptyState(NOW), settings: { ...emptyState(NOW).settings, firstRunDone: true } } });
    expect((await screen.findByTestId('hit-ratio')).textContent).toContain('No requests yet');
    expect(screen.getByTestId('time-saved').textContent).toContain('—');
    expect(screen.getByTestId('cache-usage').textContent).toContain('no quota');
    expect(within(screen.getByTestId('cache-usage')).queryByRole('progressbar')).toBeNull();
    expect(screen.getByTestId('transfers-empty')).toBeTruthy();
  });

  it('shows a status error with a working Retry', async () => {
    const fake = createFakeApi(sampleState(NOW));
    fake.fail('getStatus', 'HTTP 502');
    renderApp({ fake, page: 'overview' });
    expect((await screen.findByRole('alert')).textContent).toContain('HTTP 502');
    fake.fail('getStatus');
    await userEvent.click(screen.getByRole('button', { name: 'Retry' }));
    expect(await screen.findByTestId('hit-ratio')).toBeTruthy();
  });

  it('pauses and resumes background prefetch', async () => {
    const { fake } = renderApp({ page: 'overview' });
    await userEvent.click(await screen.findByRole('button', { name: 'Pause prefetch' }));
    expect(fake.calls.filter((c) => c.method === 'setPrefetchPaused').map((c) => c.arg)).toEqual([{ paused: true }]);
    expect(await screen.findByRole('button', { name: 'Resume prefetch' })).toBeTruthy();
  });
});
