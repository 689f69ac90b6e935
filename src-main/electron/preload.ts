/**
 * The dashboard's preload, for a sandboxed, context-isolated renderer. It is
 * bundled to CommonJS (dist/electron/preload.cjs) because a sandboxed preload
 * can neither load ES modules nor require anything but Electron's own few
 * modules. It exposes exactly LayoverApi's methods plus subscribe as
 * `window.layover`; ipcRenderer itself never reaches the page.
 */
import { contextBridge, ipcRenderer } from 'electron';
import type { LayoverEvent } from '../api/types.js';
import { createBridgeApi, IPC_EVENTS } from './ipc-protocol.js';

const api = createBridgeApi({
  invoke: (channel, method, arg) => ipcRenderer.invoke(channel, method, arg),
  send: (channel, message) => ipcRenderer.send(channel, message),
  onEvent: (handler) => {
    ipcRenderer.on(IPC_EVENTS, (_event, payload: LayoverEvent) => handler(payload));
  },
  reportListenerError: (error) => console.error('a window.layover.subscribe listener threw', error),
});

contextBridge.exposeInMainWorld('layover', api);
