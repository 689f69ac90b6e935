import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { NOW, renderApp, sampleState } from '../test/render.js';

describe('the rule editor', () => {
  it('produces the PrefetchRule that was asked for', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'repositories' });
    await user.click(await screen.findByRole('button', { name: 'New rule' }));
    const editor = await screen.findByRole('form', { name: 'New rule' });
    expect(editor).toBeTruthy();

    await user.selectOptions(within(editor).getByLabelText('Registry'), 'dtr.example.com');
    await user.type(screen.getByLabelText('Repository'), 'platform/*');
    await user.click(screen.getByLabelText('Semver range'));
    await user.type(screen.getByRole('textbox', { name: 'Semver range' }), '^3.4');
    await user.click(screen.getByLabelText('These'));
    await user.type(screen.getByLabelText('Platforms, os/architecture[/variant]'), 'linux/amd64, linux/arm64/v8');
    await user.click(screen.getByLabelText('Every few hours'));
    await user.clear(screen.getByLabelText('Hours between runs'));
    await user.type(screen.getByLabelText('Hours between runs'), '12');
    await user.type(screen.getByLabelText('Bandwidth cap'), '512');
    await user.selectOptions(screen.getByLabelText('Bandwidth cap unit'), 'KiB');
    await user.click(screen.getByRole('button', { name: 'Save rule' }));

    await waitFor(() => expect(fake.calls.some((c) => c.method === 'saveRule')).toBe(true));
    const saved = fake.calls.find((c) => c.method === 'saveRule')!.arg;
    expect(saved).toEqual({
      id: expect.stringMatching(/^rule-[0-9a-f]{16}$/),
      registry: 'dtr.example.com',
      repository: 'platform/*',
      tags: { kind: 'semver', range: '^3.4' },
      platforms: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }],
      schedule: { kind: 'interval', hours: 12 },
      bandwidthLimit: 512 * 1024,
      enabled: true,
    });
    await waitFor(() => expect(screen.queryByRole('form', { name: 'New rule' })).toBeNull());
    expect((await screen.findAllByTestId('rule-row')).length).toBe(4);
  });

  it('edits an existing rule in place, keeping its id', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'repositories', state: sampleState(NOW) });
    await user.click(await screen.findByRole('button', { name: 'Edit rule for platform/build-agent' }));
    expect((screen.getByLabelText('Semver range', { selector: 'input[type=radio]' }) as HTMLInputElement).checked).toBe(true);
    expect((screen.getByLabelText('From') as HTMLInputElement).value).toBe('19:00');
    await user.click(screen.getByLabelText('Exact tags'));
    await user.type(screen.getByLabelText('Tags, separated by commas'), '3.4.1, latest');
    await user.clear(screen.getByLabelText('Bandwidth cap'));
    await user.click(screen.getByLabelText('Enabled'));
    await user.click(screen.getByRole('button', { name: 'Save rule' }));
    await waitFor(() => expect(fake.calls.some((c) => c.method === 'saveRule')).toBe(true));
    expect(fake.calls.find((c) => c.method === 'saveRule')!.arg).toEqual({
      id: 'rule-nightly-agent',
      registry: 'dtr.example.com',
      repository: 'platform/build-agent',
      tags: { kind: 'exact', tags: ['3.4.1', 'latest'] },
      platforms: 'host',
      schedule: { kind: 'window', start: '19:00', end: '07:00' },
      enabled: false,
    });
  });

  it('explains invalid input next to the field and saves nothing', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'repositories' });
    await user.click(await screen.findByRole('button', { name: 'New rule' }));
    await user.click(screen.getByLabelText('Semver range'));
    await user.type(screen.getByRole('textbox', { name: 'Semver range' }), 'newest please');
    await user.click(screen.getByRole('button', { name: 'Save rule' }));
    const semver = screen.getByRole('textbox', { name: 'Semver range' });
    expect(semver.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(semver.getAttribute('aria-describedby')!)?.textContent).toContain('is not a semver range');
    expect(screen.getByLabelText('Repository').getAttribute('aria-invalid')).toBe('true');
    expect(fake.calls.some((c) => c.method === 'saveRule')).toBe(false);
  });

  it('shows the core refusing a rule', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'repositories' });
    fake.fail('saveRule', 'registry "dtr.example.com" has no endpoint that allows listing tags');
    await user.click(await screen.findByRole('button', { name: 'New rule' }));
    await user.type(screen.getByLabelText('Repository'), 'platform/build-agent');
    await user.click(screen.getByRole('button', { name: 'Save rule' }));
    expect((await screen.findByRole('alert')).textContent).toBe('registry "dtr.example.com" has no endpoint that allows listing tags');
    expect(screen.getByRole('form', { name: 'New rule' })).toBeTruthy();
  });
});
