/**
 * The control API of a `layover serve` child once its token file holds its
 * token. The ready check (/healthz on the admin listener) passes a moment
 * before the instance writes that file, and a killed instance leaves its own
 * file behind: until the new token is written, the CLI's lookup finds no file,
 * or the dead instance's token, and is refused. This waits for the state the
 * instance exposes (a call that passes), never for a set time.
 */
import type { LayoverApi } from '../../src-main/api/layover-api.js';
import { adminClient, type LayoverProcess } from '../support/layover.js';
import { sleep } from '../support/process.js';

const GIVE_UP_MS = 30_000;

export async function whenAdminReady(layover: LayoverProcess): Promise<LayoverApi> {
  for (const started = Date.now(); ; await sleep(20)) {
    const refused = await adminClient(layover).then(
      (api) => api.getStatus().then(() => api, (error: Error & { status?: number }) => error),
      (error: Error) => error,
    );
    if (!(refused instanceof Error)) return refused;
    const tokenNotYetWritten = (refused as { status?: number }).status === 401 || /no admin token file/.test(refused.message);
    if (!tokenNotYetWritten || Date.now() - started > GIVE_UP_MS) throw refused;
  }
}
