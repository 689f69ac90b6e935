/** First run, last step: "Share layers with your office's other Layovers?" — Skip (off), Create, or Join with a code. */
import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { FAKE_JOIN_CODE, FAKE_OFFICE_ID } from '../test/fake-api.js';
import { emptyState, NOW, renderApp } from '../test/render.js';

/** Connect a registry, skip prefetch, go past Docker: the office question. */
async function reachOfficeStep() {
  const user = userEvent.setup();
  const rendered = renderApp({ state: emptyState(NOW) });
  await user.type(await screen.findByLabelText('Registry URL'), 'https://dtr.example.com');
  await user.click(screen.getByRole('button', { name: 'Test connection' }));
  await user.click(await screen.findByTestId('first-run-continue'));
  await user.click(await screen.findByTestId('first-run-skip-step'));
  await user.click(await screen.findByTestId('first-run-next'));
  await screen.findByRole('heading', { name: "Share layers with your office's other Layovers?" });
  return { user, ...rendered };
}

describe('First run: the office mesh question', () => {
  it('Skip is the default and leaves the mesh off', async () => {
    const { user, fake } = await reachOfficeStep();
    const finish = screen.getByTestId('first-run-finish');
    expect(finish.textContent).toBe('Skip and finish');
    await user.click(finish);
    expect(await screen.findByRole('heading', { level: 1, name: 'Overview' })).toBeTruthy();
    expect(fake.state.settings.firstRunDone).toBe(true);
    expect(fake.state.settings.mesh?.enabled ?? false).toBe(false);
    expect(fake.calls.some((c) => ['createOfficeMesh', 'joinOfficeMesh'].includes(c.method))).toBe(false);
  });

  it('Create shows the join code to copy, and the mesh is on', async () => {
    const { user, fake } = await reachOfficeStep();
    await user.click(screen.getByTestId('mesh-create'));
    expect((await screen.findByTestId('mesh-join-code')).textContent).toBe(FAKE_JOIN_CODE);
    expect(fake.state.settings.mesh?.enabled).toBe(true);
    expect(screen.getByTestId('first-run-finish').textContent).toBe('Finish setup');
    await user.click(screen.getByTestId('first-run-finish'));
    expect(fake.state.settings.firstRunDone).toBe(true);
  });

  it('Join with a code: a typo is shown with its reason and nothing turns on; the right code joins', async () => {
    const { user, fake } = await reachOfficeStep();
    const field = screen.getByLabelText('Join with a code');
    await user.type(field, `${FAKE_JOIN_CODE.slice(0, -1)}X`);
    await user.click(screen.getByTestId('mesh-join-button'));
    expect((await screen.findByRole('alert')).textContent).toContain('typo');
    expect(field.getAttribute('aria-invalid')).toBe('true');
    expect(fake.state.settings.mesh?.enabled ?? false).toBe(false);

    await user.clear(field);
    await user.type(field, FAKE_JOIN_CODE.toLowerCase());
    await user.click(screen.getByTestId('mesh-join-button'));
    expect((await screen.findByText(new RegExp(`Joined office ${FAKE_OFFICE_ID}`))).getAttribute('role')).toBe('status');
    expect(fake.state.settings.mesh?.enabled).toBe(true);
    expect(screen.queryByTestId('mesh-join-code')).toBeNull();
  });
});
