/**
 * Event sources that make the agent re-run a check at once instead of waiting for the next
 * scheduled run (udev add/remove, WMI device arrival, changes in install locations).
 * A watcher only says *which* check to re-run and why; the check then reads the facts.
 * A watcher that cannot start (no udevadm, no /sys/bus/usb …) logs and leaves the schedule
 * to cover it; it never stops the agent.
 */
import type { CheckId } from '../../src/shared/protocol/messages.js';

export type Trigger = (checkId: CheckId, reason: string) => void;

/**
 * A supervised watcher says when it stops working (and when it works again), so a watcher that
 * died is something the administrator sees, not a silent loss of USB hot-plug detection.
 */
export type WatcherHealth = (change: { state: 'down' | 'up'; watcher: string; reason: string }) => void;

export interface Watcher {
  readonly name: string;
  start(trigger: Trigger, health?: WatcherHealth): Promise<void>;
  stop(): Promise<void>;
}
