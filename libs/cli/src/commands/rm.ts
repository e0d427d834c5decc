import { ApiError } from '@lxr/client';
import { booleanFlag } from '../argv.js';
import { ExitCode } from '../errors.js';
import type { Command } from './command.js';

/** `lxr rm`. */
export const rmCommand: Command = {
  name: 'rm',
  summary: 'Remove one or more containers',
  usage: 'lxr rm [OPTIONS] CONTAINER [CONTAINER...]',
  description:
    'Prints each container as given once it is removed; goes on past the ones that fail. A running\n' +
    'container needs -f, which kills it first.',
  flags: [
    {
      name: 'force',
      short: 'f',
      kind: 'boolean',
      description: 'Force the removal of a running container (uses SIGKILL)',
    },
  ],
  args: { min: 1 },
  async run(ctx, args) {
    const client = await ctx.client();
    let status: number = ExitCode.Ok;
    for (const ref of args.positionals) {
      try {
        await client.containers.remove(ref, { signal: ctx.signal, force: booleanFlag(args, 'force') });
        ctx.stdout.write(`${ref}\n`);
      } catch (error) {
        // The API's problem detail names the container and what to do; other errors (API down) stop here.
        if (!(error instanceof ApiError)) throw error;
        ctx.stderr.write(`Error: ${error.message}\n`);
        status = ExitCode.Failure;
      }
    }
    return status;
  },
};
