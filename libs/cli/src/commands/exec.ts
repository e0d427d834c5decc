import { booleanFlag, listFlag, stringFlag } from '../argv.js';
import type { Command } from './command.js';
import { processFlags } from './container-options.js';
import { connectTerminal, terminalSize } from './session-io.js';

/** `lxr exec`. */
export const execCommand: Command = {
  name: 'exec',
  summary: 'Execute a command in a running container',
  usage: 'lxr exec [OPTIONS] CONTAINER COMMAND [ARG...]',
  description: "Exits with the command's exit status.",
  flags: [
    processFlags.interactive,
    processFlags.tty,
    processFlags.user,
    processFlags.workdir,
    processFlags.env,
  ],
  args: { min: 2 },
  stopAtFirstPositional: true,
  async run(ctx, args) {
    const [ref, ...cmd] = args.positionals as [string, ...string[]];
    const tty = booleanFlag(args, 'tty');
    const interactive = booleanFlag(args, 'interactive');
    const client = await ctx.client();
    const user = stringFlag(args, 'user');
    const workingDir = stringFlag(args, 'workdir');
    const size = tty ? terminalSize() : undefined;
    const session = await client.containers.exec(ref, {
      cmd,
      tty,
      interactive,
      env: listFlag(args, 'env'),
      ...(user ? { user } : {}),
      ...(workingDir ? { workingDir } : {}),
      ...size,
    });
    const exit = await connectTerminal(ctx, session, { tty, interactive });
    if (exit === undefined) return 130;
    if (exit.error !== undefined) {
      ctx.stderr.write(`Error: ${exit.error}\n`);
      return 126;
    }
    return exit.exitCode ?? 1;
  },
};
