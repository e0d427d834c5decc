import { randomUUID } from 'node:crypto';
import { booleanFlag } from '../argv.js';
import { CliError, ExitCode } from '../errors.js';
import type { Command } from './command.js';
import { containerOptionFlags, containerRequest } from './container-options.js';
import { waitForContainer, waitForStart, writeLog } from './container-wait.js';
import { connectTerminal, terminalSize } from './session-io.js';

/** docker's exit status when the container could not be run at all. */
const RUN_FAILED = 125;

/** `lxr run`. */
export const runCommand: Command = {
  name: 'run',
  summary: 'Create and run a container',
  usage: 'lxr run [OPTIONS] IMAGE [COMMAND] [ARG...]',
  description:
    "Runs the command in a new container (no IDE) and prints its output; exits with the command's status.\n" +
    'With -d, prints the id once it runs. --rm removes it once it exits.',
  flags: [
    ...containerOptionFlags,
    { name: 'detach', short: 'd', kind: 'boolean', description: 'Run in the background and print the id' },
    { name: 'rm', kind: 'boolean', description: 'Remove the container when it exits' },
  ],
  args: { min: 1 },
  stopAtFirstPositional: true,
  async run(ctx, args) {
    const detach = booleanFlag(args, 'detach');
    const autoRemove = booleanFlag(args, 'rm');
    const request = containerRequest(args, ctx.env, { ide: false });
    const client = await ctx.client();
    // Detached, the executor removes it on exit; attached, this command does once it has the output
    // and the status (the executor would race the log reader otherwise).
    const container = await client.containers.create(
      { ...request, ...(autoRemove && detach ? { autoRemove: true } : {}) },
      { idempotencyKey: randomUUID(), signal: ctx.signal },
    );
    try {
      await waitForStart(client, container.id, 0, { timeoutMs: 120_000, signal: ctx.signal });
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      ctx.stderr.write(`Error: ${error.message}\n`);
      if (autoRemove)
        await client.containers.remove(container.id, { force: true, volumes: true }).catch(() => {});
      return RUN_FAILED;
    }
    if (detach) {
      ctx.stdout.write(`${container.id}\n`);
      return ExitCode.Ok;
    }
    if (request.tty || request.openStdin) {
      // -it: this terminal (or stdin) goes to the main process; what it wrote before the attach is in
      // the log, and the resize on attaching makes a shell redraw its prompt.
      const session = await client.containers.attach(container.id, terminalSize());
      const exit = await connectTerminal(ctx, session, {
        tty: request.tty ?? false,
        interactive: request.openStdin ?? false,
      });
      if (exit === undefined) return 130;
    } else {
      for await (const entry of client.containers.logs(container.id, { follow: true, signal: ctx.signal })) {
        writeLog(entry, ctx);
      }
    }
    const ended = await waitForContainer(
      client,
      container.id,
      (c) => c.state === 'exited' || c.state === 'failed',
      {
        timeoutMs: 30_000,
        signal: ctx.signal,
      },
    );
    // As docker's --rm: the anonymous volumes go with the container.
    if (autoRemove)
      await client.containers.remove(container.id, { force: true, volumes: true, signal: ctx.signal });
    return ended?.exitCode ?? RUN_FAILED;
  },
};
