import { ApiError, type ContainerDetails } from '@lxr/client';
import { ExitCode } from '../errors.js';
import { type Command, FORMAT_FLAG } from './command.js';
import { outputFormat } from './format-flag.js';

/** `lxr inspect`. */
export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'Display detailed information on containers, with their events',
  usage: 'lxr inspect [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Prints a JSON array, one element per container found, as docker inspect does.',
  flags: [FORMAT_FLAG],
  args: { min: 1 },
  async run(ctx, args) {
    outputFormat(args, ['json']);
    const client = await ctx.client();
    const found: ContainerDetails[] = [];
    let status: number = ExitCode.Ok;
    for (const ref of args.positionals) {
      try {
        found.push(await client.containers.get(ref, { signal: ctx.signal }));
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 404) throw error;
        ctx.stderr.write(`Error: no such container: ${ref}\n`);
        status = ExitCode.Failure;
      }
    }
    ctx.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
    return status;
  },
};
