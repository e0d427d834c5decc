import type { ContainerRequested, ImageRuntimeConfig } from '@lxr/events';

type Spec = ContainerRequested['data'];

/** The PATH docker gives a container whose image sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The main process's argv, by docker's rules: `--entrypoint` replaces the image's Entrypoint and
 * drops its Cmd; the run's command replaces only the Cmd. An empty `--entrypoint ""` clears the
 * Entrypoint and keeps the image's Cmd. Empty when there is nothing to run.
 */
export function commandLine(spec: Pick<Spec, 'command' | 'entrypoint'>, image: ImageRuntimeConfig): string[] {
  const userEntrypoint = spec.entrypoint;
  if (userEntrypoint !== undefined && userEntrypoint.length > 0) {
    return [...userEntrypoint, ...(spec.command ?? [])];
  }
  const entrypoint = userEntrypoint === undefined ? (image.entrypoint ?? []) : [];
  const cmd = spec.command !== undefined && spec.command.length > 0 ? spec.command : (image.cmd ?? []);
  return [...entrypoint, ...cmd];
}

/** Merges `K=V` lists: later lists win per key, the first occurrence keeps its place. */
export function mergeEnv(...lists: readonly (readonly string[] | undefined)[]): string[] {
  const values = new Map<string, string>();
  for (const list of lists) {
    for (const entry of list ?? []) {
      const eq = entry.indexOf('=');
      const key = eq < 0 ? entry : entry.slice(0, eq);
      values.set(key, entry);
    }
  }
  return [...values.values()];
}

/**
 * The container's environment as docker builds it: PATH (the image's, or docker's default),
 * HOSTNAME, TERM when there is a tty, the image's Env, then `-e`, then HOME from the user's entry.
 */
export function containerEnv(
  spec: Pick<Spec, 'env' | 'tty'>,
  image: ImageRuntimeConfig,
  hostname: string,
  home: string,
): string[] {
  const env = mergeEnv(
    [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${hostname}`],
    spec.tty ? ['TERM=xterm'] : [],
    image.env,
    spec.env,
  );
  return env.some((e) => e.startsWith('HOME=')) ? env : [...env, `HOME=${home}`];
}
