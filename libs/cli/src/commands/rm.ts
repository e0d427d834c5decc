import { booleanFlag } from '../argv.js';
import type { Command } from './command.js';
import { eachContainer } from './container-wait.js';

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
    {
      name: 'volumes',
      short: 'v',
      kind: 'boolean',
      description: 'Remove anonymous volumes associated with the container',
    },
  ],
  args: { min: 1 },
  run: (ctx, args) =>
    eachContainer(ctx, args.positionals, async (client, ref) => {
      await client.containers.remove(ref, {
        signal: ctx.signal,
        force: booleanFlag(args, 'force'),
        volumes: booleanFlag(args, 'volumes'),
      });
    }),
};
