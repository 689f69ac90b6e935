/**
 * TEMPORARY: the `layover` command line with the prefetch commands
 * registered, until the lead adds registerPrefetchCommands to cli/main.ts.
 * Fails the way main() does: one line `layover: <reason>`, non-zero exit.
 */
import { CommanderError } from 'commander';
import { buildProgram } from '../../../src-main/cli/main.js';
import { CliError } from '../../../src-main/cli/errors.js';
import { registerPrefetchCommands } from '../../../src-main/cli/prefetch-commands.js';

const program = buildProgram();
registerPrefetchCommands(program);
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  console.error(`layover: ${error instanceof CliError ? error.message : `unexpected error: ${(error as Error).stack ?? error}`}`);
  process.exit(error instanceof CliError ? error.exitCode : 1);
}
