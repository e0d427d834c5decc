// Docker's defaults for a container, in OCI runtime-spec (config.json) form. The executor builds
// every container's config from these, and the tests build their bundles from the same lists, so a
// test checks what containers really get.

/** An entry of config.json `mounts`. */
export interface OciMount {
  readonly destination: string;
  readonly type?: string;
  readonly source?: string;
  readonly options?: readonly string[];
}

/** An entry of config.json `linux.namespaces`; `path` joins an existing one. */
export interface OciNamespace {
  readonly type: string;
  readonly path?: string;
}

/** Docker's 14 default capabilities: CapEff 00000000a80425fb. */
export const DOCKER_CAPABILITIES: readonly string[] = [
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
];

/** Docker's masked paths: files read empty, directories are empty. */
export const DOCKER_MASKED_PATHS: readonly string[] = [
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

/** Docker's read-only paths. */
export const DOCKER_READONLY_PATHS: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

/** The devices a container may use (docker's allow list); `linux.resources.devices` denies the rest. */
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

/** `linux.resources.devices`: deny everything, then docker's allow list. */
export function dockerDeviceRules(): {
  allow: boolean;
  access: string;
  type?: string;
  major?: number;
  minor?: number;
}[] {
  return [
    { allow: false, access: 'rwm' },
    ...ALLOWED_DEVICES.map((d) => ({ allow: true, access: 'rwm', ...d })),
  ];
}

/** The filesystems every container gets: /proc, /dev (+ pts, shm, mqueue), /sys and its cgroups read-only. */
export function standardMounts(): OciMount[] {
  return [
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
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
    },
  ];
}

/** New pid, ipc, uts, mount and cgroup namespaces; the network one joined at `netnsPath`, or new. */
export function containerNamespaces(netnsPath?: string): OciNamespace[] {
  return [
    { type: 'pid' },
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'mount' },
    { type: 'cgroup' },
    netnsPath === undefined ? { type: 'network' } : { type: 'network', path: netnsPath },
  ];
}

/** Where lxr-init appears inside the container: in the runtime's /dev tmpfs, so the image is untouched. */
export const INIT_PATH = '/dev/.lxr-init';
