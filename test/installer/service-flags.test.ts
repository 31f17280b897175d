/**
 * The agent runs with the same V8 flags on Linux (the systemd unit's ExecStart) and on Windows
 * (the command line the MSI's service host builds, installer/windows/service-host.c). That the
 * bundled Node accepts them is deb.test.ts's (the installed agent started with the unit's flags);
 * wine.test.ts runs the real service host, with Node 22 under wine.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers.js';

function unitFlags(): string[] {
  const unit = readFileSync(join(REPO, 'installer/linux/mamori-agent.service'), 'utf8');
  const m = /^ExecStart=\/usr\/lib\/mamori-agent\/node\/bin\/node ((?:--\S+ )+)\/usr\/lib\/mamori-agent\/mamori-agent\.mjs /m.exec(unit);
  expect(m, 'ExecStart: node, its flags, the bundle').not.toBeNull();
  return m![1]!.trim().split(' ');
}

function serviceHostFlags(): string[] {
  const source = readFileSync(join(REPO, 'installer/windows/service-host.c'), 'utf8');
  const m = /L"\\"%ls\\\\node\.exe\\" ((?:--\S+ )+)\\"%ls\\\\mamori-agent\.mjs\\" %ls"/.exec(source);
  expect(m, "the service host's command: node.exe, its flags, the bundle").not.toBeNull();
  return m![1]!.trim().split(' ');
}

describe("the agent service's V8 flags", () => {
  it('are the same in the Linux unit and the Windows service host', () => {
    const flags = unitFlags();
    expect(flags.length).toBeGreaterThan(0);
    expect(serviceHostFlags()).toEqual(flags);
  });
});
