import type pg from 'pg';
import { isUnpinned, type PreparedRequest } from '../append-request.js';
import { WrongExpectedVersionError } from '../errors.js';
import type { AppendResult } from '../event-store.js';
import { type AppendOutcome, executeAppend } from './append.js';
import { currentStreamVersion } from './read.js';

/** How the store groups concurrent appends into statements. */
export interface AppendQueueOptions {
  /**
   * Append statements in flight at once; default 2 (best on the 2-core bench machine). Appends arriving while all are busy wait and
   * leave together in the next statement: one round trip, one commit (one WAL flush) and one
   * `pg_notify` for all of them. Under light load every append leaves at once.
   */
  readonly concurrency?: number;
  /** Most events in one statement; default 1,000. */
  readonly maxEvents?: number;
}

/** Attempts of one call after lost races against writers in other processes (only `any`/`exists` lose often). */
const MAX_RACES = 50;

interface Job {
  readonly requests: readonly PreparedRequest[];
  readonly streams: readonly string[];
  readonly events: number;
  readonly resolve: (results: AppendResult[]) => void;
  readonly reject: (error: unknown) => void;
  races: number;
  raceCause?: Error;
  /** Run in a statement of its own (after a statement of several calls failed because of one). */
  alone: boolean;
}

/**
 * Group commit on the client. Calls wait in FIFO order; each statement takes the waiting calls that
 * touch none of the streams already taken or in flight (a statement never holds two requests for one
 * stream, and one process never races itself for a stream version). Each call stays all-or-nothing
 * on its own; calls sharing a statement also share its transaction.
 */
export class AppendQueue {
  readonly #pool: pg.Pool;
  readonly #concurrency: number;
  readonly #maxEvents: number;
  readonly #waiting: Job[] = [];
  readonly #busyStreams = new Set<string>();
  #inFlight = 0;
  #idle: (() => void) | undefined;

  constructor(pool: pg.Pool, options: AppendQueueOptions = {}) {
    this.#pool = pool;
    this.#concurrency = Math.max(1, options.concurrency ?? 2);
    this.#maxEvents = Math.max(1, options.maxEvents ?? 1_000);
  }

  append(requests: readonly PreparedRequest[]): Promise<AppendResult[]> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({
        requests,
        streams: requests.map((r) => r.stream),
        events: requests.reduce((n, r) => n + r.events.length, 0),
        resolve,
        reject,
        races: 0,
        alone: false,
      });
      this.#pump();
    });
  }

  /** Resolves once nothing waits or runs. */
  async drained(): Promise<void> {
    if (this.#inFlight === 0 && this.#waiting.length === 0) return;
    await new Promise<void>((resolve) => (this.#idle = resolve));
  }

  #pump(): void {
    while (this.#inFlight < this.#concurrency && this.#waiting.length > 0) {
      const batch = this.#take();
      if (batch.length === 0) return; // everything waiting touches a stream in flight
      this.#inFlight++;
      for (const job of batch) for (const stream of job.streams) this.#busyStreams.add(stream);
      void this.#run(batch).finally(() => {
        for (const job of batch) for (const stream of job.streams) this.#busyStreams.delete(stream);
        this.#inFlight--;
        this.#pump();
        if (this.#inFlight === 0 && this.#waiting.length === 0) this.#idle?.();
      });
    }
  }

  #take(): Job[] {
    const taken: Job[] = [];
    const streams = new Set<string>();
    let events = 0;
    for (let k = 0; k < this.#waiting.length; k++) {
      const job = this.#waiting[k]!;
      if (job.streams.some((s) => this.#busyStreams.has(s) || streams.has(s))) continue;
      if (taken.length > 0 && (job.alone || events + job.events > this.#maxEvents)) continue;
      taken.push(job);
      for (const s of job.streams) streams.add(s);
      events += job.events;
      this.#waiting.splice(k--, 1);
      if (job.alone || events >= this.#maxEvents) break;
    }
    return taken;
  }

  async #run(batch: readonly Job[]): Promise<void> {
    let outcomes: AppendOutcome[];
    try {
      outcomes = await executeAppend(
        this.#pool,
        batch.map((job) => ({ requests: job.requests, ...(job.raceCause && { raceCause: job.raceCause }) })),
      );
    } catch (error) {
      for (const job of batch) job.reject(error);
      return;
    }
    const again: Job[] = [];
    for (const [k, job] of batch.entries()) {
      const outcome = outcomes[k]!;
      switch (outcome.kind) {
        case 'done':
          job.resolve(outcome.results);
          break;
        case 'failed':
          job.reject(outcome.error);
          break;
        case 'race':
          job.raceCause = outcome.cause;
          if (++job.races < MAX_RACES) again.push(job);
          else job.reject(await this.#racesExhausted(job, outcome.cause));
          break;
        case 'alone':
          job.alone = true;
          again.push(job);
          break;
        default: {
          const _never: never = outcome;
          throw new Error(`unknown append outcome ${String(_never)}`);
        }
      }
    }
    // Retries go first, in their order, ahead of calls that came later.
    this.#waiting.unshift(...again);
  }

  async #racesExhausted(job: Job, cause: Error): Promise<Error> {
    const request = job.requests.find((r) => isUnpinned(r.expectedVersion)) ?? job.requests[0]!;
    try {
      const actual = await currentStreamVersion(this.#pool, request.stream);
      return new WrongExpectedVersionError(request.stream, request.expectedVersion, actual, { cause });
    } catch (error) {
      return error as Error;
    }
  }
}
