import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** One line of a benchmark table. */
export interface BenchRow {
  /** What was measured, e.g. `append, 8 writers, 1 event/append`. */
  readonly name: string;
  /** The figure, with its unit, e.g. `6,120 events/s`. */
  readonly result: string;
  /** The goal it is held to, if any, e.g. `≥ 5,000 events/s`. */
  readonly goal?: string;
  /** Whether the goal was met; undefined when there is no goal. */
  readonly met?: boolean;
  readonly notes?: string;
}

/** A named group of benchmarks printed as one table; add new ones to `index.ts`. */
export interface BenchSection {
  /** Selects the section on the command line: `npm run bench -- event-store`. */
  readonly id: string;
  readonly title: string;
  /** A sentence on the setup (servers, settings, durations), printed above the table. */
  readonly setup: string;
  run(log: (line: string) => void): Promise<readonly BenchRow[]>;
}

export function markdownTable(rows: readonly BenchRow[]): string {
  const cells = rows.map((r) => [
    r.name,
    r.result,
    r.goal ?? '',
    r.met === undefined ? '' : r.met ? 'yes' : '**no**',
    r.notes ?? '',
  ]);
  const header = ['benchmark', 'result', 'goal', 'met', 'notes'];
  const lines = [header, header.map(() => '---'), ...cells].map((c) => `| ${c.join(' | ')} |`);
  return lines.join('\n');
}

/** The q-quantile (0..1) of unsorted samples, nearest-rank. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export const formatInt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const formatMs = (n: number): string => `${n.toFixed(2)} ms`;

/** How long `run` takes, in milliseconds. */
export async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

/** Machine-wide CPU use (all processes, all cores) between `start()` and `stop()`, from /proc/stat. */
export function cpuMeter(): { stop(): string } {
  const read = () => {
    try {
      const fields = readFileSync('/proc/stat', 'utf8')
        .split('\n')[0]!
        .trim()
        .split(/\s+/)
        .slice(1)
        .map(Number);
      const idle = fields[3]! + (fields[4] ?? 0);
      return { idle, total: fields.reduce((a, b) => a + b, 0) };
    } catch {
      return undefined;
    }
  };
  const first = read();
  return {
    stop() {
      const last = read();
      if (!first || !last || last.total === first.total) return 'CPU use unknown';
      const busy = 1 - (last.idle - first.idle) / (last.total - first.total);
      return `machine CPU ${(busy * 100).toFixed(0)}% busy, load ${loadavg()[0]!.toFixed(2)}`;
    },
  };
}
