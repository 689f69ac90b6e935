/**
 * The demo as part of LayoverApi: one run at a time, in the background, its
 * progress published as `demo` events through the running core so the
 * dashboard and the tray follow it live. The run has its own origin, link
 * and Layover core: the person's cache, settings and counters are untouched.
 */
import type { Logger } from 'pino';
import type { LayoverApi } from '../api/layover-api.js';
import type { DemoRequest, DemoStatus, LayoverEvent } from '../api/types.js';
import type { DemoClientChoice } from './demo-clients.js';
import type { DemoNeeds } from './demo-needs.js';
import { checkDemoSize } from './demo-images.js';
import { idleDemoStatus, resolveDemoLink, runDemoScenario } from './demo-scenario.js';

export type DemoApi = Pick<LayoverApi, 'startDemo' | 'getDemo' | 'cancelDemo'>;

/** What the demo needs from the running Layover: LayoverCore provides both. */
export interface DemoHost {
  publish(event: LayoverEvent): void;
  readonly logger: Logger;
}

export interface DemoServiceOptions {
  client?: DemoClientChoice;
  tempParent?: string;
  /** A core of its own and Docker, handed over by the app. */
  needs: DemoNeeds;
}

export class DemoRequestError extends Error {
  readonly status = 400;
  readonly code = 'BAD_REQUEST';
}

export class DemoBusyError extends Error {
  readonly status = 409;
  readonly code = 'DEMO_RUNNING';
}

/** The demo's part of LayoverApi, for the app layer to spread into its implementation. */
export function createDemoApi(host: DemoHost, options: DemoServiceOptions): DemoApi {
  let status = idleDemoStatus();
  let running: { controller: AbortController; finished: Promise<void> } | undefined;
  const logger = host.logger.child({ room: 'demo' });

  const update = (next: DemoStatus) => {
    status = next;
    host.publish({ type: 'demo', demo: next });
  };

  return {
    getDemo: async () => status,
    startDemo: async (request: DemoRequest = {}) => {
      if (running) throw new DemoBusyError('A demo is already running: wait for it to finish, or cancel it');
      const { sizeBytes, link } = checkRequest(request);
      const controller = new AbortController();
      const run = runDemoScenario({
        ...options, sizeBytes, link, signal: controller.signal, onStatus: update,
        // The demo's own core logs only what goes wrong, so the person's log is not filled with its pulls.
        logger: logger.child({}, { level: 'warn' }),
      });
      const finished = run.then(
        (result) => logger.info({ summary: result.summary }, 'demo finished'),
        (error: unknown) => {
          if (!controller.signal.aborted) logger.warn({ err: error }, 'demo failed');
        },
      ).finally(() => {
        running = undefined;
      });
      running = { controller, finished };
      return status;
    },
    cancelDemo: async () => {
      if (running) {
        running.controller.abort(new Error('the demo was cancelled'));
        await running.finished;
      }
      return status;
    },
  };
}

/** Refuses an unreadable size or link before anything starts, with the reason. */
function checkRequest(request: DemoRequest): DemoRequest {
  try {
    if (request.sizeBytes !== undefined) checkDemoSize(request.sizeBytes);
    resolveDemoLink(request.link);
    return request;
  } catch (error) {
    throw new DemoRequestError((error as Error).message);
  }
}
