import { randomUUID } from 'node:crypto';
import { ApiUnreachableError } from '@lxr/client';
import { booleanFlag } from '../argv.js';
import { ExitCode } from '../errors.js';
import type { Command } from './command.js';
import { containerOptionFlags, containerRequest } from './container-options.js';

/** `lxr create`. */
export const createCommand: Command = {
  name: 'create',
  summary: 'Create a development container',
  usage: 'lxr create [OPTIONS] IMAGE [COMMAND] [ARG...]',
  description:
    'Records the container and picks a node agent to run it; prints its id. code-server (VS Code in the\n' +
    'browser) is launched in it unless --no-ide is given.',
  flags: [
    ...containerOptionFlags,
    { name: 'no-ide', kind: 'boolean', description: 'Do not launch code-server in the container' },
  ],
  args: { min: 1 },
  stopAtFirstPositional: true,
  async run(ctx, args) {
    const request = containerRequest(args, ctx.env, { ide: !booleanFlag(args, 'no-ide') });
    const client = await ctx.client();
    // With a key, retrying after a broken connection is safe: the API answers the same container
    // (not a second one) if the first request did get through.
    const options = { idempotencyKey: randomUUID(), signal: ctx.signal };
    const container = await client.containers.create(request, options).catch(async (error: unknown) => {
      if (!(error instanceof ApiUnreachableError)) throw error;
      await new Promise((r) => setTimeout(r, 500));
      return client.containers.create(request, options);
    });
    ctx.stdout.write(`${container.id}\n`);
    return ExitCode.Ok;
  },
};
