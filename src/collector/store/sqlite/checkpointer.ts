/**
 * Checkpoints of the store's WAL on a thread of their own, beside the writer thread.
 *
 * By default SQLite checkpoints on the connection that commits, once the WAL holds 1,000 pages:
 * the writer thread would copy every page of the commit into the database file and fsync it
 * before it could start the next group commit. Here the writer's connection never checkpoints
 * (wal_autocheckpoint = 0); a second connection on this thread copies the pages after each
 * commit while the writer goes on (a PASSIVE checkpoint never blocks a writer:
 * https://www.sqlite.org/c3ref/wal_checkpoint_v2.html).
 *
 * The WAL only starts again from its beginning when a write transaction begins with every frame
 * already copied (https://www.sqlite.org/wal.html, "Avoiding Excessively Large WAL Files"). A
 * writer that is never idle begins its next commit right after the last one, before this thread
 * has copied it, so the WAL would grow for as long as the load lasts. Once it holds
 * RESTART_AT_FRAMES pages this thread raises a flag and starts no pass while it is up; the writer
 * then runs a RESTART checkpoint itself before its next commit, copies what is left (the commits
 * since this thread's last pass) and the WAL starts again. Should this thread fail, the writer
 * checkpoints as SQLite does by default.
 */
import { once } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** WAL pages (4 KiB) after which the writer restarts the WAL itself: 128 MiB (docs/scaling.md: keep room for it beside the database). */
export const RESTART_AT_FRAMES = 32_768;
/** How often the checkpointer looks at the WAL when no commit told it to (writes other than ingest). */
const IDLE_CHECK_MS = 1_000;
/** Between tries to take the checkpoint lock from the thread's pass (WalCheckpoints.truncate). */
const TRUNCATE_RETRY_MS = 5;
/** SQLite's own wal_autocheckpoint, which the writer goes back to should the checkpointer thread fail. */
const SQLITE_DEFAULT_AUTOCHECKPOINT = 1_000;

/** A row of PRAGMA wal_checkpoint: busy 1 when it could not finish; WAL frames; frames copied. */
interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

/** What the checkpointer thread is started with (its workerData). */
export interface CheckpointerData {
  role: 'checkpointer';
  path: string;
  port: MessagePort;
  /** Int32 [0]: 1 while the writer wants the checkpoint lock (to restart or empty the WAL): the thread starts no pass. */
  restartWanted: SharedArrayBuffer;
  restartAtFrames: number;
}

/** The writer's side: tell the checkpointer of a commit, restart the WAL when it asks. */
export class WalCheckpoints {
  private readonly flag: Int32Array;
  /** Set when the thread stopped or was stopped: the writer no longer tells it of commits. */
  private failed = false;
  private exited = false;
  /** Settled when the thread has opened the database and the writer's connection stopped checkpointing (attach). */
  ready: Promise<void> = Promise.resolve();

  constructor(
    private readonly port: MessagePort,
    restartWanted: SharedArrayBuffer,
    /** The checkpointer thread. */
    readonly worker: Worker,
  ) {
    this.flag = new Int32Array(restartWanted);
    worker.once('exit', () => (this.exited = true));
  }

