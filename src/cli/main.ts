/** The `mamori` command. */
import { Command } from 'commander';
import { registerAdminCommands } from './admin-commands.js';
import { registerAgentCommands } from './agent-commands.js';
import { isUserFacing } from './errors.js';
import { up } from './up.js';

const program = new Command();
program.name('mamori').description('mamori (守り): endpoint compliance for municipal PCs').version('0.1.0');

program
  .command('up')
  .description('collector on embedded SQLite under ./var plus a local agent (what `npm start` runs)')
  .option('--data <dir>', 'data directory', './var')
  .option('--listen <host:port>', 'collector address', '127.0.0.1:8470')
  .option('--no-agent', 'start the collector only')
  .action((o: { data: string; listen: string; agent: boolean }) => up(o));

registerAdminCommands(program);
registerAgentCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (isUserFacing(err)) {
    process.stderr.write(`mamori: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`mamori: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
