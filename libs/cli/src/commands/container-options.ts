import type {
  CreateContainerRequest,
  PortBinding,
  ResourceLimits,
  RestartPolicy,
  VolumeMount,
} from '@lxr/client';
import { IPV4_PATTERN } from '@lxr/events/patterns';
import { booleanFlag, type FlagSpec, listFlag, type ParsedArgs, stringFlag } from '../argv.js';
import { UsageError } from '../errors.js';
import { parseBytes } from '../format/units.js';

/** The flags of the container's process, which `lxr exec` takes too. */
export const processFlags = {
  env: {
    name: 'env',
    short: 'e',
    kind: 'list',
    value: 'KEY=VALUE',
    description: 'Set environment variables',
  },
  user: { name: 'user', short: 'u', kind: 'string', value: 'USER[:GROUP]', description: 'Username or UID' },
  workdir: {
    name: 'workdir',
    short: 'w',
    kind: 'string',
    value: 'DIR',
    description: 'Working directory inside the container',
  },
  tty: { name: 'tty', short: 't', kind: 'boolean', description: 'Allocate a pseudo-TTY' },
  interactive: { name: 'interactive', short: 'i', kind: 'boolean', description: 'Keep STDIN open' },
} as const satisfies Record<string, FlagSpec>;

/** The flags `lxr create` and `lxr run` share, docker's names and meanings. */
export const containerOptionFlags: readonly FlagSpec[] = [
  { name: 'name', kind: 'string', value: 'NAME', description: 'Assign a name to the container' },
  processFlags.env,
  { name: 'label', short: 'l', kind: 'list', value: 'KEY=VALUE', description: 'Set metadata on a container' },
  {
    name: 'publish',
    short: 'p',
    kind: 'list',
    value: '[IP:][HOST:]PORT[/PROTO]',
    description: "Publish a container's port(s) to the host",
  },
  {
    name: 'volume',
    short: 'v',
    kind: 'list',
    value: '[SRC:]DST[:ro]',
    description:
      'Mount a named volume (name:/path), a host directory (/host:/path) or an anonymous one (/path)',
  },
  { name: 'ip', kind: 'string', value: 'ADDRESS', description: 'IPv4 address on the container network' },
  {
    name: 'entrypoint',
    kind: 'string',
    value: 'CMD',
    description: 'Overwrite the default ENTRYPOINT of the image',
  },
  processFlags.user,
  processFlags.workdir,
  { name: 'hostname', kind: 'string', value: 'NAME', description: 'Container host name' },
  processFlags.tty,
  processFlags.interactive,
  {
    name: 'restart',
    kind: 'string',
    value: 'POLICY',
    description: 'Restart policy: no, on-failure[:N], always, unless-stopped',
  },
  { name: 'memory', short: 'm', kind: 'string', value: 'BYTES', description: 'Memory limit (e.g. 512m, 2g)' },
  { name: 'cpus', kind: 'string', value: 'DECIMAL', description: 'Number of CPUs (e.g. 1.5)' },
  { name: 'pids-limit', kind: 'string', value: 'INT', description: 'Tune container pids limit' },
  {
    name: 'node',
    kind: 'string',
    value: 'NODE',
    description: 'Run on this node agent (default: any live one)',
  },
];

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

