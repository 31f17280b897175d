/**
 * `npm start` = `mamori up`: a collector on embedded SQLite under ./var (HTTPS + WSS with its
 * own CA, created on first start) and a local agent enrolled into it that pins that CA, as a
 * second process, for a first look at the product on one machine.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startCollector } from '../collector/collector.js';
import { createEnrollmentToken } from '../collector/tokens.js';
import { createLogger } from '../shared/log.js';
import { formatFingerprint } from '../shared/tls/fingerprint.js';
import { hasTls, initTls, loadTls, serverCertNames } from '../shared/tls/material.js';
import { parseListen } from './admin-commands.js';
import { AgentSupervisor } from './agent-supervisor.js';
import { t } from './lang.js';

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
  const tls = hasTls(collectorDir) ? loadTls(collectorDir) : (await initTls(collectorDir)).material;
  const collector = await startCollector({ dataDir: collectorDir, host, port, log, tls });
  const pin = formatFingerprint(tls.caFingerprint);

  const lines = [
    '',
    t('cli.up.running'),
    t('cli.up.console', { url: collector.consoleUrl }),
    t('cli.up.agentEndpoint', { url: collector.agentUrl }),
    t('cli.up.caFingerprint', { pin }),
    t('cli.up.certificate', { names: serverCertNames(collectorDir).join(', '), dir: collectorDir }),
    t('cli.up.data', { dir: root }),
  ];
  // On first start the console makes the account "admin" with a one-time password (changed at first login).
  const initial = join(collectorDir, 'console-initial-admin.txt');
  if (existsSync(initial)) {
    const password = /^password: (.+)$/m.exec(readFileSync(initial, 'utf8'))?.[1];
    if (password) lines.push(t('cli.up.login', { password }));
  }

  let agent: AgentSupervisor | undefined;
  if (o.agent) {
    const args = ['agent', 'run', '--collector', collector.agentUrl, '--state', agentDir, '--ca-pin', tls.caFingerprint];
    if (!existsSync(join(agentDir, 'identity.json'))) {
      const { token } = await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 10 * 60_000, singleUse: true, note: 'local agent of mamori up' });
      args.push('--enroll', token);
    }
    // The local agent runs the same command this process was started with (bin/mamori.js).
    const cli = process.argv[1]!;
    // Started again whenever it exits on its own (its watchdog, a crash), as the installed service is.
    agent = new AgentSupervisor({ command: process.execPath, args: [cli, ...args], log });
    agent.start();
    lines.push(t('cli.up.localAgent', { dir: agentDir, pid: String(agent.pid ?? '-') }));
  }
  process.stdout.write(`${lines.join('\n')}\n\n${t('cli.up.stop')}\n`);

  const shutdown = async () => {
    await agent?.stop();
    await collector.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}
