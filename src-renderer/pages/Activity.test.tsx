import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { emptyState, NOW, renderApp, sampleState } from '../test/render.js';

describe('Activity', () => {
  it('lists recent pulls with image, cache result, size, duration and client', async () => {
    renderApp({ page: 'activity' });
    const rows = await screen.findAllByTestId('request-row');
    const first = rows[0]!;
    expect(first.textContent).toContain('docker.io/library/postgres:16');
    expect(within(first).getByTestId('cache-result').dataset.state).toBe('revalidated');
    expect(first.textContent).toContain('7.2 KiB');
    expect(first.textContent).toContain('92 ms');
    expect(first.textContent).toContain('10.20.4.17');
    const failed = rows.find((r) => r.textContent?.includes('payments/worker'))!;
    expect(failed.textContent).toContain('manifest unknown: payments/worker:v2.0.0 does not exist on dtr.example.com');
  });

  it('adds a pull that happens while the page is open, without a reload', async () => {
    const state = emptyState(NOW);
    state.settings.firstRunDone = true;
    const { fake } = renderApp({ page: 'activity', state });
    expect(await screen.findByTestId('requests-empty')).toBeTruthy();
    act(() =>
      fake.emit({
        type: 'request',
        request: { id: 'live-1', at: NOW, method: 'GET', registry: 'docker.io', repository: 'library/alpine', kind: 'manifest', reference: '3.20', status: 200, cache: 'miss', bytes: 1472, durationMs: 640, client: '127.0.0.1' },
      }),
    );
    const row = screen.getByTestId('request-row');
    expect(row.dataset.repository).toBe('library/alpine');
    expect(row.textContent).toContain('docker.io/library/alpine:3.20');
    expect(within(row).getByTestId('cache-result').dataset.state).toBe('miss');
    expect(fake.calls.filter((c) => c.method === 'getActivity')).toHaveLength(1);
  });

  it('says a pull made since the dashboard clock last moved happened "just now", never "in a few seconds"', async () => {
    const state = emptyState(NOW);
    state.settings.firstRunDone = true;
    const { fake } = renderApp({ page: 'activity', state });
    expect(await screen.findByTestId('requests-empty')).toBeTruthy();
    // The dashboard's clock moves every few seconds; the core stamps a request the moment it starts, so a live
    // request is usually newer than the clock the page renders with (NOW stands for that clock's last tick).
    const madeAfterTheTick = NOW + 4_000;
    act(() => {
      fake.emit({
        type: 'request',
        request: { id: 'live-2', at: madeAfterTheTick, method: 'GET', registry: 'docker.io', repository: 'library/alpine', kind: 'blob', reference: 'sha256:' + 'a'.repeat(64), status: 200, cache: 'miss', bytes: 4096, durationMs: 20, client: '127.0.0.1' },
      });
      fake.emit({ type: 'activity', event: { at: madeAfterTheTick, level: 'warning', message: 'Upstream docker.io is slow.' } });
    });
    const when = within(screen.getByTestId('request-row')).getByRole('time');
    expect(when.textContent).toBe('just now');
    expect(within(screen.getByTestId('event-row')).getByRole('time').textContent).toBe('just now');
  });

  it('adds events and job updates live', async () => {
    const state = emptyState(NOW);
    state.settings.firstRunDone = true;
    const { fake } = renderApp({ page: 'activity', state });
    expect(await screen.findByTestId('events-empty')).toBeTruthy();
    act(() => fake.emit({ type: 'activity', event: { at: NOW, level: 'error', message: 'Upstream dtr.example.com lost: connection refused. Serving cached tags.' } }));
    const event = screen.getByTestId('event-row');
    expect(event.dataset.level).toBe('error');
    expect(event.textContent).toContain('Serving cached tags.');
  });

  it('filters to errors', async () => {
    const user = userEvent.setup();
    renderApp({ page: 'activity' });
    await screen.findAllByTestId('request-row');
    await user.selectOptions(screen.getByLabelText('Show'), 'errors');
    expect(screen.getAllByTestId('request-row').map((r) => r.dataset.repository)).toEqual(['payments/worker']);
  });

  it('shows a busy day of requests a page at a time, searched by the core, and a live pull on the first page', async () => {
    const user = userEvent.setup();
    const state = sampleState(NOW);
    state.activity.requests = Array.from({ length: 180 }, (_, i) => ({
      id: `req-${i}`, at: NOW - i * 1000, method: 'GET', registry: 'docker.io', repository: `team/service-${String(i).padStart(4, '0')}`,
      kind: 'blob', reference: '1.0', status: 200, cache: 'hit' as const, bytes: 1024, durationMs: 2, client: '10.0.0.9',
    }));
    const { fake } = renderApp({ page: 'activity', state });
    expect(await screen.findAllByTestId('request-row')).toHaveLength(50);
    await user.click(within(screen.getByTestId('requests-pager')).getByRole('button', { name: 'Next' }));
    await waitFor(() => expect(screen.getAllByTestId('request-row')[0]!.dataset.repository).toBe('team/service-0050'));
    await user.click(within(screen.getByTestId('requests-pager')).getByRole('button', { name: 'Previous' }));
    await waitFor(() => expect(screen.getAllByTestId('request-row')[0]!.dataset.repository).toBe('team/service-0000'));

    act(() => fake.emit({ type: 'request', request: { ...state.activity.requests[0]!, id: 'live', repository: 'team/live', at: NOW } }));
    expect(screen.getAllByTestId('request-row')[0]!.dataset.repository).toBe('team/live');
    expect(screen.getAllByTestId('request-row')).toHaveLength(50);

    await user.type(screen.getByLabelText('Search'), 'service-0123');
    await waitFor(() => expect(screen.getAllByTestId('request-row').map((r) => r.dataset.repository)).toEqual(['team/service-0123']));
    expect(fake.calls.filter((c) => c.method === 'listRequests').at(-1)?.arg).toEqual({ kind: 'all', limit: 50, query: 'service-0123' });
  });

  it('shows why activity could not be loaded', async () => {
    const state = emptyState(NOW);
    state.settings.firstRunDone = true;
    const { fake } = renderApp({ page: 'overview', state });
    fake.fail('getActivity', 'The activity log is unreadable: EACCES /var/lib/layover/activity.jsonl');
    await userEvent.click(await screen.findByRole('link', { name: 'Activity' }));
    expect((await screen.findByRole('alert')).textContent).toContain('EACCES /var/lib/layover/activity.jsonl');
  });
});
