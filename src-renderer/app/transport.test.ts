import { afterEach, describe, expect, it, vi } from 'vitest';
import { LAYOVER_METHODS } from '../../src-main/api/layover-api.js';
import { createFakeApi } from '../test/fake-api.js';
import { chooseTransport } from './transport.js';

afterEach(() => {
  delete window.layover;
  window.history.replaceState(null, '', '/');
});

describe('chooseTransport', () => {
  it('uses the Electron preload bridge when there is one', () => {
    const bridge = createFakeApi();
    window.layover = bridge;
    expect(chooseTransport(window)).toEqual({ api: bridge, kind: 'ipc' });
  });

  it('refuses a bridge that lacks methods, naming them', () => {
    window.layover = { getStatus: () => Promise.resolve() } as never;
    expect(() => chooseTransport(window)).toThrow(/lacks subscribe, getActivity/);
  });

  it('else calls the page origin over HTTP as JSON, with no secret taken from the URL (the session cookie is the credential)', async () => {
    window.history.replaceState(null, '', '/?token=s3cret#/overview');
    const fetchMock = vi.fn(async () => new Response(JSON.stringify({ ok: true }), { status: 200 }));
    vi.stubGlobal('fetch', fetchMock);
    const { api, kind } = chooseTransport(window);
    expect(kind).toBe('http');
    for (const method of LAYOVER_METHODS) expect(typeof api[method]).toBe('function');
    await api.getStatus();
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/call/getStatus');
    expect((init.headers as Record<string, string>).authorization).toBeUndefined();
    expect((init.headers as Record<string, string>)['content-type']).toBe('application/json');
    vi.unstubAllGlobals();
  });
});
