import type { DiskUsageRow, SystemDiskUsage } from '@lxr/events';
import { booleanFlag, stringFlag } from '../argv.js';
import { ExitCode, UsageError } from '../errors.js';
import { formatTable } from '../format/table.js';
import { humanSize } from '../format/units.js';
import { type Command, FORMAT_FLAG } from './command.js';
import { jsonLines, outputFormat } from './format-flag.js';

const NODE_FLAG = {
  name: 'node',
  kind: 'string',
  value: 'NODE',
  description: 'Only this node (default: every alive node)',
} as const;

/** docker's `system df` table, with the layer cache as a fourth row. */
export function diskUsageTable(usage: SystemDiskUsage): string {
  const line = (type: string, r: DiskUsageRow) => [
    type,
    String(r.total),
    String(r.active),
    humanSize(r.size),
    `${humanSize(r.reclaimable)} (${r.size === 0 ? 0 : Math.round((100 * r.reclaimable) / r.size)}%)`,
  ];
  return formatTable(
    ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'],
    [
      line('Images', usage.images),
      line('Containers', usage.containers),
      line('Local Volumes', usage.volumes),
      line('Layer cache', usage.layers),
    ],
  );
}

/** What `lxr system prune` warns it removes, as docker words it. */
export function pruneWarning(all: boolean, volumes: boolean): string {
  return [
    'WARNING! This will remove:',
    '  - all stopped containers',
    ...(volumes ? [`  - all ${all ? '' : 'anonymous '}volumes not used by at least one container`] : []),
    all ? '  - all images without at least one container associated to them' : '  - all dangling images',
    '  - all cached layers no remaining image uses',
    '',
  ].join('\n');
}

async function df(ctx: Parameters<Command['run']>[0], args: Parameters<Command['run']>[1]): Promise<number> {
  const node = stringFlag(args, 'node');
  const usage = await (await ctx.client()).system.df({ signal: ctx.signal, ...(node ? { node } : {}) });
  ctx.stdout.write(outputFormat(args) === 'json' ? jsonLines([usage]) : diskUsageTable(usage));
  return ExitCode.Ok;
}

async function prune(
  ctx: Parameters<Command['run']>[0],
  args: Parameters<Command['run']>[1],
): Promise<number> {
  const all = booleanFlag(args, 'all');
  const volumes = booleanFlag(args, 'volumes');
  if (!booleanFlag(args, 'force')) {
    const sure = await ctx.confirm?.(
      `${pruneWarning(all, volumes)}\nAre you sure you want to continue? [y/N] `,
    );
    if (!sure) {
      ctx.stderr.write('Nothing removed (lxr system prune -f skips this question).\n');
      return ExitCode.Ok;
    }
  }
  const node = stringFlag(args, 'node');
  const result = await (await ctx.client()).system.prune({
    signal: ctx.signal,
    all,
    volumes,
    ...(node ? { node } : {}),
  });
  if (outputFormat(args) === 'json') {
    ctx.stdout.write(jsonLines([result]));
    return ExitCode.Ok;
  }
  const section = (title: string, items: readonly string[]) => {
    if (items.length > 0) ctx.stdout.write(`${title}:\n${items.map((i) => `${i}\n`).join('')}\n`);
  };
  section('Deleted Containers', result.containersDeleted);
  section('Deleted Volumes', result.volumesDeleted);
  section(
    'Deleted Images',
    result.imagesDeleted.map((d) => `deleted: ${d}`),
  );
  if (result.layersDeleted > 0) ctx.stdout.write(`Deleted cached layers: ${result.layersDeleted}\n\n`);
  ctx.stdout.write(`Total reclaimed space: ${humanSize(result.spaceReclaimed)}\n`);
  return ExitCode.Ok;
}

/** `lxr system df` and `lxr system prune`. */
export const systemCommand: Command = {
  name: 'system',
  summary: 'Show disk usage and reclaim it (df, prune)',
  usage: 'lxr system df|prune [OPTIONS]',
  description:
    'df shows the disk used by images, containers (what each wrote), local volumes and the layer\n' +
    'cache (unpacked layers), and how much of it is reclaimable.\n' +
    'prune removes stopped containers, dangling images (-a: every image no container uses), the\n' +
    'cached layers no image uses any more and, with --volumes, unused anonymous volumes (-a: named\n' +
    'ones too). It asks first unless -f.',
  flags: [
    {
      name: 'all',
      short: 'a',
      kind: 'boolean',
      description: 'prune: every unused image, not only dangling ones',
    },
    { name: 'volumes', kind: 'boolean', description: 'prune: unused volumes too' },
    { name: 'force', short: 'f', kind: 'boolean', description: 'prune: do not prompt for confirmation' },
    NODE_FLAG,
    FORMAT_FLAG,
  ],
  args: { min: 1, max: 1 },
  run(ctx, args) {
    const [sub] = args.positionals;
    if (sub === 'df') return df(ctx, args);
    if (sub === 'prune') return prune(ctx, args);
    throw new UsageError(`unknown system command "${sub}": use "lxr system df" or "lxr system prune"`);
  },
};
