/**
 * Windows Application event log entries of the agent, written with eventcreate.exe
 * (Microsoft Learn, "eventcreate": /L APPLICATION /T ERROR|WARNING|INFORMATION /SO source
 * /ID 1–1000 /D description; the source is registered in the Application log on first use,
 * which needs administrator rights — the service runs as LocalSystem). Event Viewer, a SIEM or
 * the helpdesk's remote event log view then shows why a PC never appeared on the collector.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const EVENT_SOURCE = 'mamori-agent';
/** Event ids of the agent (1–1000, eventcreate's range). */
export const EVENT_IDS = { ERROR: 101, WARNING: 102, INFORMATION: 103 } as const;

export type EventType = keyof typeof EVENT_IDS;

export type ExecFile = (file: string, args: string[]) => Promise<unknown>;

const run: ExecFile = (file, args) => promisify(execFile)(file, args, { windowsHide: true, timeout: 15_000 });

/** The argv of one entry (exported for the test that checks it against the documented syntax). */
export function eventCreateArgs(type: EventType, text: string): string[] {
  // eventcreate refuses an empty description; descriptions are kept short (the log has the rest).
  const description = text.replace(/\r?\n/g, ' ').slice(0, 1000) || '-';
  return ['/L', 'APPLICATION', '/T', type, '/SO', EVENT_SOURCE, '/ID', String(EVENT_IDS[type]), '/D', description];
}

/** An event-log writer on Windows; undefined elsewhere (the journal has the agent's log there). */
export function windowsEventLog(platform: NodeJS.Platform = process.platform, exec: ExecFile = run): ((type: EventType, text: string) => Promise<void>) | undefined {
  if (platform !== 'win32') return undefined;
  const exe = join(process.env.SystemRoot ?? 'C:\\Windows', 'System32', 'eventcreate.exe');
  return async (type, text) => {
    await exec(exe, eventCreateArgs(type, text));
  };
}
