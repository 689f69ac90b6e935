import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { VERSION } from '../app/layover.js';
import { CliError } from './errors.js';
import { registerPrefetchCommands } from './prefetch-commands.js';
import { registerBundleCommands } from './bundle-commands.js';
import { registerServeCommand } from './serve-command.js';
import { registerRuntimeCommands } from './runtime-commands.js';
import { registerTlsCommands } from './tls-command.js';
import { registerMeshCommands } from './mesh-commands.js';
import { registerDemoCommand } from './demo-command.js';
import { registerDashboardCommand } from './dashboard-command.js';

export function buildProgram(): Command {
  const program = new Command('layover')
    .description('A pull-through registry cache for slow-link offices')
    .version(VERSION)
    .showHelpAfterError('(run layover --help for usage)')
    .exitOverride();
  registerServeCommand(program);
  registerRuntimeCommands(program);
  registerPrefetchCommands(program);
  registerBundleCommands(program);
  registerTlsCommands(program);
  registerMeshCommands(program);
  registerDemoCommand(program);
  registerDashboardCommand(program);
  return program;
}

/** Runs the CLI; every failure ends as one line on stderr and a non-zero exit. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    const message = error instanceof CliError ? error.message : `unexpected error: ${(error as Error).stack ?? error}`;
    console.error(`layover: ${message}`);
    process.exit(error instanceof CliError ? error.exitCode : 1);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main(process.argv);
