import { booleanFlag, listFlag, stringFlag } from '../argv.js';
import type { Command } from './command.js';
import { connectTerminal, terminalSize } from './session-io.js';

/** `lxr exec`. */
export const execCommand: Command = {
  name: 'exec',
  summary: 'Execute a command in a running container',
  usage: 'lxr exec [OPTIONS] CONTAINER COMMAND [ARG...]',
  description: "Exits with the command's exit status.",
  flags: [
    { name: 'interactive', short: 'i', kind: 'boolean', description: 'Keep STDIN open' },
    { name: 'tty', short: 't', kind: 'boolean', description: 'Allocate a pseudo-TTY' },
    { name: 'user', short: 'u', kind: 'string', value: 'USER[:GROUP]', description: 'Username or UID' },
    {
      name: 'workdir',
      short: 'w',
      kind: 'string',
      value: 'DIR',
      description: 'Working directory inside the container',
    },
    { name: 'env', short: 'e', kind: 'list', value: 'KEY=VALUE', description: 'Set environment variables' },
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
