// Unpack workers, kept warm between layers: starting one (and loading tar in it) costs 50–250 ms,
// which a 128-layer image would pay 128 times. Idle workers are unref'd, so they never hold the
// process open, and a worker that failed or was cancelled is terminated, never reused.
import { Worker } from 'node:worker_threads';
import { UnpackError, UnpackErrorCode } from './errors.js';
import type { SessionResult } from './unpack-session.js';
import type { FromWorker } from './unpack-worker.js';

const MAX_IDLE = 2;
const idle: Worker[] = [];

/** A worker for one unpack: an idle one, or a new one. */
export function acquireWorker(): Worker {
  const worker = idle.pop() ?? new Worker(new URL('./unpack-worker.js', import.meta.url));
  worker.removeAllListeners('exit');
  worker.ref();
  return worker;
}

/** Gives back a worker whose unpack completed; it waits, unref'd, for the next one. */
export function releaseWorker(worker: Worker): void {
  worker.removeAllListeners('message');
  worker.removeAllListeners('error');
  worker.removeAllListeners('exit');
  if (idle.length >= MAX_IDLE) {
    void worker.terminate();
    return;
  }
  worker.unref();
  worker.once('exit', () => idle.splice(idle.indexOf(worker) >>> 0, 1));
  idle.push(worker);
}

/** What a worker answered so far, waited on by the thread that feeds it. */
export class WorkerReplies {
  acks = 0;
  failure: UnpackError | undefined;
  result: SessionResult | undefined;
  #wake: (() => void) | undefined;

  constructor(worker: Worker) {
    worker.on('message', (reply: FromWorker) => {
      if (reply.type === 'ack') this.acks++;
      else if (reply.type === 'done') this.result = reply.result;
      else this.failure ??= new UnpackError(reply.code as UnpackErrorCode, reply.message);
      this.#wake?.();
    });
    worker.on('error', (error: Error) =>
      this.fail(new UnpackError(UnpackErrorCode.WriteFailed, `the unpack worker failed: ${error.message}`)),
    );
    worker.on('exit', (code: number) =>
      this.fail(new UnpackError(UnpackErrorCode.WriteFailed, `the unpack worker exited with ${code}`)),
    );
  }

  fail(error: UnpackError): void {
    this.failure ??= error;
    this.#wake?.();
  }

  /** Resolves once `condition` holds; rejects with the first failure. */
  async until(condition: () => boolean): Promise<void> {
    while (this.failure === undefined && !condition()) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    if (this.failure !== undefined) throw this.failure;
  }
}
