import type { Command } from './command.js';
import { eachContainer, TIME_FLAG, timeoutOf, waitForContainer } from './container-wait.js';

/** `lxr stop`. */
export const stopCommand: Command = {
  name: 'stop',
  summary: 'Stop one or more running containers',
  usage: 'lxr stop [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Sends SIGTERM, then SIGKILL after the grace period; returns once each has stopped.',
  flags: [TIME_FLAG],
  args: { min: 1 },
  run(ctx, args) {
    const timeoutSeconds = timeoutOf(args);
    return eachContainer(ctx, args.positionals, async (client, ref) => {
      await client.containers.stop(ref, { timeoutSeconds, signal: ctx.signal });
      await waitForContainer(client, ref, (c) => c.state !== 'running', {
        timeoutMs: timeoutSeconds * 1000 + 10_000,
        signal: ctx.signal,
      });
    });
  },
};
