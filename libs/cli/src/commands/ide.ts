import type { IdeStatus, LxrClient } from '@lxr/client';
import { booleanFlag, stringFlag } from '../argv.js';
import { ExitCode } from '../errors.js';
import type { Command } from './command.js';
import { FORMAT_FLAG } from './command.js';
import { outputFormat } from './format-flag.js';

/** Waits until the IDE is ready (or cannot become so: disabled, stopped), polling its status. */
async function waitReady(client: LxrClient, ref: string, timeoutMs: number, signal: AbortSignal) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await client.containers.ide(ref, { signal });
    if (status.state === 'ready' || status.state === 'disabled' || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `lxr ide NAME`: where a development container's VS Code is, and how to log in. */
export const ideCommand: Command = {
  name: 'ide',
  summary: "Print the URL of a container's IDE (VS Code in the browser)",
  usage: 'lxr ide [OPTIONS] CONTAINER',
  description:
    'The IDE is served by the gateway at /ide/NAME/ and needs the API token: a browser without a session ' +
    'is sent to /login (paste the token from $LXR_HOME/api-token). Exits 1 while the IDE is not ready.',
  flags: [
    FORMAT_FLAG,
    { name: 'wait', kind: 'boolean', description: 'Wait until the IDE answers (up to --timeout)' },
    { name: 'timeout', kind: 'string', value: 'SECONDS', description: 'How long --wait waits (default 120)' },
  ],
  args: { min: 1, max: 1 },
  async run(ctx, args) {
    const format = outputFormat(args);
    const client = await ctx.client();
    const ref = args.positionals[0]!;
    const timeout = Number(stringFlag(args, 'timeout') ?? '120');
    if (!Number.isFinite(timeout) || timeout < 0) {
      ctx.stderr.write(`Error: --timeout must be a number of seconds, not ${stringFlag(args, 'timeout')}\n`);
      return ExitCode.Usage;
    }
    const status: IdeStatus = booleanFlag(args, 'wait')
      ? await waitReady(client, ref, timeout * 1000, ctx.signal)
      : await client.containers.ide(ref, { signal: ctx.signal });
    const base = client.url.replace(/\/+$/, '');
    const url = `${base}${status.path}`;
    if (format === 'json') {
      ctx.stdout.write(`${JSON.stringify({ ...status, url, loginUrl: loginUrl(base, status.path) })}\n`);
      return status.state === 'ready' ? ExitCode.Ok : ExitCode.Failure;
    }
    switch (status.state) {
      case 'ready':
        ctx.stdout.write(`${url}\n`);
        ctx.stderr.write(
          `Log in once at ${loginUrl(base, status.path)} with the token in $LXR_HOME/api-token.\n`,
        );
        return ExitCode.Ok;
      case 'disabled':
        ctx.stderr.write(`Error: ${status.name} has no IDE (created with --no-ide, or by lxr run)\n`);
        return ExitCode.Failure;
      case 'stopped':
        ctx.stderr.write(
          `Error: ${status.name} is not running; start it with \`lxr start ${status.name}\`\n`,
        );
        return ExitCode.Failure;
      default:
        ctx.stdout.write(`${url}\n`);
        ctx.stderr.write(
          status.error
            ? `The IDE is not ready: its last start failed (${status.error.code}): ${status.error.message}\n`
            : `The IDE is starting (launch ${Math.max(1, status.attempts)}); \`lxr ide --wait ${status.name}\` waits for it.\n`,
        );
        return ExitCode.Failure;
    }
  },
};

const loginUrl = (base: string, path: string) => `${base}/login?next=${encodeURIComponent(path)}`;
