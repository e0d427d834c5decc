import path from 'node:path';

/** Where the native binaries are and where the executor keeps its files on the node. */
export interface NodeLayout {
  /** lxr-monitor. */
  readonly monitor: string;
  /** lxr-init, bind-mounted into every container at /dev/.lxr-init. */
  readonly init: string;
  /** The OCI runtime: lxr-runtime, or runc as the reference. */
  readonly runtime: string;
  /** The runtime's `--root`: its per-container state. */
  readonly runtimeRoot: string;
  /** The seccomp profile (a runtime-spec `linux.seccomp` object as JSON). */
  readonly seccompProfile: string;
  /**
   * The monitors' state dirs live under here, one per container. On a tmpfs (`/run`) so a reboot
   * forgets them with the monitors; short, because it holds unix sockets (108-byte paths).
   */
  readonly runDir: string;
  /** Bundles and logs, one dir per container, kept across restarts of the container. */
  readonly dataDir: string;
}

/** One container's paths. */
export interface ContainerPaths {
  readonly dir: string;
  readonly bundle: string;
  readonly config: string;
  readonly hostname: string;
  readonly log: string;
  /** The monitor's state dir. */
  readonly state: string;
  /** Written by the executor: which start of the container the state dir belongs to. */
  readonly attempt: string;
  /** Written once `runtime start` succeeded: without it a live monitor holds a never-started container. */
  readonly started: string;
  readonly exit: string;
  readonly pid: string;
  readonly monitorPid: string;
  readonly attach: string;
}

export function containerPaths(layout: NodeLayout, id: string): ContainerPaths {
  const dir = path.join(layout.dataDir, id);
  const bundle = path.join(dir, 'bundle');
  const state = path.join(layout.runDir, id);
  return {
    dir,
    bundle,
    config: path.join(bundle, 'config.json'),
    hostname: path.join(bundle, 'hostname'),
    log: path.join(dir, 'container.log'),
    state,
    attempt: path.join(state, 'attempt'),
    started: path.join(state, 'started'),
    exit: path.join(state, 'exit.json'),
    pid: path.join(state, 'pid'),
    monitorPid: path.join(state, 'monitor.pid'),
    attach: path.join(state, 'attach.sock'),
  };
}

/** `--root DIR` for every runtime command. */
export const runtimeArgs = (layout: NodeLayout, ...args: string[]): string[] => [
  '--root',
  layout.runtimeRoot,
  ...args,
];

/** The cgroup path the executor gives a container (config.json `linux.cgroupsPath`). */
export const cgroupPath = (id: string): string => `/lxr/${id}`;
