import { describe, expect, it } from 'vitest';
import type { Settings } from '../../src-main/api/types.js';
import { emptyState } from '../test/fake-api.js';
import { draftToPatch, newBandwidthWindowDraft, toDraft, validateDraft } from './settings-form.js';

const MiB = 1024 * 1024;

function withWindows(): Settings {
  const settings = emptyState().settings;
  settings.registries = [{
    name: 'dtr.example.com',
    endpoints: [{ url: 'https://dtr.example.com' }],
    bandwidthLimit: 4 * MiB,
    bandwidthWindows: [
      { start: '08:00', end: '18:00', bytesPerSecond: 2 * MiB },
      { start: '22:00', end: '06:00', bytesPerSecond: 0 },
    ],
  }];
  settings.defaultRegistry = 'dtr.example.com';
  return settings;
}

describe('settings form: bandwidth windows', () => {
  it('round-trips: an untouched draft is no change, 0 shows as empty (unlimited)', () => {
    const settings = withWindows();
    const draft = toDraft(settings);
    expect(draft.registries[0]!.bandwidthWindows.map(({ start, end, bytesPerSecond }) => [start, end, bytesPerSecond])).toEqual([
      ['08:00', '18:00', 2 * MiB],
      ['22:00', '06:00', undefined],
    ]);
    expect(draftToPatch(settings, draft)).toEqual({});
    expect(validateDraft(draft)).toEqual({});
  });

  it('sends the whole registry list, windows in order, when a window changes, is added or removed', () => {
    const settings = withWindows();
    const draft = toDraft(settings);
    const registry = draft.registries[0]!;
    registry.bandwidthWindows[0] = { ...registry.bandwidthWindows[0]!, end: '19:00' };
    registry.bandwidthWindows.push({ ...newBandwidthWindowDraft(), start: '12:00', end: '13:00' });
    expect(draftToPatch(settings, draft).registries![0]!.bandwidthWindows).toEqual([
      { start: '08:00', end: '19:00', bytesPerSecond: 2 * MiB },
      { start: '22:00', end: '06:00', bytesPerSecond: 0 },
      { start: '12:00', end: '13:00', bytesPerSecond: 0 },
    ]);
    registry.bandwidthWindows = [];
    const cleared = draftToPatch(settings, draft).registries![0]!;
    expect('bandwidthWindows' in cleared).toBe(false);
    expect(cleared.bandwidthLimit).toBe(4 * MiB);
  });

  it('keeps row keys across a save, so the rows are not remounted', () => {
    const settings = withWindows();
    const draft = toDraft(settings);
    const again = toDraft(settings, draft);
    expect(again.registries[0]!.bandwidthWindows.map((w) => w.key)).toEqual(draft.registries[0]!.bandwidthWindows.map((w) => w.key));
  });

  it('rejects incomplete times and a window that ends when it starts', () => {
    const draft = toDraft(withWindows());
    const [day, night] = draft.registries[0]!.bandwidthWindows;
    day!.start = '';
    night!.end = night!.start;
    const errors = validateDraft(draft);
    expect(errors[`window.${day!.key}.start`]).toMatch(/time of day/);
    expect(errors[`window.${night!.key}.end`]).toMatch(/another time/);
    expect(Object.keys(errors)).toHaveLength(2);
  });
});

describe('settings form: the admin listener and allowed host names', () => {
  it('round-trips: unset settings are an unticked box and an empty list, and no change', () => {
    const settings = emptyState().settings;
    const draft = toDraft(settings);
    expect([draft.browserDashboard, draft.allowedHosts]).toEqual([false, '']);
    expect(draftToPatch(settings, draft)).toEqual({});
    const set = { ...settings, browserDashboard: true, allowedHosts: ['layover.office.example', 'cache.lan'] };
    expect(toDraft(set).allowedHosts).toBe('layover.office.example, cache.lan');
    expect(draftToPatch(set, toDraft(set))).toEqual({});
  });

  it('sends the box when it changes, and host names split on commas, spaces and new lines, each once', () => {
    const settings = emptyState().settings;
    const draft = { ...toDraft(settings), browserDashboard: true, allowedHosts: ' layover.office.example, cache.lan\nbuild-box\n\ncache.lan,' };
    expect(draftToPatch(settings, draft)).toEqual({ browserDashboard: true, allowedHosts: ['layover.office.example', 'cache.lan', 'build-box'] });
    const emptied = { ...settings, allowedHosts: ['cache.lan'] };
    expect(draftToPatch(emptied, { ...toDraft(emptied), allowedHosts: '  ' })).toEqual({ allowedHosts: [] });
    expect(draftToPatch({ ...settings, browserDashboard: true }, { ...draft, browserDashboard: false, allowedHosts: '' })).toEqual({ browserDashboard: false });
  });

  it('refuses a URL or an address with a port, naming it', () => {
    const draft = { ...toDraft(emptyState().settings), allowedHosts: 'cache.lan, http://layover.office.example, box:5050' };
    expect(validateDraft(draft).allowedHosts).toBe('"http://layover.office.example", "box:5050": a host name only, such as layover.office.example (no http://, no port).');
    expect(validateDraft({ ...draft, allowedHosts: 'cache.lan 10.0.0.7' }).allowedHosts).toBeUndefined();
  });
});
