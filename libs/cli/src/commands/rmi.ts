import { ApiError } from '@lxr/client';
import { booleanFlag, stringFlag } from '../argv.js';
import { ExitCode } from '../errors.js';
import type { Command } from './command.js';

/** `lxr rmi`. */
export const rmiCommand: Command = {
  name: 'rmi',
  summary: 'Remove one or more images',
  usage: 'lxr rmi [OPTIONS] IMAGE [IMAGE...]',
  description:
    'Removes a reference; the image itself, and the blobs only it used, go with its last reference\n' +
    '(or when it is named by id). An image a container uses needs -f. Goes on past the ones that fail.',
  flags: [
    { name: 'force', short: 'f', kind: 'boolean', description: 'Force removal of an image containers use' },
    {
      name: 'node',
      kind: 'string',
      value: 'NODE',
      description: 'Only on this node (default: every alive node)',
    },
  ],
  args: { min: 1 },
  async run(ctx, args) {
    const client = await ctx.client();
    const node = stringFlag(args, 'node');
    let status: number = ExitCode.Ok;
    for (const ref of args.positionals) {
      try {
        const results = await client.images.remove(ref, {
          signal: ctx.signal,
          force: booleanFlag(args, 'force'),
          ...(node ? { node } : {}),
        });
        for (const r of results) {
          for (const u of r.untagged) ctx.stdout.write(`Untagged: ${u}\n`);
          for (const d of r.deleted) ctx.stdout.write(`Deleted: ${d}\n`);
        }
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        ctx.stderr.write(`Error: ${error.message}\n`);
        status = ExitCode.Failure;
      }
    }
    return status;
  },
};
