/**
 * A wake-up flag for a loop that waits: `notify` wakes the current `wait`, or the next one when
 * nobody waits, so a notification between a read and the wait after it is never lost.
 */
export interface Signal {
  notify(): void;
  /** Forgets a pending notification: call it just before reading what notifications announce. */
  clear(): void;
  /** Resolves on the next notification (true) or after `timeoutMs` (false), whichever comes first. */
  wait(timeoutMs: number): Promise<boolean>;
}

export function createSignal(): Signal {
  let pending = false;
  let wakeWaiter: (() => void) | undefined;
  return {
    notify() {
      if (wakeWaiter) wakeWaiter();
      else pending = true;
    },
    clear() {
      pending = false;
    },
    wait(timeoutMs) {
      if (pending) {
        pending = false;
        return Promise.resolve(true);
      }
      return new Promise((resolve) => {
        const done = (notified: boolean) => {
          clearTimeout(timer);
          wakeWaiter = undefined;
          resolve(notified);
        };
        const timer = setTimeout(() => done(false), timeoutMs);
        wakeWaiter = () => done(true);
      });
    },
  };
}
