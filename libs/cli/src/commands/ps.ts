import type { Container } from '@lxr/client';
import { shortId } from '@lxr/events/ids';
import { booleanFlag } from '../argv.js';
import { ExitCode } from '../errors.js';
import { humanDuration, timeAgo } from '../format/duration.js';
import { cell, formatTable } from '../format/table.js';
import { type Command, FORMAT_FLAG } from './command.js';
import { jsonLines, outputFormat } from './format-flag.js';

/** docker's STATUS: `Up 5 minutes`, `Exited (0) 3 seconds ago`, or the state as it is. */
export function containerStatus(c: Container, now: Date): string {
  const since = humanDuration(Math.max(0, now.getTime() - Date.parse(c.updatedAt)));
  switch (c.state) {
    case 'running':
      return `Up ${since}`;
    case 'exited':
      return `Exited (${c.exitCode ?? '?'}) ${since} ago`;
    case 'requested':
      return 'Created';
    case 'failed':
      return `Failed ${since} ago`;
    default:
      return c.state;
  }
}

/** docker's PORTS: `0.0.0.0:8080->80/tcp, …`. */
export function formatPorts(ports: Container['ports']): string {
  return ports
    .map((p) => `${p.hostIp ?? '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${p.protocol}`)
    .join(', ');
}

/** `lxr ps`' table. */
function containersTable(containers: readonly Container[], now: Date, noTrunc = false): string {
  return formatTable(
    ['CONTAINER ID', 'NAME', 'IMAGE', 'STATUS', 'PID', 'IP', 'NETNS', 'PORTS', 'CREATED'],
    containers.map((c) => [
      noTrunc ? c.id : shortId(c.id),
      c.name,
      c.image,
      containerStatus(c, now),
      cell(c.pid),
      cell(c.ip),
      cell(c.netns),
      cell(formatPorts(c.ports ?? []) || null),
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
