/**
 * What the runtimes commands (`layover docker …`, `layover pull`,
 * `layover runtimes …`) use. They act on this machine's Docker, Podman and
 * containerd configuration — files outside Layover's data folder, often as
 * root — and must work whether or not Layover is running (configure before
 * the first start, revert after the last), so they run in the command's own
 * process rather than behind the admin API, which may touch nothing outside
 * the data folder. The app still decides what they point at: the mirror of
 * the Layover running here.
 */
import { findRunningInstance } from './instance.js';

export {
  applyDockerConfig, inspectDocker, pullThroughLayover, RuntimeError, snippetsFor, writeSnippets,
  type PullProgress, type RuntimeName,
} from '../runtimes/index.js';

/** host:port of the mirror of the Layover running from the default data folder, if one runs. */
export async function runningMirror(): Promise<string | undefined> {
  return (await findRunningInstance())?.mirrorAddress;
}
