/**
 * Wakes the readers of the log (the SSE streams) when something may have been appended. The
 * gateway rings it after its own appends; `main.ts` also rings it from the bus, so events other
 * services record arrive without waiting for the poll.
 */
export interface LogSignal {
  /** Calls `listener` on the next ring; returns a function that stops listening. */
  subscribe(listener: () => void): () => void;
  ring(): void;
}

export function createLogSignal(): LogSignal {
  const listeners = new Set<() => void>();
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    ring() {
      for (const listener of [...listeners]) listener();
    },
  };
}
