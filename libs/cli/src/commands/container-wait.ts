import { ApiError, type ContainerDetails, type LogEntry, type LxrClient } from '@lxr/client';
import { type FlagSpec, type ParsedArgs, stringFlag } from '../argv.js';
import type { Output } from '../context.js';
import { CliError, ExitCode, UsageError } from '../errors.js';

/** Polls the container until `done` holds; resolves with it, or undefined after `timeoutMs`. */
export async function waitForContainer(
  client: LxrClient,
  ref: string,
  done: (c: ContainerDetails) => boolean,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<ContainerDetails | undefined> {
  const deadline = Date.now() + options.timeoutMs;
  for (let delay = 10; Date.now() < deadline && !options.signal?.aborted; delay = Math.min(delay * 2, 200)) {
    const container = await client.containers.get(ref, { signal: options.signal });
    if (done(container)) return container;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  return undefined;
}

/** Writes log entries to stdout or stderr by their stream, as `docker logs` does. */
export function writeLog(entry: LogEntry, out: { stdout: Output; stderr: Output }, timestamps = false): void {
  const text = timestamps ? `${entry.time} ${entry.log}` : entry.log;
  (entry.stream === 'stderr' ? out.stderr : out.stdout).write(text);
}

/** Docker's relative `--since` (`10m`, `1h30m`, `45s`) or a timestamp, as RFC 3339. */
export function sinceTimestamp(since: string, now: Date): string | undefined {
  const relative = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(since);
  if (relative && since !== '') {
    const [, h = '0', m = '0', s = '0'] = relative;
    return new Date(now.getTime() - ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000).toISOString();
  }
  if (/^\d+$/.test(since)) return new Date(Number(since) * 1000).toISOString();
  const parsed = Date.parse(since);
  return Number.isNaN(parsed) ? undefined : new Date(parsed).toISOString();
}

/**
 * Runs `action` on each container named, as docker's lifecycle verbs do: prints each name once
 * done, reports each failure and goes on; exit code 1 when any failed.
 */
export async function eachContainer(
  ctx: { stdout: Output; stderr: Output; client(): Promise<LxrClient> },
  refs: readonly string[],
  action: (client: LxrClient, ref: string) => Promise<void>,
): Promise<number> {
  const client = await ctx.client();
  let status: number = ExitCode.Ok;
  for (const ref of refs) {
    try {
      await action(client, ref);
      ctx.stdout.write(`${ref}\n`);
    } catch (error) {
      if (!(error instanceof ApiError) && !(error instanceof CliError)) throw error;
      ctx.stderr.write(`Error: ${error.message}\n`);
      status = ExitCode.Failure;
    }
  }
  return status;
}

/** `-t/--time`: the grace period of stop and restart. */
export const TIME_FLAG: FlagSpec = {
  name: 'time',
  short: 't',
  kind: 'string',
  value: 'SECONDS',
  description: 'Seconds to wait for it to stop before killing it (default 10)',
};

export function timeoutOf(args: ParsedArgs): number {
  const text = stringFlag(args, 'time') ?? '10';
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 0)
    throw new UsageError(`invalid --time "${text}": give whole seconds`);
  return seconds;
}

/** How many times the container has started so far, from its events. */
export const startsOf = (c: ContainerDetails): number =>
  c.events.filter((e) => e.type === 'ContainerStarted').length;

/**
 * Waits until the container started once more than `starts` times (or failed); throws naming what
 * to look at when it failed.
 */
export async function waitForStart(
  client: LxrClient,
  ref: string,
  starts: number,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<void> {
  const after = await waitForContainer(
    client,
    ref,
    (c) => c.state === 'failed' || startsOf(c) > starts,
    options,
  );
  if (after === undefined)
    throw new CliError(`container ${ref} did not start within ${options.timeoutMs / 1000} s`);
  if (after.state === 'failed')
    throw new CliError(`container ${ref} failed to start; \`lxr inspect ${ref}\` says why`);
}
