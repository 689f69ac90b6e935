/**
 * TEMPORARY: `layover serve` with the prefetch service wired in, run as a
 * real child process (for kill -9 and the CLI contract) until the lead wires
 * prefetch into serve-command/headless. Takes serve's flags:
 *   --data DIR --listen HOST:PORT --admin HOST:PORT --upstream URL
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { FileSettingsStore } from '../../../src-main/app/settings-store.js';
import { prepareDataDir } from '../../../src-main/app/layover.js';
import { applyFlags } from '../../../src-main/cli/serve-command.js';
import { startHeadlessWithPrefetch } from './wiring.js';

const { values } = parseArgs({
  options: { data: { type: 'string' }, listen: { type: 'string' }, admin: { type: 'string' }, upstream: { type: 'string' }, 'tick-ms': { type: 'string' } },
});
const dataDir = values.data!;
await prepareDataDir(dataDir);
const store = new FileSettingsStore(join(dataDir, 'settings.json'));
const settings = applyFlags(await store.load(), { listen: values.listen, admin: values.admin, upstream: values.upstream, registry: [] });
const logger = pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
const { instance } = await startHeadlessWithPrefetch(
  { dataDir, settings, logger, settingsStore: store, announce: true },
  values['tick-ms'] ? { tickMs: Number(values['tick-ms']) } : {},
);
logger.info({ admin: instance.adminUrl }, 'prefetch wired in: ready');
const shutdown = () => void instance.stop().then(() => process.exit(0));
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
