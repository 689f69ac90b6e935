import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { emptyState, NOW, renderApp } from '../test/render.js';

function dockerNotUsingLayover() {
  const state = emptyState(NOW);
  state.settings.firstRunDone = true;
  state.daemonJson = { 'log-driver': 'json-file', 'registry-mirrors': ['https://mirror.gcr.io'] };
  state.docker = { ...state.docker, mirrors: ['https://mirror.gcr.io'] };
  return state;
}

describe('Docker', () => {
  it('previews the daemon.json change line by line before applying it', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'docker', state: dockerNotUsingLayover() });
    expect((await screen.findByTestId('docker-uses-layover')).dataset.state).toBe('no');
    const diff = await screen.findByTestId('config-diff');
    const added = [...diff.querySelectorAll('[data-kind=added]')].map((l) => l.textContent);
    const removed = [...diff.querySelectorAll('[data-kind=removed]')].map((l) => l.textContent);
    expect(added.some((l) => l?.includes('"http://127.0.0.1:5050",'))).toBe(true);
    expect(removed).toEqual([]);
    // The other mirror stays, after Layover's.
    expect([...diff.querySelectorAll('[data-kind=same]')].some((l) => l.textContent?.includes('https://mirror.gcr.io'))).toBe(true);
    expect(screen.getByTestId('docker-apply-how').textContent).toContain('SIGHUP to dockerd');
    expect(fake.calls.some((c) => c.method === 'applyDockerConfig')).toBe(false);

    await user.click(screen.getByTestId('docker-apply'));
    expect(fake.calls.filter((c) => c.method === 'applyDockerConfig').map((c) => c.arg)).toEqual([{}]);
    expect(await screen.findByText('Docker now uses Layover as its registry mirror.')).toBeTruthy();
    expect(screen.getByTestId('docker-uses-layover').dataset.state).toBe('yes');
    const check = await screen.findByTestId('docker-pull-check');
    expect(check.dataset.outcome).toBe('reaches');
    expect(check.textContent).toContain("Docker's pulls reach Layover (a probe pull arrived at http://127.0.0.1:5050)");
  });

  it('reports a configured mirror that Docker cannot reach, and checks again on request', async () => {
    const user = userEvent.setup();
    const state = dockerNotUsingLayover();
    state.dockerPullsArrive = false;
    const { fake } = renderApp({ page: 'docker', state });
    await user.click(await screen.findByTestId('docker-apply'));
    const check = await screen.findByTestId('docker-pull-check');
    expect(check.dataset.outcome).toBe('unreachable');
    expect(check.className).toContain('notice-bad');
    expect(check.textContent).toContain('Docker is configured with http://127.0.0.1:5050 but its pulls do not reach Layover: a firewall');

    fake.state.dockerPullsArrive = true; // the firewall opened
    await user.click(screen.getByRole('button', { name: 'Check again' }));
    expect(fake.calls.filter((c) => c.method === 'getDockerStatus').at(-1)?.arg).toEqual({ recheck: true });
    await waitFor(() => expect(screen.getByTestId('docker-pull-check').dataset.outcome).toBe('reaches'));
  });

  it('on Docker Desktop writes host.docker.internal in place of 127.0.0.1, and explains the restart', async () => {
    const user = userEvent.setup();
    const state = dockerNotUsingLayover();
    state.docker = { ...state.docker, isDesktop: true, mirrors: ['http://127.0.0.1:5050'], layoverMirror: 'http://host.docker.internal:5050' };
    state.daemonJson = { 'registry-mirrors': ['http://127.0.0.1:5050'] };
    renderApp({ page: 'docker', state });
    expect((await screen.findByTestId('docker-desktop-note')).textContent).toContain('http://host.docker.internal:5050, the address the VM reaches this computer by');
    const diff = await screen.findByTestId('config-diff');
    expect([...diff.querySelectorAll('[data-kind=added]')].some((l) => l.textContent?.includes('"http://host.docker.internal:5050"'))).toBe(true);
    expect([...diff.querySelectorAll('[data-kind=removed]')].some((l) => l.textContent?.includes('"http://127.0.0.1:5050"'))).toBe(true);
    expect(screen.getByTestId('docker-apply-how').textContent).toContain('restart Docker Desktop');

    await user.click(screen.getByTestId('docker-apply'));
    expect(await screen.findByText('daemon.json now lists Layover: restart Docker Desktop to apply it.')).toBeTruthy();
    expect((await screen.findByTestId('docker-pull-check')).dataset.outcome).toBe('pending');
  });

  it('previews and applies the revert', async () => {
    const user = userEvent.setup();
    const state = dockerNotUsingLayover();
    state.daemonJson = { 'registry-mirrors': ['http://127.0.0.1:5050'] };
    state.docker = { ...state.docker, mirrors: ['http://127.0.0.1:5050'], usesLayover: true };
    const { fake } = renderApp({ page: 'docker', state });
    expect((await screen.findByRole('button', { name: 'Stop using Layover' })).getAttribute('aria-pressed')).toBe('true');
    const diff = await screen.findByTestId('config-diff');
    expect([...diff.querySelectorAll('[data-kind=removed]')].some((l) => l.textContent?.includes('"http://127.0.0.1:5050"'))).toBe(true);
    await user.click(screen.getByRole('button', { name: 'Revert daemon.json' }));
    expect(fake.calls.filter((c) => c.method === 'applyDockerConfig').map((c) => c.arg)).toEqual([{ revert: true }]);
    expect(await screen.findByText('Docker no longer uses Layover.')).toBeTruthy();
  });

  it('says when Docker is not there, and still offers the other runtimes', async () => {
    const state = dockerNotUsingLayover();
    state.docker = { available: false, mirrors: [], usesLayover: false, error: 'connect ENOENT /var/run/docker.sock' };
    renderApp({ page: 'docker', state });
    expect((await screen.findByTestId('docker-unavailable')).textContent).toContain('connect ENOENT /var/run/docker.sock');
    expect(screen.queryByTestId('docker-configure')).toBeNull();
    expect(await screen.findAllByTestId('snippet')).toHaveLength(2);
  });

  it('pulls an image through Layover and shows the digest, or the exact error', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'docker', state: dockerNotUsingLayover() });
    await user.type(await screen.findByLabelText('Image reference'), 'dtr.example.com/platform/build-agent:3.4.1');
    await user.click(screen.getByRole('button', { name: 'Pull through Layover' }));
    expect((await screen.findByTestId('pull-result')).textContent).toContain('sha256:');
    fake.fail('pullThroughLayover', 'unauthorized: authentication required');
    await user.click(screen.getByRole('button', { name: 'Pull through Layover' }));
    expect((await screen.findByRole('alert')).textContent).toBe('unauthorized: authentication required');
  });

  it('offers the Podman and containerd snippets with copy buttons', async () => {
    renderApp({ page: 'docker', state: dockerNotUsingLayover() });
    const podman = (await screen.findAllByTestId('snippet')).find((s) => s.dataset.runtime === 'podman')!;
    expect(within(podman).getByRole('button', { name: 'Copy the Podman snippet' })).toBeTruthy();
    expect(within(podman).getByLabelText('Podman snippet').textContent).toContain('location = "127.0.0.1:5050"');
  });
});
