import { stringFlag } from '../argv.js';
import type { Command } from './command.js';
import { eachContainer } from './container-wait.js';

/** `lxr kill`. */
export const killCommand: Command = {
  name: 'kill',
  summary: 'Kill one or more running containers',
  usage: 'lxr kill [OPTIONS] CONTAINER [CONTAINER...]',
  flags: [
    {
      name: 'signal',
      short: 's',
      kind: 'string',
      value: 'SIGNAL',
      description: 'Signal to send (default KILL)',
    },
  ],
  args: { min: 1 },
  run(ctx, args) {
    const signalName = stringFlag(args, 'signal');
    return eachContainer(ctx, args.positionals, async (client, ref) => {
      await client.containers.kill(ref, { signal: ctx.signal, ...(signalName ? { signalName } : {}) });
    });
  },
};
