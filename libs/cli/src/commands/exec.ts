import { booleanFlag, listFlag, stringFlag } from '../argv.js';
import type { Command } from './command.js';

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
    const stdin = process.stdin;
    const stdout = process.stdout;
    const user = stringFlag(args, 'user');
    const workingDir = stringFlag(args, 'workdir');
    const session = await client.containers.exec(ref, {
      cmd,
      tty,
      interactive,
      env: listFlag(args, 'env'),
      ...(user ? { user } : {}),
      ...(workingDir ? { workingDir } : {}),
      ...(tty && stdout.isTTY ? { rows: stdout.rows, cols: stdout.columns } : {}),
    });
    session.onOutput((stream, data) => (stream === 'stderr' ? process.stderr : stdout).write(data));
    const raw = tty && interactive && stdin.isTTY;
    const onResize = () => session.resize(stdout.rows, stdout.columns);
    if (raw) {
      // Keys (Ctrl-C included) go to the container's terminal, not to this process.
      stdin.setRawMode(true);
      stdout.on('resize', onResize);
    }
    if (interactive) {
      stdin.on('data', (chunk: Buffer) => session.write(chunk));
      stdin.on('end', () => session.closeStdin());
    }
    // Interrupted (SIGINT, SIGTERM): the session ends here, as docker exec's does.
    const onAbort = () => session.close();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const exit = await session.exit;
      if (ctx.signal.aborted) return 130;
      if (exit.error !== undefined) {
        ctx.stderr.write(`Error: ${exit.error}\n`);
        return 126;
      }
      return exit.exitCode ?? 1;
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      if (raw) {
        stdin.setRawMode(false);
        stdout.off('resize', onResize);
      }
      stdin.pause();
      stdin.destroy();
    }
  },
};
