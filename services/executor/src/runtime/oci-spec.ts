import { readFileSync } from 'node:fs';
import type { ResourceLimits, RootfsMount } from '@lxr/events';
import type { ProcessUser } from './users.js';

// The OCI runtime-spec config.json the executor writes for every container: docker's defaults
// for security (capabilities, masked and read-only paths, seccomp, no_new_privs) and mounts.

/** Docker's 14 default capabilities: CapEff 00000000a80425fb. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
] as const;

/** Docker's masked paths: files read empty, directories are empty. */
export const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Podman's default pids limit: a fork bomb stops here unless `--pids-limit` says otherwise. */
export const DEFAULT_PIDS_LIMIT = 2048;
/** Where lxr-init appears inside the container: in the runtime's /dev tmpfs, so the image is untouched. */
export const INIT_PATH = '/dev/.lxr-init';
const CPU_PERIOD = 100_000;

/** The devices a container may use (docker's default allow list); everything else is denied. */
const ALLOWED_DEVICES = [
  { type: 'c', major: 1, minor: 3 }, // null
  { type: 'c', major: 1, minor: 5 }, // zero
  { type: 'c', major: 1, minor: 7 }, // full
  { type: 'c', major: 1, minor: 8 }, // random
  { type: 'c', major: 1, minor: 9 }, // urandom
  { type: 'c', major: 5, minor: 0 }, // tty
  { type: 'c', major: 5, minor: 2 }, // ptmx
  { type: 'c', major: 136 }, // pts/*
];

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
  const caps = [...DEFAULT_CAPABILITIES];
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
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      {
        destination: '/dev/mqueue',
        type: 'mqueue',
        source: 'mqueue',
        options: ['nosuid', 'noexec', 'nodev'],
      },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      {
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
      },
      bind(INIT_PATH, input.initBinary, true),
      bind('/etc/hosts', input.hostsPath),
      bind('/etc/resolv.conf', input.resolvConfPath),
      bind('/etc/hostname', input.hostnamePath),
      ...input.mounts,
    ],
    linux: {
      namespaces: [
        { type: 'pid' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        { type: 'cgroup' },
        { type: 'network', path: input.netnsPath },
      ],
      cgroupsPath: input.cgroupsPath,
      resources: {
        devices: [
          { allow: false, access: 'rwm' },
          ...ALLOWED_DEVICES.map((d) => ({ allow: true, access: 'rwm', ...d })),
        ],
        ...(resources.memoryBytes === undefined
          ? {}
          : // No swap on top of the limit: the limit is what the container gets, and an OOM is an OOM.
            { memory: { limit: resources.memoryBytes, swap: resources.memoryBytes } }),
        ...(resources.cpus === undefined
          ? {}
          : { cpu: { quota: Math.round(resources.cpus * CPU_PERIOD), period: CPU_PERIOD } }),
        pids: { limit: resources.pidsLimit ?? DEFAULT_PIDS_LIMIT },
      },
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
      seccomp: input.seccomp,
    },
  };
}
