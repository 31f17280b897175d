/**
 * Keeps the local agent of `mamori up` running, as systemd's Restart=always (installer/linux/
 * mamori-agent.service) and the Windows service's failure actions (installer/windows/
 * service-host.c) do for an installed agent: whenever the agent process exits without being
 * asked to — its watchdog stopped it over its CPU or memory limit (exit code 70), a crash, a
 * kill — it is started again after `restartDelayMs`. It never gives up; an agent that cannot
 * be started again stays a violation on the collector (AGENT-008 after a watchdog stop,
 * AGENT-001 when it falls silent).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import type { Logger } from '../shared/log.js';
import { msg } from '../shared/i18n/index.js';
import type { Msg } from '../shared/i18n/index.js';
import { t } from './lang.js';

export interface SupervisorOptions {
  /** The program and its arguments (the agent: node, the CLI, `agent run …`). */
  command: string;
  args: readonly string[];
  /** Wait before a restart (default 5 s, as RestartSec=5 of the unit). */
  restartDelayMs?: number;
  stdio?: StdioOptions;
  log: Logger;
  /** Called with each exit the supervisor did not ask for (tests, the console line). */
  onExit?: (exit: { code: number | null; signal: NodeJS.Signals | null; restarts: number }) => void;
}

export class AgentSupervisor {
  private child: ChildProcess | undefined;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  /** How many times the agent was started again. */
  restarts = 0;

  constructor(private readonly o: SupervisorOptions) {}

  /** The pid of the running agent, if one runs. */
  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  start(): void {
    this.stopping = false;
    this.spawnAgent();
  }

  private spawnAgent(): void {
    const child = spawn(this.o.command, [...this.o.args], { stdio: this.o.stdio ?? ['ignore', 'inherit', 'inherit'] });
    this.child = child;
    let gone = false;
    // A process that cannot be spawned emits 'error' and no 'exit': either way it is started again.
    const restart = (code: number | null, signal: NodeJS.Signals | null, why: Msg) => {
      if (gone || this.stopping) return;
      gone = true;
      this.o.onExit?.({ code, signal, restarts: this.restarts });
      const delay = this.o.restartDelayMs ?? 5000;
      this.o.log.warn(t('cli.up.agentRestart', { why, seconds: delay / 1000 }), { code, signal });
      this.timer = setTimeout(() => {
        if (this.stopping) return;
        this.restarts++;
        this.spawnAgent();
      }, delay);
    };
    child.once('error', (err) => restart(null, null, msg('cli.up.agentNotStarted', { detail: err.message })));
    child.once('exit', (code, signal) => restart(code, signal, msg('cli.up.agentExited', { how: signal ?? `code ${code}` })));
  }

  /** Stop the agent (SIGTERM: it says goodbye to the collector) and do not start it again. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }
}
