import type { BackoffSpec, RestartPolicy } from '../config/compose-file.js';
import type { ExitInfo } from './process-group.js';

/** The delay before restart number `attempt` (0-based): doubling from `initialMs`, capped at `maxMs`. */
export function restartDelay(backoff: BackoffSpec, attempt: number): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
}

/** Whether a process that exited this way is started again under `policy`. */
export function shouldRestart(policy: RestartPolicy, exit: ExitInfo): boolean {
  switch (policy) {
    case 'always':
      return true;
    case 'on-failure':
      return exit.code !== 0;
    case 'no':
      return false;
    default: {
      const _never: never = policy;
      return _never;
    }
  }
}

/** "exited with code 1", "killed by SIGSEGV", "could not start: …". */
export function describeExit(exit: ExitInfo): string {
  if (exit.error) return `could not start: ${exit.error.message}`;
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}
