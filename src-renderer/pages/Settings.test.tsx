import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { createFakeApi, NOW, renderApp, sampleState } from '../test/render.js';

const registryEditor = (name: string): HTMLElement => screen.getAllByTestId('registry-editor').find((e) => e.dataset.registry === name)!;

describe('Settings', () => {
  it('never shows a password: it says "saved" and sends one only when typed', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'settings' });
    await screen.findAllByTestId('registry-editor');
    const dtr = registryEditor('dtr.example.com');
    const endpoints = within(dtr).getAllByTestId('endpoint-editor');
    expect(endpoints.map((e) => e.dataset.url)).toEqual(['https://dtr-cache.fra.example.com', 'https://dtr.example.com']);
    const passwordInputs = within(dtr).getAllByLabelText(/^Password/) as HTMLInputElement[];
    expect(passwordInputs.map((i) => [i.type, i.value])).toEqual([['password', ''], ['password', '']]);
    expect(within(dtr).getAllByTestId('password-saved')).toHaveLength(2);

    // Change the username of the origin only: no password goes out.
    const origin = endpoints[1]!;
    await user.clear(within(origin).getByLabelText('Username'));
    await user.type(within(origin).getByLabelText('Username'), 'svc-layover');
    await user.click(screen.getByTestId('settings-save'));
    await screen.findByTestId('settings-saved');
    const first = fake.calls.filter((c) => c.method === 'updateSettings')[0]!.arg as { registries: Array<{ endpoints: object[] }> };
    expect(Object.keys(first)).toEqual(['registries']);
    expect(first.registries[1]!.endpoints[1]).toEqual({ url: 'https://dtr.example.com', username: 'svc-layover' });
    expect(JSON.stringify(first)).not.toMatch(/password/i);

    // Type a new password for the cache endpoint: exactly that one is sent.
    const cache = within(registryEditor('dtr.example.com')).getAllByTestId('endpoint-editor')[0]!;
    await user.type(within(cache).getByLabelText(/^Password/), 'n3w-t0ken');
    expect(within(cache).queryByTestId('password-saved')).toBeNull();
    await user.click(screen.getByTestId('settings-save'));
    await waitFor(() => expect(fake.calls.filter((c) => c.method === 'updateSettings')).toHaveLength(2));
    const second = fake.calls.filter((c) => c.method === 'updateSettings')[1]!.arg as { registries: Array<{ endpoints: Array<{ password?: string }> }> };
    expect(second.registries[1]!.endpoints.map((e) => e.password)).toEqual(['n3w-t0ken', undefined]);
    expect(await within(cache).findByTestId('password-saved')).toBeTruthy();
  });

  it('edits bandwidth windows: change one, add one, remove one, saved in order with updateSettings', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'settings' });
    await screen.findAllByTestId('registry-editor');
    const dtr = registryEditor('dtr.example.com');
    const rows = (): HTMLElement[] => within(dtr).getAllByTestId('bandwidth-window');
    expect(rows().map((row) => [(within(row).getByLabelText('From') as HTMLInputElement).value, (within(row).getByLabelText('Until') as HTMLInputElement).value, (within(row).getByLabelText('Budget in this window') as HTMLInputElement).value])).toEqual([
      ['08:00', '18:00', '1'],
      ['22:00', '06:00', ''],
    ]);
    expect(within(rows()[1]!).getByText('Unlimited, until the next morning.')).toBeTruthy();

    // The day window ends at 19:00 now, with 512 KiB/s.
    await user.clear(within(rows()[0]!).getByLabelText('Until'));
    await user.type(within(rows()[0]!).getByLabelText('Until'), '19:00');
    await user.clear(within(rows()[0]!).getByLabelText('Budget in this window'));
    await user.type(within(rows()[0]!).getByLabelText('Budget in this window'), '512');
    await user.selectOptions(within(rows()[0]!).getByLabelText('Budget in this window unit'), 'KiB');
    // A lunch window, added and filled in from the keyboard alone.
    await user.click(within(dtr).getByRole('button', { name: 'Add a bandwidth window to dtr.example.com' }));
    expect(rows()).toHaveLength(3);
    const lunch = rows()[2]!;
    await user.clear(within(lunch).getByLabelText('From'));
    await user.type(within(lunch).getByLabelText('From'), '12:00');
    await user.tab();
    expect(document.activeElement).toBe(within(lunch).getByLabelText('Until'));
    await user.clear(within(lunch).getByLabelText('Until'));
    await user.type(within(lunch).getByLabelText('Until'), '13:00');
    await user.tab();
    expect(document.activeElement).toBe(within(lunch).getByLabelText('Budget in this window'));
    await user.keyboard('{Control>}a{/Control}{Backspace}');
    // The night window goes.
    await user.click(within(dtr).getByRole('button', { name: 'Remove the 22:00–06:00 bandwidth window of dtr.example.com' }));

    await user.click(screen.getByTestId('settings-save'));
    await screen.findByTestId('settings-saved');
    const patch = fake.calls.find((c) => c.method === 'updateSettings')!.arg as { registries: Array<{ name: string; bandwidthLimit?: number; bandwidthWindows?: unknown }> };
    expect(Object.keys(patch)).toEqual(['registries']);
    expect(patch.registries[1]).toMatchObject({
      name: 'dtr.example.com',
      bandwidthLimit: 4 * 1024 ** 2,
      bandwidthWindows: [
        { start: '08:00', end: '19:00', bytesPerSecond: 512 * 1024 },
        { start: '12:00', end: '13:00', bytesPerSecond: 0 },
      ],
    });
    expect(patch.registries[0]).not.toHaveProperty('bandwidthWindows');
  });

  it('says what is wrong with a window and does not save it', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'settings' });
    await screen.findAllByTestId('registry-editor');
    const row = within(registryEditor('dtr.example.com')).getAllByTestId('bandwidth-window')[0]!;
    const until = within(row).getByLabelText('Until');
    await user.clear(until);
    await user.type(until, '08:00');
    await user.click(screen.getByTestId('settings-save'));
    expect(until.getAttribute('aria-invalid')).toBe('true');
    expect(within(row).getByText('It must end at another time than it starts.')).toBeTruthy();
    await user.clear(within(row).getByLabelText('From'));
    await user.click(screen.getByTestId('settings-save'));
    expect(within(row).getByText('A time of day, e.g. 08:00.')).toBeTruthy();
    expect(fake.calls.some((c) => c.method === 'updateSettings')).toBe(false);
  });

  it('reorders endpoints: the regional cache first, the origin last', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'settings' });
    await screen.findAllByTestId('registry-editor');
    await user.click(within(registryEditor('dtr.example.com')).getByRole('button', { name: 'Move https://dtr.example.com up' }));
    await user.click(screen.getByTestId('settings-save'));
    await screen.findByTestId('settings-saved');
    expect(fake.state.settings.registries[1]!.endpoints.map((e) => e.url)).toEqual(['https://dtr.example.com', 'https://dtr-cache.fra.example.com']);
  });

  it('sends only what changed: quota, freshness, start at login', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'settings' });
    const quota = await screen.findByLabelText('Cache quota');
    expect((quota as HTMLInputElement).value).toBe('80');
    await user.clear(quota);
    await user.type(quota, '120');
    await user.clear(screen.getByLabelText('Tag freshness (seconds)'));
    await user.type(screen.getByLabelText('Tag freshness (seconds)'), '900');
    expect(screen.getByText(/A cached tag is served for 15 min/)).toBeTruthy();
    await user.click(screen.getByLabelText('Start Layover at login'));
    await user.click(screen.getByTestId('settings-save'));
    await screen.findByTestId('settings-saved');
    expect(fake.calls.find((c) => c.method === 'updateSettings')!.arg).toEqual({ quotaBytes: 120 * 1024 ** 3, tagFreshnessSeconds: 900, startAtLogin: false });
  });

  it('checks addresses and URLs before saving', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'settings' });
    const listen = await screen.findByLabelText('Mirror listen address');
    await user.clear(listen);
    await user.type(listen, 'localhost');
    const url = within(registryEditor('docker.io')).getByLabelText('URL');
    await user.clear(url);
    await user.type(url, 'registry-1.docker.io');
    await user.click(screen.getByTestId('settings-save'));
    expect(listen.getAttribute('aria-invalid')).toBe('true');
    expect(url.getAttribute('aria-invalid')).toBe('true');
    expect(fake.calls.some((c) => c.method === 'updateSettings')).toBe(false);
  });

  it('tests an endpoint and shows the exact error', async () => {
    const user = userEvent.setup();
    const state = sampleState(NOW);
    state.connection = (endpoint) => ({ ok: false, url: endpoint.url, error: 'GET https://dtr.example.com/v2/: 401 Unauthorized (basic auth rejected for ci-reader)' });
    const { fake } = renderApp({ page: 'settings', state });
    await screen.findAllByTestId('registry-editor');
    await user.click(screen.getByRole('button', { name: 'Test connection to https://dtr.example.com' }));
    const error = await screen.findByTestId('connection-error');
    expect(error.textContent).toContain('401 Unauthorized (basic auth rejected for ci-reader)');
    expect(fake.calls.find((c) => c.method === 'testConnection')!.arg).toEqual({ url: 'https://dtr.example.com', username: 'ci-reader', hasPassword: true });
  });

  it('follows settings changed elsewhere, unless the person is editing', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'settings' });
    const listen = (await screen.findByLabelText('Mirror listen address')) as HTMLInputElement;
    act(() => fake.emit({ type: 'settings', settings: { ...fake.state.settings, listen: '0.0.0.0:5050' } }));
    await waitFor(() => expect(listen.value).toBe('0.0.0.0:5050'));
    await user.click(screen.getByLabelText('Start Layover at login'));
    act(() => fake.emit({ type: 'settings', settings: { ...fake.state.settings, listen: '0.0.0.0:6000' } }));
    expect(listen.value).toBe('0.0.0.0:5050');
    expect(screen.getByText(/changed elsewhere/)).toBeTruthy();
  });

  it('desktop: turns on the dashboard in a browser and the command line, saying the window never needs it', async () => {
    const user = userEvent.setup();
    const fake = createFakeApi(sampleState(NOW));
    window.layover = fake; // the preload bridge: this is the desktop app's window
    try {
      renderApp({ page: 'settings', fake });
      const toggle = (await screen.findByLabelText('Dashboard in a browser and the command line')) as HTMLInputElement;
      expect(toggle.checked).toBe(false);
      const hint = document.getElementById(toggle.getAttribute('aria-describedby')!)!;
      expect(hint.textContent).toMatch(/This window never needs it/);
      expect(screen.getByText(/Used only while "Dashboard in a browser and the command line" is on/)).toBeTruthy();
      await user.click(toggle);
      await user.click(screen.getByTestId('settings-save'));
      await screen.findByTestId('settings-saved');
      expect(fake.calls.filter((c) => c.method === 'updateSettings').map((c) => c.arg)).toEqual([{ browserDashboard: true }]);
      expect(toggle.checked).toBe(true);
    } finally {
      delete window.layover;
    }
  });

  it('in a browser there is no such switch: the page is already using the listener', async () => {
    renderApp({ page: 'settings' });
    await screen.findByLabelText('Mirror listen address');
    expect(screen.queryByLabelText('Dashboard in a browser and the command line')).toBeNull();
    expect(screen.getByLabelText('Start Layover at login')).toBeTruthy();
  });

  it('allowed host names: comma separated, explained, checked, and saved as a list', async () => {
    const user = userEvent.setup();
    const state = sampleState(NOW);
    state.settings = { ...state.settings, allowedHosts: ['layover.office.example'] };
    const { fake } = renderApp({ page: 'settings', state });
    const hosts = (await screen.findByLabelText('Allowed host names')) as HTMLInputElement;
    expect(hosts.value).toBe('layover.office.example');
    const hint = document.getElementById(hosts.getAttribute('aria-describedby')!)!;
    expect(hint.textContent).toMatch(/names an office box is reached by/);
    expect(hint.textContent).toMatch(/IP addresses, localhost and host\.docker\.internal always work/);

    await user.type(hosts, ', http://cache.lan:5050');
    await user.click(screen.getByTestId('settings-save'));
    expect(hosts.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText(/"http:\/\/cache\.lan:5050": a host name only/)).toBeTruthy();
    expect(fake.calls.some((c) => c.method === 'updateSettings')).toBe(false);

    await user.clear(hosts);
    await user.type(hosts, 'layover.office.example, cache.lan,build-box');
    await user.click(screen.getByTestId('settings-save'));
    await screen.findByTestId('settings-saved');
    expect(fake.calls.find((c) => c.method === 'updateSettings')!.arg).toEqual({ allowedHosts: ['layover.office.example', 'cache.lan', 'build-box'] });
    expect(hosts.value).toBe('layover.office.example, cache.lan, build-box');
  });

  it('re-runs first run', async () => {
    const user = userEvent.setup();
    renderApp({ page: 'settings' });
    await user.click(await screen.findByRole('button', { name: 'Run first-run setup again' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Set up Layover' })).toBeTruthy();
  });
});
