import type { Command } from './command.js';
import { eachContainer, startsOf, waitForStart } from './container-wait.js';

/** `lxr start`. */
export const startCommand: Command = {
  name: 'start',
  summary: 'Start one or more stopped containers',
  usage: 'lxr start CONTAINER [CONTAINER...]',
  description: 'Returns once each is running again.',
  flags: [],
  args: { min: 1 },
  run: (ctx, args) =>
    eachContainer(ctx, args.positionals, async (client, ref) => {
      const before = await client.containers.get(ref, { signal: ctx.signal });
      await client.containers.start(ref, { signal: ctx.signal });
      if (before.state === 'running') return;
      await waitForStart(client, ref, startsOf(before), { timeoutMs: 30_000, signal: ctx.signal });
    }),
};
