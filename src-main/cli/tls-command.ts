import { resolve } from 'node:path';
import type { Command } from 'commander';
import { defaultDataDir } from '../app/instance.js';
import { initTls, machineNames, trustInstructions } from '../app/tls/certificates.js';

export function registerTlsCommands(program: Command): void {
  const tls = program.command('tls').description('certificates for a mirror shared on the office network');
  tls
    .command('init')
    .description('create a local CA (once) and a server certificate for this machine\'s names and addresses')
    .option('--data <dir>', 'data directory (default: the per-user application data folder)')
    .option('--name <name>', 'a further DNS name or IP address clients use for this box (repeatable)', (value: string, previous: string[]) => [...previous, value], [])
    .option('--port <port>', 'the port clients reach the mirror on, for the instructions', '5050')
    .action(async (flags: { data?: string; name: string[]; port: string }) => {
      const dataDir = resolve(flags.data ?? defaultDataDir());
      const names = machineNames(flags.name);
      const files = await initTls(dataDir, names);
      console.log(`Server certificate: ${files.serverCert}\nPrivate key:        ${files.serverKey} (owner-only)\nCA certificate:     ${files.caCert}`);
      console.log(`Valid for: ${names.join(', ')}`);
      console.log(`\n\`layover serve --data ${dataDir} --listen 0.0.0.0:${flags.port}\` now serves HTTPS with it.`);
      console.log('\nOn every client, trust the CA:');
      const host = names.find((name) => !['localhost', '127.0.0.1', '::1'].includes(name)) ?? names[0]!;
      for (const line of trustInstructions(files.caCert, `${host}:${flags.port}`)) console.log(`  - ${line}`);
    });
}
