/**
 * The `mamori` command. Command groups are loaded on demand, so the agent daemon on a staff
 * PC does not load the collector's web server and database modules.
 */
import { Command } from 'commander';
import { runCommandLine } from './errors.js';

// Everything mamori writes (state, logs and their rotation bookkeeping, databases, keys,
// recordings) holds host names, user names, serials or secrets: owner-only from the start.
if (process.platform !== 'win32') process.umask(0o077);

const program = new Command();
program.name('mamori').description('mamori (守り): endpoint compliance for municipal PCs').version('0.1.0');

const group = process.argv[2];
const agentOnly = group === 'agent';

const agentCommands = await import('./agent-commands.js');
agentCommands.registerAgentCommands(program);
(await import('./status-command.js')).registerStatusCommand(program, agentCommands.defaultStateDir);
if (!agentOnly) {
  program
    .command('up')
    .description('collector on embedded SQLite under ./var plus a local agent (what `npm start` runs)')
    .option('--data <dir>', 'data directory', './var')
    .option('--listen <host:port>', 'collector address', '127.0.0.1:8470')
    .option('--no-agent', 'start the collector only')
    .action(async (o: { data: string; listen: string; agent: boolean }) => (await import('./up.js')).up(o));

  program
    .command('catalogue')
    .description('the rule catalogue')
    .command('verify')
    .description('lint config/rules: ids, facts, parameters, sources, clause numbering, pass/fail fixtures')
    .option('--config <dir>', 'config directory (default: the one shipped with mamori)')
    .action(async (o: { config?: string }) => {
      const { verifyCatalogue } = await import('../shared/catalogue/lint.js');
      const result = await verifyCatalogue(o.config);
      for (const p of result.problems) process.stdout.write(`problem: ${p}\n`);
      process.stdout.write(`${result.rules} rules, ${result.problems.length} problems\n`);
      process.exitCode = result.ok ? 0 : 1;
    });

  (await import('./admin-commands.js')).registerAdminCommands(program);
  (await import('./console-commands.js')).registerConsoleCommands(program);
}

runCommandLine(program);
