import { ApiError, type ContainerDetails } from '@lxr/client';
import { ExitCode } from '../errors.js';
import { type Command, FORMAT_FLAG } from './command.js';
import { outputFormat } from './format-flag.js';

/** docker inspect's `State`, from the container's lifecycle events. */
export function containerState(c: ContainerDetails) {
  const started = c.events.findLast((e) => e.type === 'ContainerStarted')?.data as
    | { startedAt: string; pid: number }
    | undefined;
  const ended = c.events.findLast((e) => e.type === 'ContainerExited' || e.type === 'ContainerFailed');
  const exited =
    ended?.type === 'ContainerExited'
      ? (ended.data as { code: number; oomKilled: boolean; finishedAt: string })
      : undefined;
  const failed =
    ended?.type === 'ContainerFailed' ? (ended.data as { code: string; message: string }) : undefined;
  return {
    Status: c.state,
    Running: c.state === 'running',
    Pid: c.pid ?? 0,
    ExitCode: c.exitCode ?? 0,
    OOMKilled: exited?.oomKilled ?? false,
    Error: failed ? `${failed.code}: ${failed.message}` : '',
    StartedAt: started?.startedAt ?? null,
    FinishedAt: exited?.finishedAt ?? null,
    RestartCount: Math.max(0, c.events.filter((e) => e.type === 'ContainerStarted').length - 1),
  };
}

/** `lxr inspect`. */
export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'Display detailed information on containers, with their events',
  usage: 'lxr inspect [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Prints a JSON array, one element per container found, as docker inspect does.',
  flags: [FORMAT_FLAG],
  args: { min: 1 },
  async run(ctx, args) {
    outputFormat(args, ['json']);
    const client = await ctx.client();
    const found: ContainerDetails[] = [];
    let status: number = ExitCode.Ok;
    for (const ref of args.positionals) {
      try {
        const container = await client.containers.get(ref, { signal: ctx.signal });
        found.push({ ...container, State: containerState(container) } as ContainerDetails);
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 404) throw error;
        ctx.stderr.write(`Error: no such container: ${ref}\n`);
        status = ExitCode.Failure;
      }
    }
    ctx.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
    return status;
  },
};
