import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { killGroup, processAlive, processStartTime, signalGroup, sleep } from './process-group.js';
import type { RunningProcess } from './service-runner.js';

/**
 * Records the running process groups in `file` (atomically), so that if the supervisor dies without
 * stopping them, the next supervisor or `composeDown` can.
 */
export function recordRunning(file: string, running: readonly RunningProcess[]): void {
  if (running.length === 0) {
    rmSync(file, { force: true });
    return;
  }
  writeFileSync(`${file}.tmp`, `${JSON.stringify(running, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** The recorded groups whose leader is still the same process (same pid and start time). */
function recordedAlive(file: string): RunningProcess[] {
  let recorded: RunningProcess[];
  try {
    recorded = JSON.parse(readFileSync(file, 'utf8')) as RunningProcess[];
  } catch {
    return [];
  }
  return recorded.filter(
    (r) => processAlive(r.pid) && (r.startTime === undefined || processStartTime(r.pid) === r.startTime),
  );
}

/**
 * Stops the process groups a dead supervisor left behind: their stop signal, SIGKILL after their grace
 * period, then deletes the record. Returns the services that were still running.
 */
export async function stopLeftovers(file: string): Promise<string[]> {
  const alive = recordedAlive(file);
  for (const r of alive) signalGroup(r.pid, r.stopSignal);
  const deadline = Date.now() + Math.max(0, ...alive.map((r) => r.graceMs));
  while (alive.some((r) => processAlive(r.pid)) && Date.now() < deadline) await sleep(50);
  await Promise.all(alive.map((r) => killGroup(r.pid)));
  rmSync(file, { force: true });
  return alive.map((r) => r.service);
}
