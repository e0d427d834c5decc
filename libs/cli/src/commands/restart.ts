import type { Command } from './command.js';
import { eachContainer, startsOf, TIME_FLAG, timeoutOf, waitForStart } from './container-wait.js';

/** `lxr restart`. */
export const restartCommand: Command = {
  name: 'restart',
  summary: 'Restart one or more containers',
  usage: 'lxr restart [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Stops each (SIGTERM, SIGKILL after the grace period) and starts it again.',
  flags: [TIME_FLAG],
  args: { min: 1 },
  run(ctx, args) {
    const timeoutSeconds = timeoutOf(args);
    return eachContainer(ctx, args.positionals, async (client, ref) => {
      const before = await client.containers.get(ref, { signal: ctx.signal });
      await client.containers.restart(ref, { timeoutSeconds, signal: ctx.signal });
      await waitForStart(client, ref, startsOf(before), {
        timeoutMs: timeoutSeconds * 1000 + 30_000,
        signal: ctx.signal,
      });
    });
  },
};