  /**
   * The writer's connection: no checkpoints of its own once the thread is ready (until then
   * SQLite's default), SQLite's default again if the thread ends.
   */
  attach(db: Database.Database): void {
    this.ready = new Promise<void>((resolve) => {
      this.port.once('message', () => {
        if (!this.failed && db.open) db.pragma('wal_autocheckpoint = 0');
        resolve();
      });
    });
    // The thread's one message does not keep the writer's process alive.
    this.port.unref();
    const fallBack = () => {
      if (this.failed) return;
      this.failed = true;
      if (db.open) db.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT}`);
    };
    this.worker.once('error', fallBack);
    this.worker.once('exit', fallBack);
  }

  /** Before a write transaction: restart the WAL if the checkpointer saw it grow past RESTART_AT_FRAMES. */
  beforeCommit(db: Database.Database): void {
    // Inside a transaction (a savepoint of the SQL runner) no checkpoint can run: after it.
    if (Atomics.load(this.flag, 0) === 0 || db.inTransaction) return;
    const [result] = db.pragma('wal_checkpoint(RESTART)') as CheckpointResult[];
    // Busy: a reader still uses the WAL (another process); tried again before the next commit.
    if (result?.busy === 0) Atomics.store(this.flag, 0, 0);
  }

  /**
   * Copy the whole WAL into the database file and truncate it (agent-keys.ts). A checkpoint
   * never waits for another one, so with the flag up (the thread starts no pass) this waits for
   * the thread's current pass, up to 5 s. False when it could not be emptied (inside a
   * transaction, or a reader of another process still uses it).
   */
  truncate(db: Database.Database): boolean {
    if (db.inTransaction) return false;
    Atomics.store(this.flag, 0, 1);
    try {
      for (let waitedMs = 0; ; waitedMs += TRUNCATE_RETRY_MS) {
        const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as CheckpointResult[];
        if (result?.busy === 0) return true;
        if (waitedMs >= 5_000) return false;
        // The writer's thread sleeps (nothing else runs on it meanwhile anyway: the SQL is synchronous).
        Atomics.wait(this.flag, 1, 0, TRUNCATE_RETRY_MS);
      }
    } finally {
      Atomics.store(this.flag, 0, 0);
    }
  }

  afterCommit(): void {
    if (!this.failed) this.port.postMessage('committed');
  }

  /** Ends the thread once its pass is done; the writer's connection, closed after it, is the last and checkpoints the rest. */
  async stop(): Promise<void> {
    this.failed = true;
    if (this.exited) return;
    const exited = once(this.worker, 'exit');
    // Unref'd while it runs (an idle store does not keep the process alive); waited for here.
    this.worker.ref();
    this.port.postMessage('close');
    await exited;
    this.port.close();
  }
}

/** Start the checkpointer thread on `path` from `workerFile` (the writer thread's file, run with role 'checkpointer'). */
export function startCheckpointer(path: string, workerFile: string | URL, restartAtFrames = RESTART_AT_FRAMES): WalCheckpoints {
  const { port1, port2 } = new MessageChannel();
  // [0] the flag; [1] stays 0, waited on to sleep (WalCheckpoints.truncate).
  const restartWanted = new SharedArrayBuffer(8);
  const data: CheckpointerData = { role: 'checkpointer', path, port: port2, restartWanted, restartAtFrames };
  const worker = new Worker(workerFile, { workerData: data, transferList: [port2] });
  worker.unref();
  return new WalCheckpoints(port1, restartWanted, worker);
}

/** The checkpointer thread: a PASSIVE checkpoint after each commit and every IDLE_CHECK_MS. */
export function runCheckpointer({ path, port, restartWanted, restartAtFrames }: CheckpointerData): void {
  const flag = new Int32Array(restartWanted);
  const db = new Database(path, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  let scheduled = false;
  const pass = () => {
    scheduled = false;
    // While the flag is up the writer restarts the WAL, and copies what is left itself. A
    // checkpoint is never waited for (not even with a busy handler: https://www.sqlite.org/c3ref/wal_checkpoint_v2.html),
    // so this thread starts none until the writer has had the checkpoint lock.
    if (!db.open || Atomics.load(flag, 0) === 1) return;
    const [result] = db.pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[];
    if (result && result.log >= restartAtFrames) Atomics.store(flag, 0, 1);
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    // Commits that arrive during a pass are taken by the next one.
    setImmediate(pass);
  };
  const timer = setInterval(schedule, IDLE_CHECK_MS);
  port.postMessage('ready');
  port.on('message', (message: 'committed' | 'close') => {
    if (message === 'committed') return schedule();
    clearInterval(timer);
    db.close();
    port.close();
  });
}
