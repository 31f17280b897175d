/**
 * A TEST DOUBLE OF powershell.exe's I/O BEHAVIOUR ONLY, for running the agent's real PowerShell
 * hosts and real Windows collectors on Linux: a Node child process that reads stdin the way
 * `powershell.exe -Command -` does (one framed `& { … }` block per request, see
 * agent/probes/powershell-host.ts), prints the begin marker, then the recorded output of the
 * check script it recognises by the document schema named in the script, then the end marker.
 * It does not run PowerShell code: what the scripts print comes from a replay recording.
 *
 * A script whose schema is listed in `gates` is answered only once the gate file exists —
 * a Windows Update search that takes as long as the test wants, or hangs.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PowerShellProcess } from '../../agent/probes/powershell-host.js';

const DOUBLE = `
const { existsSync } = require('node:fs');
const answers = JSON.parse(process.env.FAKE_PS_ANSWERS);
const gates = JSON.parse(process.env.FAKE_PS_GATES);
const rl = require('node:readline').createInterface({ input: process.stdin });
let frame = null; const queue = []; let busy = false;
rl.on('line', (l) => {
  const begin = /^\\[Console\\]::Out\\.WriteLine\\('(<<<MAMORI-BEGIN [^']*>>>)'\\)/.exec(l);
  const end = /^\\[Console\\]::Out\\.WriteLine\\('(<<<MAMORI-END [^']*>>>)'\\)/.exec(l);
  if (begin) frame = { begin: begin[1], body: [] };
  else if (end && frame) { queue.push({ ...frame, end: end[1] }); frame = null; pump(); }
  else if (frame) frame.body.push(l);
  else if (l === 'exit') { queue.push('exit'); pump(); }
});
rl.on('close', () => process.exit(0));
async function pump() {
  if (busy) return; busy = true;
  while (queue.length) {
    const req = queue.shift();
    if (req === 'exit') process.exit(0);
    const text = req.body.join('\\n');
    const schema = (/schema = '([^']+)'/.exec(text) || [])[1] || '';
    const gate = gates[schema];
    if (gate) while (!existsSync(gate)) await new Promise((r) => setTimeout(r, 20));
    process.stdout.write(req.begin + '\\r\\n' + (answers[schema] ?? '') + '\\r\\n' + req.end + '\\r\\n');
  }
  busy = false;
}
`;

export interface FakePowerShell {
  spawn: () => PowerShellProcess;
  /** How many processes were started, per schema they were first asked for (diagnostics). */
  readonly spawned: PowerShellProcess[];
  killAll(): void;
}

/**
 * A spawner of powershell.exe doubles answering with the recording in `recordingDir`: each
 * `<key>.out` is the answer to the script whose document schema it holds.
 */
export function fakePowerShell(recordingDir: string, keys: readonly string[], gates: Record<string, string> = {}): FakePowerShell {
  const answers: Record<string, string> = {};
  for (const key of keys) {
    const out = readFileSync(join(recordingDir, `${key}.out`), 'utf8').trim();
    const schema = (JSON.parse(out) as { schema?: string }).schema;
    if (schema) answers[schema] = out;
  }
  const spawned: PowerShellProcess[] = [];
  return {
    spawned,
    spawn: () => {
      const p = spawn(process.execPath, ['-e', DOUBLE], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, FAKE_PS_ANSWERS: JSON.stringify(answers), FAKE_PS_GATES: JSON.stringify(gates) } });
      spawned.push(p);
      return p;
    },
    killAll: () => {
      for (const p of spawned) p.kill();
    },
  };
}
