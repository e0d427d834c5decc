import { ApiError, type LxrClient, type NodeVolume } from '@lxr/client';
import { booleanFlag, listFlag, type ParsedArgs, stringFlag } from '../argv.js';
import type { CliContext } from '../context.js';
import { ExitCode, UsageError } from '../errors.js';
import { formatTable } from '../format/table.js';
import { humanSize } from '../format/units.js';
import { type Command, FORMAT_FLAG } from './command.js';
import { parseLabels } from './container-options.js';
import { jsonLines, outputFormat } from './format-flag.js';

/** `docker volume inspect`'s shape, plus the node and the users lxr knows. */
export function dockerVolume(v: NodeVolume) {
  return {
    CreatedAt: v.createdAt,
    Driver: v.driver,
    Labels: v.labels,
    Mountpoint: v.mountpoint,
    Name: v.name,
    Options: null,
    Scope: 'local',
    Node: v.node,
    Anonymous: v.anonymous,
    Containers: v.containers,
    ...(v.size === undefined ? {} : { UsageData: { Size: v.size, RefCount: v.containers.length } }),
  };
}

type Sub = (
  ctx: CliContext,
  client: LxrClient,
  args: ParsedArgs,
  names: readonly string[],
) => Promise<number>;
const nodeOf = (args: ParsedArgs) => {
  const node = stringFlag(args, 'node');
  return node ? { node } : {};
};

/** Runs `each` on every name, printing what fails and going on; exit 1 if any failed (docker's rm, inspect). */
async function eachName(ctx: CliContext, names: readonly string[], each: (name: string) => Promise<void>) {
  let status: number = ExitCode.Ok;
  for (const name of names) {
    try {
      await each(name);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      ctx.stderr.write(`Error: ${error.message}\n`);
      status = ExitCode.Failure;
    }
  }
  return status;
}

const subcommands: Record<string, { readonly args: [number, number?]; readonly run: Sub }> = {
  create: {
    args: [0, 1],
    async run(ctx, client, args, [name]) {
      const labels = parseLabels(listFlag(args, 'label'));
      const volume = await client.volumes.create(
        { ...(name ? { name } : {}), ...(Object.keys(labels).length > 0 ? { labels } : {}), ...nodeOf(args) },
        { signal: ctx.signal },
      );
      ctx.stdout.write(`${volume.name}\n`);
      return ExitCode.Ok;
    },
  },
  ls: {
    args: [0, 0],
    async run(ctx, client, args) {
      const format = outputFormat(args);
      const volumes = await client.volumes.list({ signal: ctx.signal, ...nodeOf(args) });
      if (booleanFlag(args, 'quiet')) ctx.stdout.write(volumes.map((v) => `${v.name}\n`).join(''));
      else if (format === 'json') ctx.stdout.write(jsonLines(volumes));
      else
        ctx.stdout.write(
          formatTable(
            ['DRIVER', 'VOLUME NAME', 'NODE'],
            volumes.map((v) => [v.driver, v.name, v.node]),
          ),
        );
      return ExitCode.Ok;
    },
  },
  inspect: {
    args: [1],
    async run(ctx, client, args, names) {
      const found: ReturnType<typeof dockerVolume>[] = [];
      const status = await eachName(ctx, names, async (name) => {
        found.push(
          ...(await client.volumes.inspect(name, { signal: ctx.signal, ...nodeOf(args) })).map(dockerVolume),
        );
      });
      ctx.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
      return status;
    },
  },
  rm: {
    args: [1],
    async run(ctx, client, args, names) {
      return eachName(ctx, names, async (name) => {
        const results = await client.volumes.remove(name, {
          signal: ctx.signal,
          force: booleanFlag(args, 'force'),
          ...nodeOf(args),
        });
        if (results.some((r) => r.removed.length > 0)) ctx.stdout.write(`${name}\n`);
      });
    },
  },
  prune: {
    args: [0, 0],
    async run(ctx, client, args) {
      const results = await client.volumes.prune({
        signal: ctx.signal,
        all: booleanFlag(args, 'all'),
        ...nodeOf(args),
      });
      if (outputFormat(args) === 'json') {
        ctx.stdout.write(jsonLines(results));
        return ExitCode.Ok;
      }
      const removed = results.flatMap((r) => r.removed.map((name) => `${name}\n`));
      if (removed.length > 0) ctx.stdout.write(`Deleted Volumes:\n${removed.join('')}\n`);
      const freed = results.reduce((n, r) => n + r.reclaimedBytes, 0);
      ctx.stdout.write(`Total reclaimed space: ${humanSize(freed)}\n`);
      return ExitCode.Ok;
    },
  },
};
const aliases: Record<string, string> = { list: 'ls', remove: 'rm' };

/** `lxr volume create|ls|inspect|rm|prune`. */
export const volumeCommand: Command = {
  name: 'volume',
  summary: 'Manage volumes (create, ls, inspect, rm, prune)',
  usage: 'lxr volume create [--label K=V] [NAME] | ls | inspect NAME... | rm [-f] NAME... | prune [-a]',
  description:
    'Named volumes keep data past their containers (`-v NAME:/path` makes one on first use); an\n' +
    'anonymous one (`-v /path`) goes with its `--rm` container. A volume a container uses cannot be\n' +
    'removed, even with -f (which only ignores a missing volume). prune removes unused anonymous\n' +
    'volumes; -a every unused one.',
  flags: [
    { name: 'label', short: 'l', kind: 'list', value: 'KEY=VALUE', description: 'create: set metadata' },
    { name: 'quiet', short: 'q', kind: 'boolean', description: 'ls: only show volume names' },
    {
      name: 'force',
      short: 'f',
      kind: 'boolean',
      description: 'rm: no error for a missing volume; prune: do not prompt',
    },
    {
      name: 'all',
      short: 'a',
      kind: 'boolean',
      description: 'prune: named volumes too, not only anonymous ones',
    },
    { name: 'node', kind: 'string', value: 'NODE', description: 'Only this node (create: where to make it)' },
    FORMAT_FLAG,
  ],
  args: { min: 1 },
  async run(ctx, args) {
    const [given, ...names] = args.positionals;
    const sub = aliases[given!] ?? given!;
    const command = subcommands[sub];
    if (!command)
      throw new UsageError(`unknown volume command "${given}": use create, ls, inspect, rm or prune`);
    const [min, max] = command.args;
    if (names.length < min || (max !== undefined && names.length > max))
      throw new UsageError(
        `"lxr volume ${sub}" takes ${max === undefined ? `at least ${min}` : max === 0 ? 'no' : `at most ${max}`} argument${max === 0 || min > 1 ? 's' : ''}`,
      );
    return command.run(ctx, await ctx.client(), args, names);
  },
};
