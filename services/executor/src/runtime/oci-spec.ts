import { readFileSync } from 'node:fs';
import type { ResourceLimits, RootfsMount } from '@lxr/events';
import {
  containerNamespaces,
  DOCKER_CAPABILITIES,
  DOCKER_MASKED_PATHS,
  DOCKER_READONLY_PATHS,
  dockerDeviceRules,
  INIT_PATH,
  standardMounts,
} from '@lxr/runtime-spec';
import type { ProcessUser } from './users.js';

export { INIT_PATH };

// The OCI runtime-spec config.json the executor writes for every container: docker's defaults
// for security (capabilities, masked and read-only paths, seccomp, no_new_privs) and mounts.

/** Podman's default pids limit: a fork bomb stops here unless `--pids-limit` says otherwise. */
export const DEFAULT_PIDS_LIMIT = 2048;
const CPU_PERIOD = 100_000;

/**
 * The open-files limit containers get: docker's 1048576, or the executor's own hard limit when
 * lower (a process cannot raise its hard limit, and the runtime sets it from the executor's).
 */
export const NOFILE_LIMIT = (() => {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const hard = Number(line?.split(/\s{2,}/)[2]);
    return Number.isFinite(hard) && hard > 0 ? Math.min(hard, 1_048_576) : 1024;
  } catch {
    return 1024;
  }
})();

export interface OciProcessInput {
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  readonly user: ProcessUser;
  readonly tty: boolean;
  readonly consoleSize?: { readonly rows: number; readonly cols: number } | undefined;
}

/** A process as the runtime's `exec --process` and config.json's `process` take it. */
export function ociProcess(input: OciProcessInput) {
  const caps = [...DOCKER_CAPABILITIES];
  return {
    terminal: input.tty,
    ...(input.tty && input.consoleSize
      ? { consoleSize: { height: input.consoleSize.rows, width: input.consoleSize.cols } }
      : {}),
    user: {
      uid: input.user.uid,
      gid: input.user.gid,
      ...(input.user.additionalGids.length > 0 ? { additionalGids: input.user.additionalGids } : {}),
    },
    args: [...input.args],
    env: [...input.env],
    cwd: input.cwd,
    capabilities: { bounding: caps, effective: caps, permitted: caps },
    rlimits: [{ type: 'RLIMIT_NOFILE', hard: NOFILE_LIMIT, soft: NOFILE_LIMIT }],
    noNewPrivileges: true,
  };
}

export interface OciConfigInput {
  readonly process: OciProcessInput;
  readonly rootfsPath: string;
  readonly hostname: string;
  readonly netnsPath: string;
  readonly hostsPath: string;
  readonly resolvConfPath: string;
  /** A file in the bundle holding the hostname, bind-mounted at /etc/hostname. */
  readonly hostnamePath: string;
  readonly initBinary: string;
  readonly mounts: readonly RootfsMount[];
  readonly resources: ResourceLimits;
  readonly cgroupsPath: string;
  /** The runtime-spec `linux.seccomp` object. */
  readonly seccomp: unknown;
}

const bind = (destination: string, source: string, readonly = false) => ({
  destination,
  type: 'bind',
  source,
  options: ['rbind', 'rprivate', 'nosuid', 'nodev', ...(readonly ? ['ro'] : [])],
});

/** The whole config.json of a container. */
export function ociConfig(input: OciConfigInput) {
  const { resources } = input;
  return {
    ociVersion: '1.0.2',
    process: ociProcess({ ...input.process, args: [INIT_PATH, '--', ...input.process.args] }),
    root: { path: input.rootfsPath, readonly: false },
    hostname: input.hostname,
    mounts: [
      ...standardMounts(),
      bind(INIT_PATH, input.initBinary, true),
      bind('/etc/hosts', input.hostsPath),
      bind('/etc/resolv.conf', input.resolvConfPath),
      bind('/etc/hostname', input.hostnamePath),
      ...input.mounts,
    ],
    linux: {
      namespaces: containerNamespaces(input.netnsPath),
      cgroupsPath: input.cgroupsPath,
      resources: {
        devices: dockerDeviceRules(),
        ...(resources.memoryBytes === undefined
          ? {}
          : // No swap on top of the limit: the limit is what the container gets, and an OOM is an OOM.
            { memory: { limit: resources.memoryBytes, swap: resources.memoryBytes } }),
        ...(resources.cpus === undefined
          ? {}
          : { cpu: { quota: Math.round(resources.cpus * CPU_PERIOD), period: CPU_PERIOD } }),
        pids: { limit: resources.pidsLimit ?? DEFAULT_PIDS_LIMIT },
      },
      maskedPaths: DOCKER_MASKED_PATHS,
      readonlyPaths: DOCKER_READONLY_PATHS,
      seccomp: input.seccomp,
    },
  };
}
