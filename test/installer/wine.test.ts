/**
 * The MSI installed by wine's msiexec (Debian's wine 8): files, the configure custom action,
 * the mamori-agent service through wine's Service Control Manager and the service host; the agent
 * enrolls with a TLS collector started here and its events arrive; msiexec /x stops the service
 * (the host closes the agent's stdin: it says "stopping") and the uninstall action says "uninstalling".
 *
 * One deviation from the released MSI: wine 8 cannot start Node 24's node.exe (V8 aborts with
 * "Fatal process out of memory: SegmentedTable::InitializeTable" at start-up), so this MSI is
 * built with `--windows-node` around the Node 22 LTS node.exe. Everything else is the real package.
 * Not proven here: real Windows (Windows Installer, SCM failure actions, icacls semantics, WMI/registry
 * probes — the live checks report unknown under wine).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { AgentConfig } from '../../src/shared/config/agent.js';
import { createLogger } from '../../src/shared/log.js';
import { initTls } from '../../src/shared/tls/material.js';
import { requireTools, skipReal } from '../helpers/linux-real.js';
import { REPO, VERSION, run, waitFor } from './helpers.js';
import { wineIn, z } from './wine.js';

/** Node LTS whose node.exe starts under wine 8 (see the file comment). */
const WINE_NODE = '22.23.3';
const TOOLS = ['/usr/bin/wine', '/usr/bin/wineserver', '/usr/bin/wixl', '/usr/bin/msibuild', '/usr/bin/x86_64-w64-mingw32-gcc'];
const PACKAGES = 'wine wine64 wixl wixl-data msitools gcc-mingw-w64-x86-64-win32';

let work: string;
let prefix: string;
let msi: string;
let collector: RunningCollector;
let wine: ReturnType<typeof wineIn>;

const programData = () => join(prefix, 'drive_c/ProgramData/mamori');

describe.skipIf(skipReal(TOOLS, PACKAGES))('mamori-agent .msi under wine', { timeout: 240_000 }, () => {
  beforeAll(async () => {
    requireTools(TOOLS, PACKAGES);
    work = mkdtempSync(join(tmpdir(), 'mamori-wine-'));
    prefix = join(work, 'prefix');
    mkdirSync(prefix);
    wine = wineIn(work, prefix);
    const out = join(work, 'pkg');
    const built = await run(process.execPath, [join(REPO, 'scripts/package.mjs'), 'msi', '--out', out, '--windows-node', WINE_NODE], { cwd: REPO, timeoutMs: 240_000 });
    if (built.code !== 0) throw new Error(built.stderr);
    msi = join(out, `mamori-agent-${VERSION}-x64.msi`);
    // Node 22 refuses wine's default Windows version; Windows 10 it accepts.
    const cfg = await wine(['winecfg', '/v', 'win10']);
    if (cfg.code !== 0) throw new Error(`winecfg: ${cfg.out}`);
    const { material } = await initTls(join(work, 'collector'));
    collector = await startCollector({ dataDir: join(work, 'collector'), tls: material, log: createLogger({ component: 'collector', console: false }) });
  }, 300_000);

  afterAll(async () => {
    if (prefix) await run('wineserver', ['-k'], { env: { ...process.env, WINEPREFIX: prefix } }).catch(() => undefined);
    await collector?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('msiexec /qn with the silent properties installs, configures and starts the service; the agent reports', async () => {
    const { token } = await createEnrollmentToken(collector.store, { segment: 'internet', expiresInMs: 10 * 60_000, singleUse: true, note: 'wine test' });
    const installLog = join(work, 'install.log');
    const r = await wine(['msiexec', '/i', z(msi), '/qn', '/l*v', z(installLog), `COLLECTOR=${collector.agentUrl}`, `TOKEN=${token}`, `CA_PIN=${collector.caFingerprint}`, 'SEGMENT=internet']);
    expect(r.code, r.out).toBe(0);
    for (const f of ['mamori-service.exe', 'node.exe', 'mamori-agent.mjs', 'config/sources.yml']) expect(existsSync(join(prefix, 'drive_c/Program Files/mamori', f)), f).toBe(true);
    const config = AgentConfig.parse(parse(readFileSync(join(programData(), 'agent.yml'), 'utf8')));
    expect(config).toMatchObject({ collector: collector.agentUrl, stateDir: 'C:\\ProgramData\\mamori' });
    // The service runs from a quoted path (an unquoted "C:\Program Files\…" would let C:\Program.exe run as SYSTEM).
    const imagePath = await wine(['reg', 'query', 'HKLM\\System\\CurrentControlSet\\Services\\mamori-agent', '/v', 'ImagePath']);
    expect(imagePath.out).toMatch(/ImagePath\s+REG_(EXPAND_)?SZ\s+"C:\\Program Files\\mamori\\mamori-service\.exe" --console-log /);

    const identity = await waitFor('identity.json written by the service', () => (existsSync(join(programData(), 'identity.json')) ? (JSON.parse(readFileSync(join(programData(), 'identity.json'), 'utf8')) as { agentId: string; segment: string }) : undefined), 90_000);
    expect(identity.segment).toBe('internet');
    // Enrolled: the token is no longer in agent.yml.
    await waitFor('the token removed from agent.yml', () => (readFileSync(join(programData(), 'agent.yml'), 'utf8').includes(token) ? undefined : true), 60_000);
    await waitFor('the started notice of the Windows agent', async () => ((await collector.store.listEvents(identity.agentId, 0, 1000)).some((e) => e.event.kind === 'agent.notice' && e.event.notice === 'started') ? true : undefined), 60_000);
    const record = await collector.store.getAgent(identity.agentId);
    expect(record?.os.platform).toBe('windows');
    expect(record?.agentVersion).toBe(VERSION);
    // The collector's acknowledgement reached the agent's disk (outbox ack.json): the agent got
    // past its first durable write on Windows and is still the running service.
    await waitFor('outbox/ack.json on the Windows side', () => (existsSync(join(programData(), 'outbox', 'ack.json')) ? true : undefined), 30_000).catch((err: Error) => {
      const consoleLog = join(programData(), 'logs', 'service-console.log');
      throw new Error(`${err.message}; agent console:\n${existsSync(consoleLog) ? readFileSync(consoleLog, 'utf8').slice(-1500) : '(none)'}`);
    });
    const query = await wine(['sc', 'query', 'mamori-agent']);
    expect(query.out).toMatch(/STATE\s+:\s+4\s+RUNNING/);
  });

  it('msiexec /x stops the service gracefully and tells the collector "uninstalling"; ProgramData stays', async () => {
    const { agentId } = JSON.parse(readFileSync(join(programData(), 'identity.json'), 'utf8')) as { agentId: string };
    const r = await wine(['msiexec', '/x', z(msi), '/qn']);
    expect(r.code, r.out).toBe(0);
    const events = await collector.store.listEvents(agentId, 0, 1000);
    const notices = events.flatMap((e) => (e.event.kind === 'agent.notice' ? [e.event] : []));
    // The host closed the agent's stdin: the agent took its SIGTERM path and said so before exiting.
    expect(notices.find((n) => n.notice === 'stopping')?.detail).toMatchObject({ signal: 'SIGTERM' });
    expect(notices.some((n) => n.notice === 'uninstalling')).toBe(true);
    expect(existsSync(join(prefix, 'drive_c/Program Files/mamori/node.exe'))).toBe(false);
    expect(existsSync(join(programData(), 'identity.json'))).toBe(true);
  });
});
