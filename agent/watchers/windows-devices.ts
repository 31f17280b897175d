/**
 * Windows device watcher: a second long-lived PowerShell process subscribes to WMI events and
 * prints one JSON line per event; each line re-runs the usb-media check at once.
 *
 * Events (platform-probes.md §1.1 step 4): Win32_VolumeChangeEvent (EventType 2 arrival,
 * 3 removal; jacauc/LaptopScripts USBEvents.ps1) and __InstanceCreationEvent /
 * __InstanceDeletionEvent on Win32_DiskDrive WITHIN 1 (WMI polls every second), which also
 * covers disks without a volume. Like the probe host it runs
 * `powershell.exe -NoProfile -NonInteractive -Command -` with the script on stdin.
 */
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { PowerShellProcess, PowerShellSpawner } from '../probes/powershell-host.js';
import { spawnWindowsPowerShell } from '../probes/powershell-host.js';
import type { Trigger, Watcher } from './types.js';

/** The watch script: runs until the process is killed. One JSON object per line. */
export const DEVICE_WATCH_SCRIPT = [
  '& {',
  '[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding($false)',
  "$ErrorActionPreference = 'Stop'",
  "Register-CimIndicationEvent -ClassName Win32_VolumeChangeEvent -SourceIdentifier 'mamori.volume' | Out-Null",
  "Register-CimIndicationEvent -Query \"SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_DiskDrive'\" -SourceIdentifier 'mamori.disk-added' | Out-Null",
  "Register-CimIndicationEvent -Query \"SELECT * FROM __InstanceDeletionEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_DiskDrive'\" -SourceIdentifier 'mamori.disk-removed' | Out-Null",
  "[Console]::Out.WriteLine('{\"kind\":\"ready\"}'); [Console]::Out.Flush()",
  'while ($true) {',
  '  $e = Wait-Event',
  '  $n = $e.SourceEventArgs.NewEvent',
  "  $line = [ordered]@{ kind = $e.SourceIdentifier; at = $e.TimeGenerated.ToUniversalTime().ToString('o') }",
  "  if ($e.SourceIdentifier -eq 'mamori.volume') { $line.eventType = [int]$n.EventType; $line.drive = [string]$n.DriveName }",
  '  else { $line.pnpDeviceId = [string]$n.TargetInstance.PNPDeviceID; $line.interfaceType = [string]$n.TargetInstance.InterfaceType }',
  '  [Console]::Out.WriteLine((ConvertTo-Json -InputObject $line -Compress)); [Console]::Out.Flush()',
  '  Remove-Event -EventIdentifier $e.EventIdentifier',
  '}',
  '}',
  '',
  '',
].join('\n');

const EventLine = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ready') }),
  z.object({ kind: z.literal('mamori.volume'), at: z.string(), eventType: z.number().int(), drive: z.string().nullable().optional() }),
  z.object({ kind: z.enum(['mamori.disk-added', 'mamori.disk-removed']), at: z.string(), pnpDeviceId: z.string().nullable().optional(), interfaceType: z.string().nullable().optional() }),
]);

/** A device event worth re-checking usb-media for, with a reason for the log. */
export interface DeviceEvent {
  reason: string;
}

/**
 * Parse one line of the watch script. Returns the event to act on, null for lines that are
 * valid but not a device change (ready, volume "configuration changed"/"docking"), and
 * undefined for lines that are not ours (noise, partial writes).
 */
export function parseDeviceEventLine(line: string): DeviceEvent | null | undefined {
  const text = line.replace(/^\uFEFF/, '').trim();
  if (!text.startsWith('{')) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = EventLine.safeParse(raw);
  if (!parsed.success) return undefined;
  const e = parsed.data;
  if (e.kind === 'ready') return null;
  if (e.kind === 'mamori.volume') {
    // Win32_VolumeChangeEvent.EventType: 1 configuration changed, 2 arrival, 3 removal, 4 docking.
    if (e.eventType === 2) return { reason: `volume ${e.drive ?? ''} arrived`.replace('  ', ' ') };
    if (e.eventType === 3) return { reason: `volume ${e.drive ?? ''} removed`.replace('  ', ' ') };
    return null;
  }
  return { reason: `${e.kind === 'mamori.disk-added' ? 'disk added' : 'disk removed'}: ${e.pnpDeviceId ?? 'unknown device'}` };
}

export interface WindowsDeviceWatcherOptions {
  spawn?: PowerShellSpawner;
  /** First restart delay; doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  log?: { warn(message: string, meta?: Record<string, unknown>): void };
}

export class WindowsDeviceWatcher implements Watcher {
  readonly name = 'windows-devices';
  private proc: PowerShellProcess | undefined;
  private stopped = true;
  private restartTimer: NodeJS.Timeout | undefined;
  private backoff: number;
  /** Processes started (1 + restarts). */
  spawnCount = 0;

  constructor(private readonly opts: WindowsDeviceWatcherOptions = {}) {
    this.backoff = opts.backoffMs ?? 1_000;
  }

  async start(trigger: Trigger): Promise<void> {
    this.stopped = false;
    this.launch(trigger);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
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
      this.opts.log?.warn('device watcher could not start PowerShell', { error: (err as Error).message });
      this.scheduleRestart(trigger);
      return;
    }
    this.spawnCount += 1;
    this.proc = proc;
    proc.stdout.setEncoding('utf8');
    proc.stdin.on('error', () => undefined);
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const event = parseDeviceEventLine(line);
      if (event === null && line.includes('"ready"')) this.backoff = this.opts.backoffMs ?? 1_000;
      if (event) trigger('usb-media', event.reason);
    });
    proc.stderr.resume();
    const gone = () => {
      if (this.proc !== proc) return;
      this.proc = undefined;
      this.opts.log?.warn('device watcher PowerShell exited; restarting');
      this.scheduleRestart(trigger);
    };
    proc.once('exit', gone);
    proc.once('error', gone);
    proc.stdin.write(DEVICE_WATCH_SCRIPT);
  }

  private scheduleRestart(trigger: Trigger): void {
    if (this.stopped) return;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs ?? 60_000);
    this.restartTimer = setTimeout(() => this.launch(trigger), delay);
  }
}
