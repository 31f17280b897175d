/**
 * Windows device watcher: a second long-lived PowerShell process subscribes to WMI events and
 * prints one JSON line per event; each line re-runs the usb-media check at once.
 *
 * Events (platform-probes.md §1.1 step 4): Win32_VolumeChangeEvent (EventType 2 arrival,
 * 3 removal; jacauc/LaptopScripts USBEvents.ps1) and __InstanceCreationEvent /
 * __InstanceDeletionEvent on Win32_DiskDrive WITHIN 1 (WMI polls every second), which also
 * covers disks without a volume. Like the probe host it runs
 * `powershell.exe -NoProfile -NonInteractive -Command -` with the script on stdin.
 *
 * Supervision. Under `-Command -` a script that fails does not end PowerShell: it goes back to
 * reading stdin and waits for ever, so waiting for the process to exit is not enough. The
 * script therefore prints an error line and exits (`[Environment]::Exit(1)`) on any failure,
 * says `ready` once its subscriptions are registered, and a `heartbeat` whenever
 * HEARTBEAT_SECONDS pass without an event (Wait-Event -Timeout). The watcher kills and restarts
 * (with backoff) a process that reports an error, exits, is not ready within `readyTimeoutMs`
 * or is silent for `silenceTimeoutMs`. After `downAfterFailures` failed starts in a row it
 * reports the watcher as down (agent.notice `watcher.down`, AGENT-005 on the collector), and
 * `watcher.up` once it is ready again.
 */
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { PowerShellProcess, PowerShellSpawner } from '../probes/powershell-host.js';
import { spawnWindowsPowerShell } from '../probes/powershell-host.js';
import type { Trigger, Watcher, WatcherHealth } from './types.js';

/** How often the script says it is alive when no event came. */
export const HEARTBEAT_SECONDS = 30;

/** The watch script: runs until the process is killed or fails. One JSON object per line. */
export const DEVICE_WATCH_SCRIPT = [
  '& {',
  '[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding($false)',
  "$ErrorActionPreference = 'Stop'",
  'try {',
  "  Register-CimIndicationEvent -ClassName Win32_VolumeChangeEvent -SourceIdentifier 'mamori.volume' | Out-Null",
  "  Register-CimIndicationEvent -Query \"SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_DiskDrive'\" -SourceIdentifier 'mamori.disk-added' | Out-Null",
  "  Register-CimIndicationEvent -Query \"SELECT * FROM __InstanceDeletionEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_DiskDrive'\" -SourceIdentifier 'mamori.disk-removed' | Out-Null",
  "  [Console]::Out.WriteLine('{\"kind\":\"ready\"}'); [Console]::Out.Flush()",
  '  while ($true) {',
  `    $e = Wait-Event -Timeout ${HEARTBEAT_SECONDS}`,
  "    if ($null -eq $e) { [Console]::Out.WriteLine('{\"kind\":\"heartbeat\"}'); [Console]::Out.Flush(); continue }",
  '    $n = $e.SourceEventArgs.NewEvent',
  "    $line = [ordered]@{ kind = $e.SourceIdentifier; at = $e.TimeGenerated.ToUniversalTime().ToString('o') }",
  "    if ($e.SourceIdentifier -eq 'mamori.volume') { $line.eventType = [int]$n.EventType; $line.drive = [string]$n.DriveName }",
  '    else { $line.pnpDeviceId = [string]$n.TargetInstance.PNPDeviceID; $line.interfaceType = [string]$n.TargetInstance.InterfaceType }',
  '    [Console]::Out.WriteLine((ConvertTo-Json -InputObject $line -Compress)); [Console]::Out.Flush()',
  '    Remove-Event -EventIdentifier $e.EventIdentifier',
  '  }',
  '} catch {',
  "  [Console]::Out.WriteLine((ConvertTo-Json -InputObject ([ordered]@{ kind = 'error'; message = [string]$_.Exception.Message }) -Compress)); [Console]::Out.Flush()",
  '  [Environment]::Exit(1)',
  '}',
  '}',
  '',
  '',
].join('\n');

const EventLine = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ready') }),
  z.object({ kind: z.literal('heartbeat') }),
  z.object({ kind: z.literal('error'), message: z.string() }),
  z.object({ kind: z.literal('mamori.volume'), at: z.string(), eventType: z.number().int(), drive: z.string().nullable().optional() }),
  z.object({ kind: z.enum(['mamori.disk-added', 'mamori.disk-removed']), at: z.string(), pnpDeviceId: z.string().nullable().optional(), interfaceType: z.string().nullable().optional() }),
]);

/** A device event worth re-checking usb-media for, with a reason for the log. */
export interface DeviceEvent {
  reason: string;
}

/** A line of the watch script: what it says about itself, or a device change. */
export type WatchLine = { kind: 'ready' | 'heartbeat' } | { kind: 'error'; message: string } | { kind: 'device'; event: DeviceEvent | null };

type EventLineData = z.infer<typeof EventLine>;

