/**
 * The `mamori` command. Command groups are loaded on demand, so the agent daemon on a staff
 * PC does not load the collector's web server and database modules.
 */
import { Command } from 'commander';
import { runCommandLine } from './errors.js';
import { localizeCommander, t } from './lang.js';

// Everything mamori writes (state, logs and their rotation bookkeeping, databases, keys,
// recordings) holds host names, user names, serials or secrets: owner-only from the start.
if (process.platform !== 'win32') process.umask(0o077);

const program = new Command();
program.name('mamori').description(t('cli.main.description')).version('0.1.0', '-V, --version', t('cli.help.version'));
localizeCommander(program);

const group = process.argv[2];
const agentOnly = group === 'agent';

const agentCommands = await import('./agent-commands.js');
agentCommands.registerAgentCommands(program);
(await import('./status-command.js')).registerStatusCommand(program, agentCommands.defaultStateDir);
if (!agentOnly) {
  program
    .command('up')
    .description(t('cli.up.description'))
    .option('--data <dir>', t('cli.opt.dataDir'), './var')
    .option('--listen <host:port>', t('cli.up.opt.listen'), '127.0.0.1:8470')
    .option('--no-agent', t('cli.up.opt.noAgent'))
    .action(async (o: { data: string; listen: string; agent: boolean }) => (await import('./up.js')).up(o));

  program
    .command('catalogue')
    .description(t('cli.catalogue.description'))
    .command('verify')
    .description(t('cli.catalogue.verify'))
    .option('--config <dir>', t('cli.catalogue.opt.config'))
    .action(async (o: { config?: string }) => {
      const { verifyCatalogue } = await import('../shared/catalogue/lint.js');
      const result = await verifyCatalogue(o.config);
      for (const p of result.problems) process.stdout.write(`${t('cli.catalogue.problem', { problem: p })}\n`);
      process.stdout.write(`${t('cli.catalogue.summary', { rules: result.rules, problems: result.problems.length })}\n`);
      process.exitCode = result.ok ? 0 : 1;
    });

  (await import('./admin-commands.js')).registerAdminCommands(program);
  (await import('./console-commands.js')).registerConsoleCommands(program);
}

runCommandLine(program);
