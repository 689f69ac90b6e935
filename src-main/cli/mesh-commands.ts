import { resolve } from 'node:path';
import type { Command } from 'commander';
import { OfficeKey, writeOfficeKeyFile } from '../app/mesh-wiring.js';
import { CliError } from './errors.js';

/** `layover mesh init|join`: the office key that makes the Layovers of one office members of one mesh. */
export function registerMeshCommands(program: Command): void {
  const mesh = program.command('mesh').description('the office mesh: Layovers on one LAN share layers, one WAN fetch per layer for the office');
  mesh
    .command('init')
    .description('create a new office key (once per office) and print how the others join')
    .requiredOption('--out <file>', 'where to write the key (created owner-only, never overwritten)')
    .action(async (flags: { out: string }) => {
      const file = resolve(flags.out);
      const key = OfficeKey.generate();
      await writeKey(file, key);
      console.log(`Office key written to ${file} (owner-only).`);
      console.log(`Office: ${key.officeId}`);
      console.log('\nThis Layover joins with:');
      console.log(`  layover serve --mesh ${file}        (or Settings > Office mesh on the desktop)`);
      console.log('\nOn every other laptop of the office, join with this code (give it only to members):');
      console.log(`  layover mesh join ${key.toCode()} --out office.key`);
      console.log('  layover serve --mesh office.key');
    });
  mesh
    .command('join')
    .description('save the office key from the join code another member printed')
    .argument('<code>', 'the join code, LM1-XXXXX-...')
    .requiredOption('--out <file>', 'where to write the key (created owner-only, never overwritten)')
    .action(async (code: string, flags: { out: string }) => {
      let key: OfficeKey;
      try {
        key = OfficeKey.fromCode(code);
      } catch (error) {
        throw new CliError((error as Error).message);
      }
      const file = resolve(flags.out);
      await writeKey(file, key);
      console.log(`Joined office ${key.officeId}: key written to ${file} (owner-only).`);
      console.log(`Start sharing with: layover serve --mesh ${file}`);
    });
}

async function writeKey(file: string, key: OfficeKey): Promise<void> {
  try {
    await writeOfficeKeyFile(file, key);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}
