import { act, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { BundleTask } from '../../src-main/api/types.js';
import { createFakeApi, NOW, renderApp, sampleState } from '../test/render.js';

const MiB = 1024 * 1024;

describe('Export and Import pages', () => {
  it('Export: a repository selection, its size before writing, then progress and the file written', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'export' });
    expect(screen.getByTestId('nav-export').getAttribute('aria-current')).toBe('page');
    await user.click(await screen.findByTestId('export-mode-repository'));
    await user.type(screen.getByTestId('export-repository'), 'library/app');
    await user.clear(screen.getByTestId('export-tags'));
    await user.type(screen.getByTestId('export-tags'), '1.0');
    await user.type(screen.getByTestId('export-out'), '/media/usb/app.tar');
    await user.type(screen.getByTestId('export-have'), '/media/usb/office.json');
    expect(screen.getByTestId('export-start').hasAttribute('disabled')).toBe(true);
    await user.click(screen.getByTestId('export-check'));
    expect(fake.calls.filter((c) => c.method === 'planExport').map((c) => c.arg)).toEqual([{
      selections: [{ kind: 'repository', repository: 'library/app', tags: { kind: 'exact', tags: ['1.0'] }, platforms: 'host' }],
      out: '/media/usb/app.tar', have: '/media/usb/office.json',
    }]);
    expect((await screen.findByTestId('export-plan-size')).textContent).toBe('1 tag, 1 manifest and 3 blobs: 30.0 MiB');
    expect(screen.getByTestId('export-plan-skipped').textContent).toContain('Leaving out 1 blob (20.0 MiB)');

    await user.click(screen.getByTestId('export-start'));
    expect((await screen.findByTestId('bundle-task-state')).textContent).toBe('running');
    const running = fake.calls.filter((c) => c.method === 'startExport').length;
    expect(running).toBe(1);
    const task: BundleTask = {
      id: 'bundle-export-1', kind: 'export', state: 'running', path: '/media/usb/app.tar', bytesDone: 12 * MiB, bytesTotal: 30 * MiB,
      blobsDone: 2, blobsTotal: 4, step: 'writing /media/usb/app.tar', startedAt: 0,
    };
    act(() => fake.emit({ type: 'bundle', task }));
    expect(screen.getByLabelText('export progress').getAttribute('value')).toBe(String(12 * MiB));
    act(() => fake.emit({ type: 'bundle', task: { ...task, state: 'done', step: 'done', bytesDone: 30 * MiB, exported: { path: '/media/usb/app.tar', bytes: 30 * MiB, blobs: 3, manifests: 1, skippedBlobs: 1, skippedBytes: 20 * MiB, tags: 1 } } }));
    expect(screen.getByTestId('export-written').textContent).toBe('Wrote /media/usb/app.tar: 30.0 MiB in 3 blobs and 1 manifest, leaving out 1 blob the other side holds.');
  });

  it('Export: choosing nothing is said, and nothing is asked', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'export' });
    await user.click(await screen.findByTestId('export-check'));
    expect(screen.getByRole('alert').textContent).toBe('Choose at least one rule.');
    expect(fake.calls.filter((c) => c.method === 'planExport')).toEqual([]);
  });

  it('Import: a task that ends before the call that started it answers still shows its end', async () => {
    const user = userEvent.setup();
    const fake = createFakeApi(sampleState(NOW));
    const startImport = fake.startImport.bind(fake);
    const done: BundleTask = {
      id: 'bundle-import-1', kind: 'import', state: 'done', path: '/media/usb/small.tar', bytesDone: MiB, bytesTotal: MiB, blobsDone: 2, blobsTotal: 2, step: 'done', startedAt: 0,
      imported: { path: '/media/usb/small.tar', added: ['sha256:a', 'sha256:b'], alreadyPresent: [], addedBytes: MiB, tags: ['docker.io/library/app:1.0'], refused: [] },
    };
    // The core's events of a small import all arrive before its answer.
    fake.startImport = async (request) => {
      const started = await startImport(request);
      fake.emit({ type: 'bundle', task: { ...started } });
      fake.emit({ type: 'bundle', task: done });
      return started;
    };
    renderApp({ page: 'import', fake });
    await user.type(await screen.findByTestId('import-path'), '/media/usb/small.tar');
    await user.click(screen.getByTestId('import-start'));
    expect((await screen.findByTestId('import-counts')).textContent).toBe('Added 2 (1.0 MiB), already here 0, refused 0.');
    expect(screen.getByTestId('bundle-task-state').textContent).toBe('done');
  });

  it('Import: a path, progress, then what was added, already here and refused', async () => {
    const user = userEvent.setup();
    const { fake } = renderApp({ page: 'import' });
    await user.type(await screen.findByTestId('import-path'), '/media/usb/app.tar');
    await user.clear(screen.getByTestId('import-pin-days'));
    await user.type(screen.getByTestId('import-pin-days'), '7');
    await user.click(screen.getByTestId('import-start'));
    expect(fake.calls.filter((c) => c.method === 'startImport').map((c) => c.arg)).toEqual([{ path: '/media/usb/app.tar', pinDays: 7 }]);
    expect((await screen.findByTestId('bundle-task-state')).textContent).toBe('running');
    act(() => fake.emit({ type: 'bundle', task: {
      id: 'bundle-import-1', kind: 'import', state: 'done', path: '/media/usb/app.tar', bytesDone: 30 * MiB, bytesTotal: 30 * MiB, blobsDone: 4, blobsTotal: 4, step: 'done', startedAt: 0,
      imported: {
        path: '/media/usb/app.tar', added: ['sha256:a', 'sha256:b'], alreadyPresent: ['sha256:c'], addedBytes: 10 * MiB, tags: [],
        refused: [{ entry: 'blobs/sha256/dd', reason: 'its bytes hash to sha256:ee, not to the digest it is named by: damaged on the way, refused' }],
      },
    } }));
    expect(screen.getByTestId('import-counts').textContent).toBe('Added 2 (10.0 MiB), already here 1, refused 1.');
    expect(screen.getByTestId('import-refused').textContent).toContain('blobs/sha256/dd: its bytes hash to sha256:ee');
    expect(screen.queryByTestId('import-nothing')).toBeNull();
    expect(screen.getByTestId('bundle-task-state').className).toContain('warn');
  });
});
