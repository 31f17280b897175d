import type { CheckDefinition } from '../types.js';
import { UsbMediaFacts } from './facts.js';

export const definition: CheckDefinition<UsbMediaFacts> = {
  id: 'usb-media',
  title: { ja: 'USB記録媒体', en: 'USB storage media' },
  facts: UsbMediaFacts,
  params: { sysfsRoot: '/sys', enforcement: 'audit', mountinfoPath: '/proc/self/mountinfo', modprobeDirs: ['/etc/modprobe.d', '/usr/lib/modprobe.d', '/lib/modprobe.d', '/run/modprobe.d'], usbguardDaemonConfPath: '/etc/usbguard/usbguard-daemon.conf', usbguardRulesPath: '/etc/usbguard/rules.conf', procRoot: '/proc', findPath: '/usr/bin/find' },
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
};
