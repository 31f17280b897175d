/**
 * usb-media collector on Windows: one PowerShell script (windows-script.ts) reads the USB
 * disks and the storage policy; windows-parse.ts turns its JSON into facts.
 */
import type { Collector } from '../types.js';
import { unknownOutput } from '../types.js';
import type { UsbMediaFacts } from './facts.js';
import { readPowerShellJson } from '../software/windows-common.js';
import { USB_MEDIA_SCRIPT } from './windows-script.js';
import { UsbMediaDocument, usbMediaFacts } from './windows-parse.js';

/** Probe key of the script; also the file name in a recording (`win.usb-media.out`). */
export const USB_MEDIA_KEY = 'win.usb-media';

export const collect: Collector<UsbMediaFacts> = async (ctx) => {
  const outcome = await ctx.probes.powershell(USB_MEDIA_KEY, USB_MEDIA_SCRIPT, { timeoutMs: 60_000, lane: 'interactive' });
  const doc = readPowerShellJson(USB_MEDIA_KEY, outcome, UsbMediaDocument);
  if (!doc.ok) return unknownOutput(doc.why);
  const enforcement = ctx.params.enforcement === 'block' ? 'block' : 'audit';
  return usbMediaFacts(doc.data, enforcement);
};
