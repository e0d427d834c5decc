import type { NodeImage } from '@lxr/client';
import { booleanFlag, stringFlag } from '../argv.js';
import { ExitCode, UsageError } from '../errors.js';
import { timeAgo } from '../format/duration.js';
import { formatTable } from '../format/table.js';
import { humanSize } from '../format/units.js';
import { type Command, FORMAT_FLAG } from './command.js';
import { jsonLines, outputFormat } from './format-flag.js';

/** `docker.io/library/busybox:1` → [`busybox`, `1`], as `docker images` shows a reference. */
export function repositoryAndTag(reference: string): [string, string] {
  const at = reference.indexOf('@');
  const name = at >= 0 ? reference.slice(0, at) : reference;
  const colon = name.lastIndexOf(':');
  const tagged = colon > name.lastIndexOf('/');
  let repo = tagged ? name.slice(0, colon) : name;
  if (repo.startsWith('docker.io/library/')) repo = repo.slice('docker.io/library/'.length);
  else if (repo.startsWith('docker.io/')) repo = repo.slice('docker.io/'.length);
  return [repo, tagged ? name.slice(colon + 1) : '<none>'];
}

function imagesTable(images: readonly NodeImage[], now: Date, noTrunc: boolean): string {
  const rows = images.flatMap((image) => {
    const id = noTrunc ? image.configDigest : image.configDigest.slice(7, 19);
    const refs = image.references.length > 0 ? image.references : ['<none>:<none>'];
    return refs.map((ref) => {
      const [repo, tag] = ref === '<none>:<none>' ? ['<none>', '<none>'] : repositoryAndTag(ref);
      return [
        repo,
        tag,
        id,
        image.created ? timeAgo(image.created, now) : 'N/A',
        humanSize(image.size),
        image.platform,
        image.node,
      ];
    });
  });
  return formatTable(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'PLATFORM', 'NODE'], rows);
}

const NODE_FLAG = {
  name: 'node',
  kind: 'string',
  value: 'NODE',
  description: 'Only this node (default: every alive node)',
} as const;

/** `lxr images`. */
export const imagesCommand: Command = {
  name: 'images',
  summary: 'List images',
  usage: 'lxr images [OPTIONS]',
  flags: [
    { name: 'quiet', short: 'q', kind: 'boolean', description: 'Only show image IDs' },
    { name: 'no-trunc', kind: 'boolean', description: "Don't truncate output" },
    NODE_FLAG,
    FORMAT_FLAG,
  ],
  args: { min: 0, max: 0 },
  async run(ctx, args) {
    const format = outputFormat(args);
    const client = await ctx.client();
    const node = stringFlag(args, 'node');
    const images = await client.images.list({ signal: ctx.signal, ...(node ? { node } : {}) });
    if (booleanFlag(args, 'quiet')) {
      ctx.stdout.write(
        [...new Set(images.map((i) => i.configDigest.slice(7, 19)))].map((id) => `${id}\n`).join(''),
      );
    } else if (format === 'json') {
      ctx.stdout.write(jsonLines(images));
    } else {
      ctx.stdout.write(imagesTable(images, ctx.now(), booleanFlag(args, 'no-trunc')));
    }
    return ExitCode.Ok;
  },
};

/** `lxr image prune` (and `lxr image ls`). */
export const imageCommand: Command = {
  name: 'image',
  summary: 'Manage images (prune: remove unused images and blobs)',
  usage: 'lxr image prune|ls [OPTIONS]',
  description:
    'prune removes images no reference names and that no container uses, then every blob no\n' +
    "remaining image uses (garbage collection of the node's content store).",
  flags: [
    NODE_FLAG,
    {
      name: 'force',
      short: 'f',
      kind: 'boolean',
      description: 'Do not prompt for confirmation (prune never prompts)',
    },
    FORMAT_FLAG,
  ],
  args: { min: 1, max: 1 },
  async run(ctx, args) {
    const [sub] = args.positionals;
    if (sub === 'ls') return imagesCommand.run(ctx, { ...args, positionals: [] });
    if (sub !== 'prune')
      throw new UsageError(`unknown image command "${sub}": use "lxr image prune" or "lxr image ls"`);
    const client = await ctx.client();
    const node = stringFlag(args, 'node');
    const results = await client.images.prune({ signal: ctx.signal, ...(node ? { node } : {}) });
    if (outputFormat(args) === 'json') {
      ctx.stdout.write(jsonLines(results));
      return ExitCode.Ok;
    }
    let freed = 0;
    for (const r of results) {
      for (const digest of r.imagesRemoved) ctx.stdout.write(`deleted: ${digest} (${r.node})\n`);
      freed += r.bytesFreed;
    }
    const blobs = results.reduce((n, r) => n + r.blobsRemoved, 0);
    ctx.stdout.write(`Total reclaimed space: ${humanSize(freed)} (${blobs} blob${blobs === 1 ? '' : 's'})\n`);
    return ExitCode.Ok;
  },
};
