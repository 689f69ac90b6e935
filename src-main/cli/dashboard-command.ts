import type { Command } from 'commander';
import { LayoverApiError } from '../api/http-client.js';
import { connectAdmin, dashboardLoginUrl, openInBrowser } from './admin-connection.js';
import { CliError } from './errors.js';

/**
 * `layover dashboard [--admin URL] [--open]` (a contract: its last line is the
 * URL). Prints a fresh one-time login link for the browser dashboard.
 */
export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('print a link that logs a browser into the running Layover\'s dashboard once (and open it with --open)')
    .option('--admin <url>', "the running Layover's control API (default: the running instance's)")
    .option('--open', 'also open the link in the default browser')
    .action(async (flags: { admin?: string; open?: boolean }) => {
      const connection = await connectAdmin(flags.admin);
      let url: string;
      try {
        url = await dashboardLoginUrl(connection);
      } catch (error) {
        if (error instanceof LayoverApiError) throw new CliError(`${connection.baseUrl} did not give a login link: ${error.message}`);
        throw new CliError(`${connection.baseUrl} is not answering: ${(error as Error).message}`);
      }
      if (flags.open) openInBrowser(url);
      process.stdout.write('Open this link to log a browser into the dashboard (it works once, for 10 minutes):\n');
      process.stdout.write(`${url}\n`);
    });
}
