/**
 * CheckMemory implementations: a JSON file in the agent's state directory (what a check
 * must remember across runs, e.g. when an update was first seen pending), or memory only.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { CheckMemory } from './checks/types.js';

export class InMemoryCheckMemory implements CheckMemory {
  protected data: Record<string, unknown> = {};
  get<T>(key: string): T | undefined {
    return this.data[key] as T | undefined;
  }
  set(key: string, value: unknown): void {
    this.data[key] = value;
  }
}

/** Persisted after every set (small: a few KB); written to a temp file and renamed so a crash never leaves half a file. */
export class FileCheckMemory extends InMemoryCheckMemory {
  constructor(private readonly path: string) {
    super();
    if (existsSync(path)) {
      try {
        this.data = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      } catch {
        this.data = {};
      }
    }
  }
  override set(key: string, value: unknown): void {
    super.set(key, value);
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.data), { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}

/** One memory per check, namespaced by check id. */
export function scopedMemory(memory: CheckMemory, scope: string): CheckMemory {
  return {
    get: <T>(key: string) => memory.get<T>(`${scope}:${key}`),
    set: (key: string, value: unknown) => memory.set(`${scope}:${key}`, value),
  };
}
