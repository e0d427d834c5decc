import type { RecordedEvent } from '@lxr/events';
import type { Transaction } from 'kysely';

/**
 * A read model kept in PostgreSQL and fed from the event log. The runner calls `apply` for
 * each event in log order, in the same transaction that advances the projection's checkpoint,
 * so a crash never applies an event twice or skips one. `reset` empties the read model; the
 * runner's `rebuild` calls it and replays the log from zero.
 *
 * @example
 * const containers: Projection<GatewayDb> = {
 *   name: 'containers', version: 1, handles: ['ContainerRequested', 'ContainerRemoved'],
 *   async apply(trx, event) { … }, async reset(trx) { await trx.deleteFrom('containers').execute(); },
 * };
 */
export interface Projection<DB> {
  /** Stable name; the checkpoint is kept under it. */
  readonly name: string;
  /** Bump to force a rebuild from zero when the read model's shape or logic changes. */
  readonly version: number;
  /** Event types it reads; the checkpoint moves past others without calling `apply`. */
  readonly handles: readonly string[];
  /** Applies one event of a handled type, in the transaction that moves the checkpoint past it. */
  apply(trx: Transaction<DB>, event: RecordedEvent): Promise<void>;
  /** Empties the read model (before a rebuild), in the transaction that resets the checkpoint. */
  reset(trx: Transaction<DB>): Promise<void>;
}

/** Runs projections against the log; one runner per process, many processes may run it. */
export interface ProjectionRunner {
  /** Processes everything appended so far, then resolves; safe to call concurrently. */
  catchUp(): Promise<void>;
  /** Empties one projection's read model and replays the whole log into it. */
  rebuild(name: string): Promise<void>;
  /** The global position each projection has processed up to. */
  checkpoints(): Promise<Readonly<Record<string, number>>>;
  /** Starts following the log (woken by LISTEN/NOTIFY, polling as a fallback). */
  start(): Promise<void>;
  /** Stops following and waits for the batch in progress. */
  stop(): Promise<void>;
}