/** The watch script's JSON line, or undefined for lines that are not ours (noise, partial writes). */
function readEventLine(line: string): EventLineData | undefined {
  const text = line.replace(/^\uFEFF/, '').trim();
  if (!text.startsWith('{')) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = EventLine.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

/** The device change a line reports; null for a line that is valid but not one. */
function deviceEventOf(e: EventLineData): DeviceEvent | null {
  if (e.kind === 'ready' || e.kind === 'heartbeat' || e.kind === 'error') return null;
  if (e.kind === 'mamori.volume') {
    // Win32_VolumeChangeEvent.EventType: 1 configuration changed, 2 arrival, 3 removal, 4 docking.
    if (e.eventType === 2) return { reason: `volume ${e.drive ?? ''} arrived`.replace('  ', ' ') };
    if (e.eventType === 3) return { reason: `volume ${e.drive ?? ''} removed`.replace('  ', ' ') };
    return null;
  }
  return { reason: `${e.kind === 'mamori.disk-added' ? 'disk added' : 'disk removed'}: ${e.pnpDeviceId ?? 'unknown device'}` };
}

/** Parse one line of the watch script; undefined for lines that are not ours (noise, partial writes). */
export function parseWatchLine(line: string): WatchLine | undefined {
  const e = readEventLine(line);
  if (!e) return undefined;
  if (e.kind === 'ready' || e.kind === 'heartbeat') return { kind: e.kind };
  if (e.kind === 'error') return { kind: 'error', message: e.message };
  return { kind: 'device', event: deviceEventOf(e) };
}

/**
 * Parse one line of the watch script. Returns the event to act on, null for lines that are
 * valid but not a device change (ready, heartbeat, error, volume "configuration
 * changed"/"docking"), and undefined for lines that are not ours (noise, partial writes).
 */
export function parseDeviceEventLine(line: string): DeviceEvent | null | undefined {
  const e = readEventLine(line);
  return e ? deviceEventOf(e) : undefined;
}

export interface WindowsDeviceWatcherOptions {
  spawn?: PowerShellSpawner;
  /** First restart delay; doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** A process not ready this long after its start is restarted (default 60 s). */
  readyTimeoutMs?: number;
  /** A ready process that prints nothing this long (3 missed heartbeats) is restarted (default 100 s). */
  silenceTimeoutMs?: number;
  /** Failed starts in a row after which the watcher is reported down (default 3). */
  downAfterFailures?: number;
  log?: { warn(message: string, meta?: Record<string, unknown>): void };
}

export class WindowsDeviceWatcher implements Watcher {
  readonly name = 'windows-devices';
  private proc: PowerShellProcess | undefined;
  private stopped = true;
  private restartTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private backoff: number;
  /** Starts that ended before the process was ready, in a row. */
  private failuresInRow = 0;
  private reportedDown = false;
  private health: WatcherHealth | undefined;
  /** Processes started (1 + restarts). */
  spawnCount = 0;

  constructor(private readonly opts: WindowsDeviceWatcherOptions = {}) {
    this.backoff = opts.backoffMs ?? 1_000;
  }

  async start(trigger: Trigger, health?: WatcherHealth): Promise<void> {
    this.stopped = false;
    this.health = health;
    this.launch(trigger);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.watchdog);
    const p = this.proc;
    this.proc = undefined;
    p?.kill();
  }

  private launch(trigger: Trigger): void {
    if (this.stopped) return;
    let proc: PowerShellProcess;
    try {
      proc = (this.opts.spawn ?? spawnWindowsPowerShell)();
    } catch (err) {
      this.fail(trigger, undefined, `PowerShell could not start: ${(err as Error).message}`);
      return;
    }
    this.spawnCount += 1;
    this.proc = proc;
    let ready = false;
    // Until ready: the ready deadline; after: the silence deadline, renewed by every line.
    const arm = (ms: number, why: string) => {
      clearTimeout(this.watchdog);
      this.watchdog = setTimeout(() => this.fail(trigger, proc, why), ms);
    };
    arm(this.opts.readyTimeoutMs ?? 60_000, `not ready within ${this.opts.readyTimeoutMs ?? 60_000} ms`);
    proc.stdout.setEncoding('utf8');
    proc.stdin.on('error', () => undefined);
    createInterface({ input: proc.stdout }).on('line', (line) => {
      if (this.proc !== proc) return;
      const parsed = parseWatchLine(line);
      if (!parsed) return;
      if (parsed.kind === 'error') return this.fail(trigger, proc, `watch script failed: ${parsed.message}`);
      if (parsed.kind === 'ready' && !ready) {
        ready = true;
        this.becameReady();
      }
      if (ready) arm(this.opts.silenceTimeoutMs ?? 100_000, `silent for ${this.opts.silenceTimeoutMs ?? 100_000} ms (no heartbeat)`);
      if (parsed.kind === 'device' && parsed.event) trigger('usb-media', parsed.event.reason);
    });
    proc.stderr.resume();
    proc.once('exit', (code) => this.fail(trigger, proc, `PowerShell exited with code ${code ?? 'null'}`));
    proc.once('error', (err) => this.fail(trigger, proc, `PowerShell could not run: ${err.message}`));
    proc.stdin.write(DEVICE_WATCH_SCRIPT);
  }

  private becameReady(): void {
    this.backoff = this.opts.backoffMs ?? 1_000;
    this.failuresInRow = 0;
    if (this.reportedDown) {
      this.reportedDown = false;
      this.health?.({ state: 'up', watcher: this.name, reason: 'ready again' });
    }
  }

  /** The process (if any) failed: kill it, restart after the backoff, report down after too many failures in a row. */
  private fail(trigger: Trigger, proc: PowerShellProcess | undefined, reason: string): void {
    if (proc && this.proc !== proc) return;
    this.proc = undefined;
    clearTimeout(this.watchdog);
    proc?.kill();
    if (this.stopped) return;
    this.failuresInRow += 1;
    this.opts.log?.warn(`device watcher failed (${reason}); restarting`, { failuresInRow: this.failuresInRow });
    if (!this.reportedDown && this.failuresInRow >= (this.opts.downAfterFailures ?? 3)) {
      this.reportedDown = true;
      this.health?.({ state: 'down', watcher: this.name, reason: reason.slice(0, 500) });
    }
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs ?? 60_000);
    this.restartTimer = setTimeout(() => this.launch(trigger), delay);
  }
}
