import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LAYOVER_METHODS } from '../api/layover-api.js';
import type { LayoverEvent } from '../api/types.js';
import { NotAvailableError } from '../app/api-service.js';
import {
  BridgeError, createBridgeApi, IPC_CALL, IPC_EVENTS, isJsonValue, isTrustedSender, parseCall, toCallError, unwrapCallResult,
  type BridgeTransport, type SubscriptionMessage,
} from './ipc-protocol.js';

const DASHBOARD = 'file:///opt/Layover/resources/app.asar/dist/renderer/index.html';

test('a call names a LayoverApi method and carries at most one JSON argument', () => {
  assert.deepEqual(parseCall('getStatus', undefined), { ok: true, method: 'getStatus', arg: undefined });
  assert.deepEqual(parseCall('pauseJob', { id: 'j1' }), { ok: true, method: 'pauseJob', arg: { id: 'j1' } });
  for (const bad of ['subscribe', 'constructor', '__proto__', 'toString', 'getstatus', 42, null, undefined]) {
    const parsed = parseCall(bad, undefined);
    assert.equal(parsed.ok, false, `${String(bad)} must be refused`);
    if (!parsed.ok) assert.equal(parsed.error.code, 'BAD_REQUEST');
  }
  const two = parseCall('pauseJob', { id: 'a' }, [{ id: 'b' }]);
  assert.equal(two.ok, false);
  const date = parseCall('updateSettings', { at: new Date() });
  assert.equal(date.ok, false);
  if (!date.ok) assert.match(date.error.message, /plain JSON/);
});

test('every LayoverApi method is callable over IPC', () => {
  for (const method of LAYOVER_METHODS) assert.equal(parseCall(method, undefined).ok, true, method);
});

test('JSON values: plain data only, no cycles, no class instances, no NaN', () => {
  assert.equal(isJsonValue({ a: [1, 'x', true, null, { b: undefined }] }), true);
  assert.equal(isJsonValue(Object.create(null)), true);
  assert.equal(isJsonValue(Number.NaN), false);
  assert.equal(isJsonValue(new Map()), false);
  assert.equal(isJsonValue(new Uint8Array(2)), false);
  assert.equal(isJsonValue(() => 1), false);
  assert.equal(isJsonValue(10n), false);
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  assert.equal(isJsonValue(cycle), false);
});

test('only the dashboard top frame loaded from the app\'s own file:// index.html is a trusted sender', () => {
  assert.equal(isTrustedSender({ url: DASHBOARD, isMainFrame: true }, DASHBOARD), true);
  assert.equal(isTrustedSender({ url: `${DASHBOARD}#/settings`, isMainFrame: true }, DASHBOARD), true, 'hash routes are the dashboard');
  assert.equal(isTrustedSender({ url: `${DASHBOARD}?token=x`, isMainFrame: true }, DASHBOARD), true);
  assert.equal(isTrustedSender({ url: DASHBOARD, isMainFrame: false }, DASHBOARD), false, 'a subframe is not');
  assert.equal(isTrustedSender(null, DASHBOARD), false, 'a frame that navigated away or died is not');
  assert.equal(isTrustedSender({ url: 'file:///tmp/evil/index.html', isMainFrame: true }, DASHBOARD), false);
  assert.equal(isTrustedSender({ url: 'file://attacker/share/dist/renderer/index.html', isMainFrame: true }, DASHBOARD), false, 'no UNC hosts');
  assert.equal(isTrustedSender({ url: 'http://127.0.0.1:5051/index.html', isMainFrame: true }, DASHBOARD), false);
  assert.equal(isTrustedSender({ url: 'https://example.com/opt/Layover/resources/app.asar/dist/renderer/index.html', isMainFrame: true }, DASHBOARD), false);
  assert.equal(isTrustedSender({ url: 'file:///opt/Layover/resources/app.asar/dist/renderer/other.html', isMainFrame: true }, DASHBOARD), false);
  assert.equal(isTrustedSender({ url: 'file:///opt/Layover/resources/app.asar/dist/renderer/x/../index.html', isMainFrame: true }, DASHBOARD), true, 'URL resolves dot segments');
  assert.equal(isTrustedSender({ url: 'not a url', isMainFrame: true }, DASHBOARD), false);
  assert.equal(isTrustedSender({ url: 'file:///C:/Program%20Files/Layover/resources/app.asar/dist/renderer/index.html', isMainFrame: true },
    'file:///C:/Program%20Files/Layover/resources/app.asar/dist/renderer/index.html'), true, 'Windows paths');
});

