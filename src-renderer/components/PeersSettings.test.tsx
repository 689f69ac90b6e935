/** Settings > Office mesh: create (code to copy), join with a pasted code, leave; the key file field stays for advanced use. */
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { FAKE_JOIN_CODE } from '../test/fake-api.js';
import { NOW, renderApp, sampleState } from '../test/render.js';

function notJoined() {
  const state = sampleState(NOW);
  state.settings.mesh = { enabled: false, discovery: true, peers: [] };
  return state;
}

describe('Settings: office mesh', () => {
  it('creates an office mesh, shows the code to copy, then leaves', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'settings', state: notJoined() });
    const section = await screen.findByTestId('settings-mesh');
    expect(within(section).queryByTestId('mesh-leave')).toBeNull();
    expect(within(section).getByLabelText('Office key file (advanced)')).toBeTruthy();

    await user.click(within(section).getByTestId('mesh-create'));
    expect((await within(section).findByTestId('mesh-join-code')).textContent).toBe(FAKE_JOIN_CODE);
    expect(fake.state.settings.mesh?.enabled).toBe(true);
    // The form follows the saved settings: on, with the key file in the data dir, nothing left to save.
    expect((within(section).getByTestId('settings-mesh-enabled') as HTMLInputElement).checked).toBe(true);
    expect((within(section).getByTestId('settings-mesh-key') as HTMLInputElement).value).toMatch(/office-.*\.key$/);
    expect((screen.getByTestId('settings-save') as HTMLButtonElement).disabled).toBe(true);

    await user.click(within(section).getByRole('button', { name: 'Copy' }));
    expect(await window.navigator.clipboard.readText()).toBe(FAKE_JOIN_CODE);

    await user.click(within(section).getByTestId('mesh-leave'));
    expect(fake.calls.some((c) => c.method === 'leaveOfficeMesh')).toBe(true);
    expect(fake.state.settings.mesh?.enabled).toBe(false);
    expect(within(section).queryByTestId('mesh-join-code')).toBeNull();
    expect(within(section).queryByTestId('mesh-leave')).toBeNull();
  });

  it('joins with a pasted code; a wrong one shows the reason and changes nothing', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'settings', state: notJoined() });
    const section = await screen.findByTestId('settings-mesh');
    const field = within(section).getByLabelText('Join with a code');
    expect((within(section).getByTestId('mesh-join-button') as HTMLButtonElement).disabled).toBe(true);

    await user.type(field, 'LM1-NOPE');
    await user.keyboard('{Enter}');
    expect((await within(section).findByRole('alert')).textContent).toContain('typo');
    expect(fake.state.settings.mesh?.enabled).toBe(false);
    expect(fake.calls.some((c) => c.method === 'updateSettings')).toBe(false);

    await user.clear(field);
    await user.click(field);
    await user.paste(FAKE_JOIN_CODE);
    await user.click(within(section).getByTestId('mesh-join-button'));
    await within(section).findByTestId('mesh-leave');
    expect(fake.state.settings.mesh?.enabled).toBe(true);
    expect(within(section).queryByRole('alert')).toBeNull();
  });
});
