import { act, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { finishedDemo, runningDemo } from '../test/fake-demo.js';
import { NOW, renderApp, sampleState } from '../test/render.js';

const MiB = 1024 * 1024;

function columns() {
  return screen.getAllByTestId('demo-pull').map((column) => ({
    kind: column.dataset.kind,
    state: column.dataset.state,
    elapsed: within(column).getByTestId('demo-elapsed').textContent,
    link: within(column).getByTestId('demo-link-bytes').textContent,
  }));
}

describe('Demo', () => {
  it('is in the navigation, says it is a simulation, and shows the three pulls waiting', async () => {
    renderApp({ page: 'demo' });
    expect(screen.getByTestId('nav-demo').getAttribute('aria-current')).toBe('page');
    expect((await screen.findByTestId('demo-simulation')).textContent).toContain('Simulation');
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Demo');
    await screen.findAllByTestId('demo-pull');
    expect(columns()).toEqual([
      { kind: 'direct', state: 'waiting', elapsed: '—', link: '—' },
      { kind: 'cold', state: 'waiting', elapsed: '—', link: '—' },
      { kind: 'warm', state: 'waiting', elapsed: '—', link: '—' },
    ]);
    expect(screen.getByRole('heading', { name: /Straight over the office link/ })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Run demo' })).toBeTruthy();
  });

  it('runs with the default profile and size, then follows the run live from demo events', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'demo' });
    const picker = (await screen.findByLabelText('Office link')) as HTMLSelectElement;
    expect(picker.value).toBe('asia-us-dtr');
    expect(picker.selectedOptions[0]!.textContent).toBe('Asia office → US DTR: 20 Mbit/s, 180 ms');
    expect((screen.getByLabelText('Image size (MiB)') as HTMLInputElement).value).toBe('40');
    await user.click(screen.getByRole('button', { name: 'Run demo' }));
    expect(fake.calls.filter((c) => c.method === 'startDemo').map((c) => c.arg)).toEqual([{ link: 'asia-us-dtr', sizeBytes: 40 * MiB }]);
    expect((await screen.findByTestId('demo-run')).hasAttribute('disabled')).toBe(true);

    act(() => fake.emit({ type: 'demo', demo: runningDemo(NOW) }));
    expect(screen.getByTestId('demo-step').textContent).toBe('Pull 2 of 3: through Layover, cold');
    expect(columns()).toEqual([
      { kind: 'direct', state: 'done', elapsed: '18 s', link: '40.0 MiB' },
      { kind: 'cold', state: 'running', elapsed: '7.9 s', link: '17.5 MiB' },
      { kind: 'warm', state: 'waiting', elapsed: '—', link: '—' },
    ]);
    expect(screen.getByLabelText('Pull 2 progress').getAttribute('value')).toBe(String(17.5 * MiB));
    expect(screen.queryByTestId('demo-summary')).toBeNull();

    act(() => fake.emit({ type: 'demo', demo: finishedDemo(NOW) }));
    const summary = screen.getByTestId('demo-summary');
    expect(summary.querySelector('.demo-headline')!.textContent).toBe('Warm pull 25× faster; 0 bytes over the office link');
    expect(summary.textContent).toContain('pulled with docker pull. Straight over the link 18 s, through Layover cold 18 s, warm 740 ms.');
    expect(columns()[2]).toEqual({ kind: 'warm', state: 'done', elapsed: '740 ms', link: '0 bytes' });
    expect(screen.getByRole('button', { name: 'Run again' }).hasAttribute('disabled')).toBe(false);
  });

  it('a custom link and size go to startDemo as typed', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'demo' });
    await user.selectOptions(await screen.findByLabelText('Office link'), 'Custom link…');
    await user.clear(screen.getByLabelText('Bandwidth (Mbit/s)'));
    await user.type(screen.getByLabelText('Bandwidth (Mbit/s)'), '8');
    await user.clear(screen.getByLabelText('Latency (ms, one way)'));
    await user.type(screen.getByLabelText('Latency (ms, one way)'), '250');
    await user.clear(screen.getByLabelText('Image size (MiB)'));
    await user.type(screen.getByLabelText('Image size (MiB)'), '120');
    await user.click(screen.getByRole('button', { name: 'Run demo' }));
    expect(fake.calls.filter((c) => c.method === 'startDemo').map((c) => c.arg)).toEqual([{ link: '8mbit,250ms', sizeBytes: 120 * MiB }]);
  });

  it('while running: the form is locked and Cancel stops the run', async () => {
    const user = userEvent.setup();
    const state = sampleState(NOW);
    state.demo = runningDemo(NOW);
    const { fake } = renderApp({ page: 'demo', state });
    expect((await screen.findByTestId('demo-run')).textContent).toBe('Running…');
    expect((screen.getByLabelText('Office link') as HTMLSelectElement).disabled).toBe(true);
    await user.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(fake.calls.some((c) => c.method === 'cancelDemo')).toBe(true);
    expect((await screen.findByTestId('demo-step')).textContent).toBe('Cancelled; everything the demo started is stopped');
    expect(columns().map((c) => c.state)).toEqual(['done', 'cancelled', 'cancelled']);
  });

  it('shows why a run could not start, and why a run failed', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'demo' });
    fake.fail('startDemo', 'A demo is already running: wait for it to finish, or cancel it', 'DEMO_RUNNING');
    await user.click(await screen.findByRole('button', { name: 'Run demo' }));
    expect((await screen.findByRole('alert')).textContent).toBe('A demo is already running: wait for it to finish, or cancel it');

    const failed = { ...runningDemo(NOW), state: 'failed' as const, step: 'Failed; everything the demo started is stopped', error: 'docker pull 127.0.0.1:40123/demo/app:1.0: connection refused' };
    act(() => fake.emit({ type: 'demo', demo: failed }));
    expect(screen.getByTestId('demo-error').textContent).toBe('The demo failed. docker pull 127.0.0.1:40123/demo/app:1.0: connection refused');
  });
});
