import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { LayoverEvent, Settings, Status, TransferStatus } from '../../src-main/api/types.js';
import { useApi } from './api-context.js';

type Listener = (event: LayoverEvent) => void;

export interface Live {
  status?: Status;
  /** Why the last status load failed; cleared by the next success. */
  statusError?: Error;
  settings?: Settings;
  settingsError?: Error;
  /** Why live updates could not start (the page then refreshes by polling). */
  liveError?: Error;
  reloadStatus(): Promise<void>;
  reloadSettings(): Promise<void>;
  /** After a successful updateSettings, so every page sees the new values at once. */
  setSettings(settings: Settings): void;
  addListener(listener: Listener): () => void;
}

const LiveContext = createContext<Live | null>(null);

export function upsertTransfer(transfers: TransferStatus[], transfer: TransferStatus, done: boolean): TransferStatus[] {
  const rest = transfers.filter((t) => t.id !== transfer.id);
  if (done) return rest;
  const index = transfers.findIndex((t) => t.id === transfer.id);
  if (index === -1) return [...transfers, transfer];
  const next = [...transfers];
  next[index] = transfer;
  return next;
}

/**
 * Holds what every page shares (status, settings) and fans the one event
 * subscription out to the pages. Status is also re-read every
 * `statusRefreshMs` while the window is visible: events can be missed while an
 * SSE stream reconnects, and a poll that fails tells us the core is gone.
 */
export function LiveProvider({ children, statusRefreshMs = 10_000 }: { children: ReactNode; statusRefreshMs?: number }) {
  const api = useApi();
  const [status, setStatus] = useState<Status>();
  const [statusError, setStatusError] = useState<Error>();
  const [settings, setSettings] = useState<Settings>();
  const [settingsError, setSettingsError] = useState<Error>();
  const [liveError, setLiveError] = useState<Error>();
  const listeners = useRef(new Set<Listener>());

  const reloadStatus = useCallback(async () => {
    try {
      setStatus(await api.getStatus());
      setStatusError(undefined);
    } catch (error) {
      setStatusError(toError(error));
    }
  }, [api]);

  const reloadSettings = useCallback(async () => {
    try {
      setSettings(await api.getSettings());
      setSettingsError(undefined);
    } catch (error) {
      setSettingsError(toError(error));
    }
  }, [api]);

  useEffect(() => {
    void reloadStatus();
    void reloadSettings();
  }, [reloadStatus, reloadSettings]);

  useEffect(() => {
    const onEvent = (event: LayoverEvent): void => {
      switch (event.type) {
        case 'status':
          setStatus(event.status);
          setStatusError(undefined);
          break;
        case 'transfer':
          setStatus((current) => current && { ...current, transfers: upsertTransfer(current.transfers, event.transfer, event.done) });
          break;
        case 'settings':
          setSettings(event.settings);
          break;
        default:
          break;
      }
      for (const listener of [...listeners.current]) listener(event);
    };
    try {
      const unsubscribe = api.subscribe(onEvent);
      setLiveError(undefined);
      return unsubscribe;
    } catch (error) {
      setLiveError(toError(error));
      return undefined;
    }
  }, [api]);

  useEffect(() => {
    if (!statusRefreshMs) return;
    const timer = setInterval(() => {
      if (document.visibilityState !== 'hidden') void reloadStatus();
    }, statusRefreshMs);
    return () => clearInterval(timer);
  }, [reloadStatus, statusRefreshMs]);

  const addListener = useCallback((listener: Listener) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);

  const value = useMemo<Live>(
    () => ({ status, statusError, settings, settingsError, liveError, reloadStatus, reloadSettings, setSettings, addListener }),
    [status, statusError, settings, settingsError, liveError, reloadStatus, reloadSettings, addListener],
  );
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export function useLive(): Live {
  const live = useContext(LiveContext);
  if (!live) throw new Error('useLive outside <LiveProvider>');
  return live;
}

/** Calls `handler` for every live event while the component is mounted. */
export function useLayoverEvent(handler: Listener): void {
  const { addListener } = useLive();
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => addListener((event) => latest.current(event)), [addListener]);
}

export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
