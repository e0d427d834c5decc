import { randomUUID } from 'node:crypto';
import { ApiUnreachableError, type CreateContainerRequest, type ResourceLimits } from '@lxr/client';
import { booleanFlag, listFlag, type ParsedArgs, stringFlag } from '../argv.js';
import { ExitCode, UsageError } from '../errors.js';
import { parseBytes } from '../format/units.js';
import type { Command } from './command.js';

/** `-e K=V`, or `-e K` to pass K from this environment (left out when unset), as docker does. */
function environment(values: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const value of values) {
    if (value.startsWith('=')) throw new UsageError(`invalid environment variable: ${value}`);
    if (value.includes('=')) out.push(value);
    else if (env[value] !== undefined) out.push(`${value}=${env[value]}`);
  }
  return out;
}

function labels(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const key = eq < 0 ? value : value.slice(0, eq);
    if (key === '') throw new UsageError(`invalid label "${value}": use key=value`);
    out[key] = eq < 0 ? '' : value.slice(eq + 1);
  }
  return out;
}

function resources(args: ParsedArgs): ResourceLimits {
  const memory = stringFlag(args, 'memory');
  const cpus = stringFlag(args, 'cpus');
  const pids = stringFlag(args, 'pids-limit');
  const out: ResourceLimits = {};
  if (memory !== undefined) out.memoryBytes = parseBytes(memory, '-m, --memory');
  if (cpus !== undefined) {
    const n = Number(cpus);
    if (!/^\d*\.?\d+$/.test(cpus) || !(n > 0))
      throw new UsageError(`invalid argument "${cpus}" for "--cpus" flag: a positive number, e.g. 1.5`);
    out.cpus = n;
  }
  if (pids !== undefined) {
    if (!/^[1-9]\d*$/.test(pids))
      throw new UsageError(`invalid argument "${pids}" for "--pids-limit" flag: a positive integer`);
    out.pidsLimit = Number(pids);
  }
  return out;
}

/** The request `lxr create` sends for these arguments. */
function createRequest(args: ParsedArgs, env: NodeJS.ProcessEnv): CreateContainerRequest {
  const [image, ...command] = args.positionals;
  const name = stringFlag(args, 'name');
  const node = stringFlag(args, 'node');
  const limits = resources(args);
  return {
    image: image!,
    ...(name === undefined ? {} : { name }),
    ...(command.length > 0 ? { command } : {}),
    env: environment(listFlag(args, 'env'), env),
    labels: labels(listFlag(args, 'label')),
    ide: !booleanFlag(args, 'no-ide'),
    ...(Object.keys(limits).length > 0 ? { resources: limits } : {}),
    ...(node === undefined ? {} : { node }),
  };
}

/** `lxr create`. */
export const createCommand: Command = {
  name: 'create',
  summary: 'Create a development container',
  usage: 'lxr create [OPTIONS] IMAGE [COMMAND] [ARG...]',
  description:
    'Records the container and picks a node agent to run it; prints its id. code-server (VS Code in the\n' +
    'browser) is launched in it unless --no-ide is given.',
  flags: [
    { name: 'name', kind: 'string', value: 'NAME', description: 'Assign a name to the container' },
    { name: 'env', short: 'e', kind: 'list', value: 'KEY=VALUE', description: 'Set environment variables' },
    {
      name: 'label',
      short: 'l',
      kind: 'list',
      value: 'KEY=VALUE',
      description: 'Set metadata on a container',
    },
    {
      name: 'memory',
      short: 'm',
      kind: 'string',
      value: 'BYTES',
      description: 'Memory limit (e.g. 512m, 2g)',
    },
    { name: 'cpus', kind: 'string', value: 'DECIMAL', description: 'Number of CPUs (e.g. 1.5)' },
    { name: 'pids-limit', kind: 'string', value: 'INT', description: 'Tune container pids limit' },
    { name: 'no-ide', kind: 'boolean', description: 'Do not launch code-server in the container' },
    {
      name: 'node',
      kind: 'string',
      value: 'NODE',
      description: 'Run on this node agent (default: any live one)',
    },
  ],
  args: { min: 1 },
  stopAtFirstPositional: true,
  async run(ctx, args) {
    const request = createRequest(args, ctx.env);
    const client = await ctx.client();
    // With a key, retrying after a broken connection is safe: the API answers the same container
    // (not a second one) if the first request did get through.
    const options = { idempotencyKey: randomUUID(), signal: ctx.signal };
    const container = await client.containers.create(request, options).catch(async (error: unknown) => {
      if (!(error instanceof ApiUnreachableError)) throw error;
      await new Promise((r) => setTimeout(r, 500));
      return client.containers.create(request, options);
    });
    ctx.stdout.write(`${container.id}\n`);
    return ExitCode.Ok;
  },
};
