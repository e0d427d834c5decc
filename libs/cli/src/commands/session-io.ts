import type { ExecExit, ExecSession } from '@lxr/client';
import type { CliContext } from '../context.js';

/**
 * Connects an exec or attach session to this terminal: output to stdout/stderr, stdin when
 * `interactive` (raw mode with a tty, so Ctrl-C reaches the container), window resizes. Resolves
 * with how the process ended, or undefined when this command was interrupted (SIGINT, SIGTERM).
 */
export async function connectTerminal(
  ctx: Pick<CliContext, 'stderr' | 'signal'>,
  session: ExecSession,
  options: { readonly tty: boolean; readonly interactive: boolean },
): Promise<ExecExit | undefined> {
  const { stdin, stdout } = process;
  session.onOutput((stream, data) => (stream === 'stderr' ? process.stderr : stdout).write(data));
  const raw = options.tty && options.interactive && stdin.isTTY;
  const onResize = () => session.resize(stdout.rows, stdout.columns);
  const onData = (chunk: Buffer) => session.write(chunk);
  const onEnd = () => session.closeStdin();
  const onAbort = () => session.close();
  if (raw) {
    stdin.setRawMode(true);
    stdout.on('resize', onResize);
  }
  if (options.interactive) {
    stdin.on('data', onData);
    stdin.on('end', onEnd);
  }
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const exit = await session.exit;
    return ctx.signal.aborted ? undefined : exit;
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    if (raw) {
      stdin.setRawMode(false);
      stdout.off('resize', onResize);
    }
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    stdin.pause();
  }
}

/** The terminal's size, when stdout is one. */
export const terminalSize = (): { rows: number; cols: number } | undefined =>
  process.stdout.isTTY ? { rows: process.stdout.rows, cols: process.stdout.columns } : undefined;
