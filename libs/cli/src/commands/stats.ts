import type { ContainerStats } from '@lxr/client';
import { shortId } from '@lxr/events/ids';
import { ExitCode } from '../errors.js';
import { formatTable } from '../format/table.js';
import type { Command } from './command.js';
import { FORMAT_FLAG } from './command.js';
import { jsonLines, outputFormat } from './format-flag.js';

const MiB = 1024 * 1024;
const bytes = (n: number) =>
  n >= 1024 * MiB ? `${(n / 1024 / MiB).toFixed(2)}GiB` : `${(n / MiB).toFixed(2)}MiB`;
/** CPU use between two samples, in percent of one CPU, as docker shows it. */
const cpuPercent = (a: ContainerStats, b: ContainerStats) => {
  const wall = (Date.parse(b.readAt) - Date.parse(a.readAt)) * 1e6;
  return wall > 0 ? ((b.cpuNanoseconds - a.cpuNanoseconds) / wall) * 100 : 0;
};

/** `lxr stats`: one sample of each container (docker stats --no-stream). */
export const statsCommand: Command = {
  name: 'stats',
  summary: "Display containers' resource usage",
  usage: 'lxr stats [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Samples each container twice, half a second apart, for its CPU use; prints one table.',
  flags: [FORMAT_FLAG, { name: 'no-stream', kind: 'boolean', description: 'Print one table (the default)' }],
  args: { min: 1 },
  async run(ctx, args) {
    const format = outputFormat(args);
    const client = await ctx.client();
    const refs = args.positionals;
    const first = await Promise.all(refs.map((ref) => client.containers.stats(ref, { signal: ctx.signal })));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const second = await Promise.all(refs.map((ref) => client.containers.stats(ref, { signal: ctx.signal })));
    if (format === 'json') {
      ctx.stdout.write(jsonLines(second));
      return ExitCode.Ok;
    }
    ctx.stdout.write(
      formatTable(
        ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'PIDS'],
        second.map((s, i) => [
          shortId(s.containerId),
          refs[i]!,
          `${cpuPercent(first[i]!, s).toFixed(2)}%`,
          `${bytes(s.memoryBytes)} / ${s.memoryLimitBytes === null ? 'unlimited' : bytes(s.memoryLimitBytes)}`,
          s.memoryLimitBytes ? `${((s.memoryBytes / s.memoryLimitBytes) * 100).toFixed(2)}%` : '-',
          String(s.pids),
        ]),
      ),
    );
    return ExitCode.Ok;
  },
};
