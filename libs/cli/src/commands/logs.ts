import { booleanFlag, stringFlag } from '../argv.js';
import { ExitCode, UsageError } from '../errors.js';
import type { Command } from './command.js';
import { sinceTimestamp, writeLog } from './container-wait.js';

/** `lxr logs`. */
export const logsCommand: Command = {
  name: 'logs',
  summary: "Fetch a container's output",
  usage: 'lxr logs [OPTIONS] CONTAINER',
  flags: [
    {
      name: 'follow',
      short: 'f',
      kind: 'boolean',
      description: 'Follow the output until the container exits',
    },
    { name: 'tail', short: 'n', kind: 'string', value: 'N', description: 'Only the last N lines' },
    {
      name: 'since',
      kind: 'string',
      value: 'TIME',
      description: 'Only lines since a timestamp (RFC 3339, Unix seconds) or a duration ago (10m, 1h30m)',
    },
    { name: 'timestamps', kind: 'boolean', description: 'Show timestamps' },
  ],
  args: { min: 1, max: 1 },
  async run(ctx, args) {
    const [ref] = args.positionals as [string];
    const tailText = stringFlag(args, 'tail');
    const tail = tailText === undefined || tailText === 'all' ? undefined : Number(tailText);
    if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) {
      throw new UsageError(`invalid --tail "${tailText}": give a number of lines or "all"`);
    }
    const sinceText = stringFlag(args, 'since');
    const since = sinceText === undefined ? undefined : sinceTimestamp(sinceText, ctx.now());
    if (sinceText !== undefined && since === undefined) {
      throw new UsageError(`invalid --since "${sinceText}": give a timestamp or a duration such as 10m`);
    }
    const client = await ctx.client();
    const timestamps = booleanFlag(args, 'timestamps');
    const entries = client.containers.logs(ref, {
      follow: booleanFlag(args, 'follow'),
      signal: ctx.signal,
      ...(tail === undefined ? {} : { tail }),
      ...(since === undefined ? {} : { since }),
    });
    try {
      for await (const entry of entries) writeLog(entry, ctx, timestamps);
    } catch (error) {
      if (!ctx.signal.aborted) throw error;
    }
    return ExitCode.Ok;
  },
};
