import type { Container } from '@lxr/client';
import { shortId } from '@lxr/events';
import { booleanFlag } from '../argv.js';
import { ExitCode } from '../errors.js';
import { timeAgo } from '../format/duration.js';
import { cell, formatTable } from '../format/table.js';
import { type Command, FORMAT_FLAG } from './command.js';
import { jsonLines, outputFormat } from './format-flag.js';

/** `lxr ps`' table. */
function containersTable(containers: readonly Container[], now: Date, noTrunc = false): string {
  return formatTable(
    ['CONTAINER ID', 'IMAGE', 'NAME', 'STATE', 'NODE', 'PID', 'IP', 'NETNS', 'CREATED'],
    containers.map((c) => [
      noTrunc ? c.id : shortId(c.id),
      c.image,
      c.name,
      c.state,
      c.node,
      cell(c.pid),
      cell(c.ip),
      cell(c.netns),
      timeAgo(c.createdAt, now),
    ]),
  );
}

/** `lxr ps`. */
export const psCommand: Command = {
  name: 'ps',
  summary: 'List containers',
  usage: 'lxr ps [OPTIONS]',
  flags: [
    {
      name: 'all',
      short: 'a',
      kind: 'boolean',
      description: 'Show all containers (default shows just the live ones)',
    },
    { name: 'quiet', short: 'q', kind: 'boolean', description: 'Only display container IDs' },
    { name: 'no-trunc', kind: 'boolean', description: "Don't truncate output" },
    FORMAT_FLAG,
  ],
  args: { min: 0, max: 0 },
  async run(ctx, args) {
    const format = outputFormat(args);
    const client = await ctx.client();
    const containers = await client.containers.list({ all: booleanFlag(args, 'all'), signal: ctx.signal });
    const noTrunc = booleanFlag(args, 'no-trunc');
    if (booleanFlag(args, 'quiet')) {
      ctx.stdout.write(containers.map((c) => `${noTrunc ? c.id : shortId(c.id)}\n`).join(''));
    } else if (format === 'json') {
      ctx.stdout.write(jsonLines(containers));
    } else {
      ctx.stdout.write(containersTable(containers, ctx.now(), noTrunc));
    }
    return ExitCode.Ok;
  },
};
