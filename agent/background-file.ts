/**
 * A small file the agent rewrites after every check (its findings, the status file of
 * `mamori status`), written on libuv's I/O threads instead of the main thread: on a busy disk
 * a write and its rename took ~100 ms, and the main thread is where the next USB event is
 * handled. Each write goes to `<path>.tmp` and is renamed over the file, so a reader sees the
 * old content or the new, never part of one. Writes never overlap; when several come while one
 * is on disk, only the newest is written after it.
 */
import { chmod, rename, writeFile } from 'node:fs/promises';

export interface BackgroundFileOptions {
  /** File mode; also set explicitly, since the process umask would narrow it. */
  mode: number;
  /** A write that failed (the file keeps its previous content; the next write tries again). */
  onError: (err: NodeJS.ErrnoException) => void;
}

export class BackgroundFile {
  private next: string | undefined;
  private writing: Promise<void> | undefined;

  constructor(
    readonly path: string,
    private readonly opts: BackgroundFileOptions,
  ) {}

  /** Write this content soon (replacing any content not yet written). */
  write(content: string): void {
    this.next = content;
    this.writing ??= this.drain();
  }

  /** Resolves when everything asked for so far is on disk (or failed). */
  async idle(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    while (this.next !== undefined) {
      const content = this.next;
      this.next = undefined;
      const tmp = `${this.path}.tmp`;
      try {
        await writeFile(tmp, content, { mode: this.opts.mode });
        if (process.platform !== 'win32') await chmod(tmp, this.opts.mode);
        await rename(tmp, this.path);
      } catch (err) {
        this.opts.onError(err as NodeJS.ErrnoException);
      }
    }
    this.writing = undefined;
  }
}
