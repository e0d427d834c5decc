import { ApiError } from '@lxr/client';
import { ExitCode } from '../errors.js';
import type { Command } from './command.js';

/** `lxr rm`. */
export const rmCommand: Command = {
  name: 'rm',
  summary: 'Remove one or more containers',
  usage: 'lxr rm CONTAINER [CONTAINER...]',
  description: 'Prints each container as given once it is removed; goes on past the ones that fail.',
  flags: [],
  args: { min: 1 },
  async run(ctx, args) {
    const client = await ctx.client();
    let status: number = ExitCode.Ok;
    for (const ref of args.positionals) {
      try {
        await client.containers.remove(ref, { signal: ctx.signal });
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