/** `--label KEY=VALUE` values as a record; a bare `KEY` is an empty value, as docker takes it. */
export function parseLabels(values: readonly string[]): Record<string, string> {
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

const IPV4 = new RegExp(IPV4_PATTERN);
function portRange(text: string, what: string, spec: string): [number, number] {
  const [first, last = first] = text.split('-').map(Number) as [number, number?];
  const valid = (n: number) => Number.isInteger(n) && n >= 1 && n <= 65535;
  if (!valid(first) || !valid(last!) || last! < first) {
    throw new UsageError(`invalid ${what} port "${text}" in "-p ${spec}": a port (1-65535) or a range`);
  }
  return [first, last!];
}

/**
 * Parses `-p` values as docker does: `80`, `8080:80`, `127.0.0.1:8080:80/udp`, `127.0.0.1::80`,
 * and equal-length ranges `8000-8001:80-81`.
 */
export function parsePublish(values: readonly string[]): PortBinding[] {
  const bindings: PortBinding[] = [];
  for (const spec of values) {
    const usage = `invalid publish spec "${spec}": use [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp]`;
    const slash = spec.lastIndexOf('/');
    const proto = slash < 0 ? 'tcp' : spec.slice(slash + 1);
    if (proto !== 'tcp' && proto !== 'udp') throw new UsageError(usage);
    const parts = (slash < 0 ? spec : spec.slice(0, slash)).split(':');
    if (parts.length > 3) throw new UsageError(usage);
    // `80`, `8080:80` or `ip:8080:80`; an empty host port (`ip::80`) means any free port.
    const container = parts.at(-1)!;
    const host = parts.length > 1 ? parts.at(-2) : undefined;
    const ip = parts.length === 3 ? parts[0] : undefined;
    if (ip !== undefined && !IPV4.test(ip))
      throw new UsageError(`invalid IP address "${ip}" in "-p ${spec}"`);
    const [cFirst, cLast] = portRange(container!, 'container', spec);
    const hostRange = host ? portRange(host, 'host', spec) : undefined;
    const count = cLast - cFirst + 1;
    if (hostRange && hostRange[1] - hostRange[0] + 1 !== count) {
      throw new UsageError(`invalid publish spec "${spec}": host and container port ranges differ in length`);
    }
    for (let i = 0; i < count; i++) {
      bindings.push({
        ...(ip === undefined ? {} : { hostIp: ip }),
        hostPort: hostRange ? hostRange[0] + i : 0,
        containerPort: cFirst + i,
        protocol: proto,
      });
    }
  }
  return bindings;
}

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/**
 * Parses `-v` values as docker does: `name:/path`, `/host:/path`, `/path` (anonymous), each with an
 * optional `:ro` or `:rw`. A relative host path is refused, as docker refuses it.
 */
export function parseVolumes(values: readonly string[]): VolumeMount[] {
  return values.map((spec) => {
    const usage = `invalid volume spec "${spec}": use NAME:/PATH, /HOST:/PATH or /PATH, optionally with :ro`;
    const parts = spec.split(':');
    let readOnly: boolean | undefined;
    const last = parts.at(-1);
    if (parts.length > 1 && (last === 'ro' || last === 'rw')) {
      readOnly = last === 'ro' || undefined;
      parts.pop();
    }
    if (parts.length > 2 || parts.some((p) => p === '')) throw new UsageError(usage);
    const [source, destination] = parts.length === 2 ? parts : [undefined, parts[0]];
    if (!destination!.startsWith('/')) {
      throw new UsageError(`invalid volume spec "${spec}": the container path must be absolute`);
    }
    if (source !== undefined && !source.startsWith('/') && !VOLUME_NAME.test(source)) {
      throw new UsageError(
        `invalid volume spec "${spec}": "${source}" is neither an absolute host path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)`,
      );
    }
    return {
      ...(source === undefined ? {} : { source }),
      destination: destination!,
      ...(readOnly ? { readOnly } : {}),
    };
  });
}

/** Parses `--restart` as docker does: `no`, `on-failure[:N]`, `always`, `unless-stopped`. */
export function parseRestartPolicy(text: string): RestartPolicy {
  const [name, count, ...rest] = text.split(':');
  const usage = `invalid restart policy "${text}": use no, on-failure[:N], always or unless-stopped`;
  if (rest.length > 0) throw new UsageError(usage);
  if (name === 'on-failure') {
    if (count === undefined) return { name };
    if (!/^\d+$/.test(count)) throw new UsageError(`${usage} (N is a non-negative integer)`);
    return { name, maximumRetryCount: Number(count) };
  }
  if ((name === 'no' || name === 'always' || name === 'unless-stopped') && count === undefined)
    return { name };
  if (count !== undefined && (name === 'no' || name === 'always' || name === 'unless-stopped')) {
    throw new UsageError(`${usage} (only on-failure takes a retry count)`);
  }
  throw new UsageError(usage);
}

/** The request these arguments ask for: `IMAGE [COMMAND] [ARG...]` plus the flags above. */
export function containerRequest(
  args: ParsedArgs,
  env: NodeJS.ProcessEnv,
  defaults: { readonly ide: boolean },
): CreateContainerRequest {
  const [image, ...command] = args.positionals;
  const limits = resources(args);
  const ports = parsePublish(listFlag(args, 'publish'));
  const volumes = parseVolumes(listFlag(args, 'volume'));
  const ip = stringFlag(args, 'ip');
  if (ip !== undefined && !IPV4.test(ip))
    throw new UsageError(`invalid argument "${ip}" for "--ip" flag: an IPv4 address`);
  const entrypoint = stringFlag(args, 'entrypoint');
  const workdir = stringFlag(args, 'workdir');
  if (workdir !== undefined && !workdir.startsWith('/')) {
    throw new UsageError(`invalid argument "${workdir}" for "-w, --workdir" flag: the path must be absolute`);
  }
  const restart = stringFlag(args, 'restart');
  const optional = {
    name: stringFlag(args, 'name'),
    command: command.length > 0 ? command : undefined,
    // docker takes --entrypoint as one word; an empty string resets it.
    entrypoint: entrypoint === undefined ? undefined : entrypoint === '' ? [] : [entrypoint],
    resources: Object.keys(limits).length > 0 ? limits : undefined,
    ports: ports.length > 0 ? ports : undefined,
    volumes: volumes.length > 0 ? volumes : undefined,
    ip,
    user: stringFlag(args, 'user'),
    workingDir: workdir,
    hostname: stringFlag(args, 'hostname'),
    tty: booleanFlag(args, 'tty') || undefined,
    openStdin: booleanFlag(args, 'interactive') || undefined,
    restartPolicy: restart === undefined ? undefined : parseRestartPolicy(restart),
    node: stringFlag(args, 'node'),
  };
  return {
    image: image!,
    env: environment(listFlag(args, 'env'), env),
    labels: parseLabels(listFlag(args, 'label')),
    ide: defaults.ide,
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  };
}