test('errors keep their words and their code for the dashboard', () => {
  assert.deepEqual(toCallError(new NotAvailableError('Prefetch is not available in this build of Layover')),
    { message: 'Prefetch is not available in this build of Layover', code: 'NOT_AVAILABLE', status: 501 });
  assert.deepEqual(toCallError(new Error('boom')), { message: 'boom', code: 'INTERNAL', status: 500 });
  assert.deepEqual(toCallError(Object.assign(new Error('busy'), { code: 'EADDRINUSE' })), { message: 'busy', code: 'EADDRINUSE', status: 500 });
  assert.deepEqual(toCallError(Object.assign(new Error('x'), { code: 'lower-case', status: 200 })), { message: 'x', code: 'INTERNAL', status: 500 });
  assert.deepEqual(toCallError('a string'), { message: 'a string', code: 'INTERNAL', status: 500 });
});

test('unwrapping a result returns the value or throws an error shaped like the HTTP client\'s', () => {
  assert.equal(unwrapCallResult({ ok: true, value: 7 }), 7);
  assert.throws(() => unwrapCallResult({ ok: false, error: { message: 'nope', code: 'NOT_AVAILABLE', status: 501 } }), (error: unknown) => {
    assert.ok(error instanceof BridgeError);
    assert.equal(error.name, 'LayoverApiError');
    assert.equal(error.message, 'nope');
    assert.equal(error.code, 'NOT_AVAILABLE');
    assert.equal(error.status, 501);
    return true;
  });
  assert.throws(() => unwrapCallResult('garbage'), /not a call result/);
});

function fakeTransport() {
  const sent: SubscriptionMessage[] = [];
  const invoked: Array<[string, unknown]> = [];
  const listenerErrors: unknown[] = [];
  let handler: ((event: LayoverEvent) => void) | undefined;
  let answer: (method: string, arg: unknown) => unknown = () => ({ ok: true, value: null });
  const transport: BridgeTransport = {
    invoke: async (channel, method, arg) => {
      assert.equal(channel, IPC_CALL);
      invoked.push([method, arg]);
      return answer(method, arg);
    },
    send: (channel, message) => {
      assert.equal(channel, IPC_EVENTS);
      sent.push(message);
    },
    onEvent: (h) => {
      handler = h;
    },
    reportListenerError: (error) => listenerErrors.push(error),
  };
  return {
    transport, sent, invoked, listenerErrors,
    emit: (event: LayoverEvent) => handler?.(event),
    answer: (fn: typeof answer) => {
      answer = fn;
    },
  };
}

test('the bridge exposes exactly LayoverApi: its methods and subscribe, frozen', () => {
  const { transport } = fakeTransport();
  const api = createBridgeApi(transport);
  assert.deepEqual(Object.keys(api).sort(), [...LAYOVER_METHODS, 'subscribe'].sort());
  for (const key of Object.keys(api)) assert.equal(typeof (api as unknown as Record<string, unknown>)[key], 'function');
  assert.ok(Object.isFrozen(api));
});

test('a bridge call invokes layover:call with the method and its argument, and unwraps the answer', async () => {
  const fake = fakeTransport();
  fake.answer((method) => (method === 'listJobs' ? { ok: true, value: [] } : { ok: false, error: { message: 'Prefetch is not available', code: 'NOT_AVAILABLE', status: 501 } }));
  const api = createBridgeApi(fake.transport);
  assert.deepEqual(await api.listJobs(), []);
  await assert.rejects(api.pauseJob({ id: 'j' }), { name: 'LayoverApiError', message: 'Prefetch is not available', code: 'NOT_AVAILABLE' });
  await assert.rejects((api.updateSettings as (arg: unknown) => Promise<unknown>)({ when: new Date() }), { code: 'BAD_REQUEST' });
  assert.deepEqual(fake.invoked, [['listJobs', undefined], ['pauseJob', { id: 'j' }]]);
});

test('one main-process subscription while any listener is registered; a throwing listener does not stop the others', () => {
  const fake = fakeTransport();
  const api = createBridgeApi(fake.transport);
  const seenA: string[] = [];
  const seenB: string[] = [];
  const offA = api.subscribe((event) => seenA.push(event.type));
  const offB = api.subscribe((event) => {
    seenB.push(event.type);
    throw new Error('listener bug');
  });
  assert.deepEqual(fake.sent, ['subscribe']);
  fake.emit({ type: 'activity', event: { at: 0, level: 'info', message: 'x' } });
  assert.deepEqual(seenA, ['activity']);
  assert.deepEqual(seenB, ['activity']);
  assert.equal(fake.listenerErrors.length, 1);
  offA();
  offA();
  assert.deepEqual(fake.sent, ['subscribe'], 'still one listener left');
  offB();
  assert.deepEqual(fake.sent, ['subscribe', 'unsubscribe']);
  fake.emit({ type: 'activity', event: { at: 0, level: 'info', message: 'y' } });
  assert.deepEqual(seenA, ['activity']);
  assert.throws(() => api.subscribe('nope' as never), TypeError);
});
