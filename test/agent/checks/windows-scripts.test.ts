/**
 * Windows PowerShell goes on after a failed cmdlet unless told otherwise ($ErrorActionPreference
 * 'Continue' by default, about_Preference_Variables): every script of the USB, software,
 * screen-lock and update checks, of USB blocking and of the device watcher stops at an error and
 * reports it, and none silences errors with -ErrorAction SilentlyContinue.
 */
import { describe, expect, it } from 'vitest';
import { PNP_LIST_SCRIPT, disableCommand } from '../../../agent/enforce/windows-usb.js';
import { OS_PATCHES_SCRIPT, WUA_SEARCH_SCRIPT } from '../../../agent/checks/os-patches/windows-script.js';
import { SCREEN_LOCK_SCRIPT } from '../../../agent/checks/screen-lock/windows-script.js';
import { SOFTWARE_SCRIPT } from '../../../agent/checks/software/windows-script.js';
import { USB_MEDIA_SCRIPT } from '../../../agent/checks/usb-media/windows-script.js';
import { DEVICE_WATCH_SCRIPT } from '../../../agent/watchers/windows-devices.js';

const SCRIPTS = { USB_MEDIA_SCRIPT, SOFTWARE_SCRIPT, SCREEN_LOCK_SCRIPT, OS_PATCHES_SCRIPT, WUA_SEARCH_SCRIPT, PNP_LIST_SCRIPT, DISABLE_SCRIPT: disableCommand('USBSTOR\\DISK&VEN_X\\1&0'), DEVICE_WATCH_SCRIPT };

describe('Windows scripts stop at an error and say so', () => {
  for (const [name, script] of Object.entries(SCRIPTS)) {
    it(name, () => {
      expect(script).toContain("$ErrorActionPreference = 'Stop'");
      expect(script).not.toMatch(/-ErrorAction\s+SilentlyContinue/i);
      expect(script).toMatch(/catch/);
    });
  }
});
