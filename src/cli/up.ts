/**
 * `npm start` = `mamori up`: a collector on embedded SQLite under ./var and a local agent
 * enrolled into it, as a second process, for a first look at the product on one machine.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCollector } from '../collector/collector.js';
import { createEnrollmentToken } from '../collector/tokens.js';
import { createLogger } from '../shared/log.js';
import { parseListen } from './admin-commands.js';

export interface UpOptions {
  data: string;
  listen: string;
  agent: boolean;
}

export async function up(o: UpOptions): Promise<void> {
  const root = resolve(o.data);
  const collectorDir = join(root, 'collector');
  const agentDir = join(root, 'agent');
  const { host, port } = parseListen(o.listen);
  const log = createLogger({ component: 'collector', dir: join(collectorDir, 'logs') });
  const collector = await startCollector({ dataDir: collectorDir, host, port, log });

  const lines = [
    '',
    'mamori is running.',
    `  console:          ${collector.consoleUrl}`,
    `  agent endpoint:   ${collector.agentUrl}`,
    `  data:             ${root}`,
  ];
  // On first start the console makes the account "admin" with a one-time password (changed at first login).
  const initial = join(collectorDir, 'console-initial-admin.txt');
  if (existsSync(initial)) {
    const password = /^password: (.+)$/m.exec(readFileSync(initial, 'utf8'))?.[1];
    if (password) lines.push(`  console login:    admin / ${password}  (one-time password: change it at first login)`);
  }

  let child: ReturnType<typeof spawn> | undefined;
  if (o.agent) {
    const args = ['agent', 'run', '--collector', collector.agentUrl, '--state', agentDir];
    if (!existsSync(join(agentDir, 'identity.json'))) {
      const { token } = await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 10 * 60_000, singleUse: true, note: 'local agent of mamori up' });
      args.push('--enroll', token);
    }
    // This module runs from dist/mamori.mjs; the command is bin/mamori.js next to it.
    const cli = fileURLToPath(new URL('../bin/mamori.js', import.meta.url));
    child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
    lines.push(`  local agent:      state in ${agentDir} (pid ${child.pid})`);
  }
  process.stdout.write(`${lines.join('\n')}\n\nStop with Ctrl-C.\n`);

  const shutdown = async () => {
    child?.kill('SIGTERM');
    await collector.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}
