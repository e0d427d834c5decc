import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  containerNamespaces,
  DOCKER_CAPABILITIES,
  DOCKER_MASKED_PATHS,
  DOCKER_READONLY_PATHS,
  INIT_PATH,
  type OciMount,
  standardMounts,
} from '@lxr/runtime-spec';
import { busyboxRootfs } from './images.js';

export type { OciMount };

/** The repository root (this file is `libs/testkit/dist/bundle.js` once built). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Where the native binaries are: `LXR_NATIVE_DIR`, else `<repo>/native/build` (`make -C native`). */
export function nativeDir(): string {
  return process.env.LXR_NATIVE_DIR ?? path.join(repoRoot, 'native', 'build');
}

/** The seccomp profile with docker's default semantics, in OCI form (`native/seccomp/default.json`). */
export function dockerSeccompProfile(): OciSeccomp {
  return JSON.parse(readFileSync(path.join(repoRoot, 'native', 'seccomp', 'default.json'), 'utf8'));
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  syscalls?: { names: string[]; action: string; errnoRet?: number; args?: unknown[] }[];
}

export interface OciResources {
  devices?: { allow: boolean; type?: string; major?: number; minor?: number; access?: string }[];
  memory?: { limit?: number; swap?: number; reservation?: number };
  cpu?: { shares?: number; quota?: number; period?: number };
  pids?: { limit: number };
}

/** The parts of an OCI runtime-spec config.json that lxr uses (other fields may be added). */
export interface OciConfig {
  ociVersion: string;
  process: {
    terminal?: boolean;
    consoleSize?: { height: number; width: number };
    user: { uid: number; gid: number; additionalGids?: number[]; umask?: number };
    args: string[];
    env: string[];
    cwd: string;
    capabilities?: Partial<
      Record<'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient', string[]>
    >;
    rlimits?: { type: string; soft: number; hard: number }[];
    noNewPrivileges?: boolean;
    oomScoreAdj?: number;
    [field: string]: unknown;
  };
  root: { path: string; readonly?: boolean };
  hostname?: string;
  mounts: OciMount[];
  linux: {
    namespaces: { type: string; path?: string }[];
    uidMappings?: { containerID: number; hostID: number; size: number }[];
    gidMappings?: { containerID: number; hostID: number; size: number }[];
    resources?: OciResources;
    cgroupsPath?: string;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    seccomp?: OciSeccomp;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

export interface BundleOptions {
  /** The command; default `['sh']`. */
  readonly args?: readonly string[];
  readonly env?: readonly string[];
  readonly cwd?: string;
  readonly hostname?: string;
  readonly terminal?: boolean;
  /** Relative paths are below the runtime's own cgroup. */
  readonly cgroupsPath?: string;
  /** Join this network namespace (e.g. `/run/netns/x`) instead of creating an empty one. */
  readonly netns?: string;
  readonly resources?: OciResources;
  /** `docker` (default): docker's 14 capabilities, seccomp profile, masked and read-only paths and
   * no_new_privs. `none`: none of that (a bare runc-spec-like config). */
  readonly security?: 'docker' | 'none';
  readonly readonlyRoot?: boolean;
  /** Run the command under lxr-init: bound read-only at /dev/.lxr-init, as the executor does. */
  readonly init?: boolean;
  readonly mounts?: readonly OciMount[];
}

/** An OCI config.json as `runc spec` writes it, with docker's defaults and the given overrides. */
export function ociConfig(options: BundleOptions = {}): OciConfig {
  const docker = (options.security ?? 'docker') === 'docker';
  const args = [...(options.args ?? ['sh'])];
  const mounts: OciMount[] = standardMounts();
  if (options.init) {
    mounts.push({
      destination: INIT_PATH,
      type: 'bind',
      source: path.join(nativeDir(), 'lxr-init'),
      options: ['bind', 'ro'],
    });
    args.unshift(INIT_PATH, '--');
  }
  mounts.push(...(options.mounts ?? []));
  const namespaces = containerNamespaces(options.netns);
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: options.terminal ?? false,
      user: { uid: 0, gid: 0 },
      args,
      env: [
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'HOME=/root',
        ...(options.env ?? []),
      ],
      cwd: options.cwd ?? '/',
      ...(docker
        ? {
            capabilities: {
              bounding: [...DOCKER_CAPABILITIES],
              effective: [...DOCKER_CAPABILITIES],
              permitted: [...DOCKER_CAPABILITIES],
            },
            noNewPrivileges: true,
          }
        : {}),
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
    },
    root: { path: 'rootfs', readonly: options.readonlyRoot ?? false },
    hostname: options.hostname ?? 'lxr-test',
    mounts,
    linux: {
      namespaces,
      resources: { devices: [{ allow: false, access: 'rwm' }], ...options.resources },
      ...(options.cgroupsPath ? { cgroupsPath: options.cgroupsPath } : {}),
      ...(docker
        ? {
            maskedPaths: [...DOCKER_MASKED_PATHS],
            readonlyPaths: [...DOCKER_READONLY_PATHS],
            seccomp: dockerSeccompProfile(),
          }
        : {}),
    },
  };
}

/** Every applet of the installed busybox, for a rootfs where any test command works. */
export function busyboxApplets(busybox = '/bin/busybox'): string[] {
  return execFileSync(busybox, ['--list'], { encoding: 'utf8' })
    .split('\n')
    .filter((a) => a !== '' && a !== 'busybox');
}

/** An OCI bundle on disk: `dir/config.json` and `dir/rootfs`. */
export interface Bundle {
  readonly dir: string;
  readonly rootfs: string;
  /** The config as written; change it and call `write()` to rewrite config.json. */
  config: OciConfig;
  write(): void;
}

/**
 * Builds an OCI bundle from the installed busybox in `dir` (created), its config from
 * `ociConfig(options)`. The same bundle runs under lxr-runtime and runc.
 *
 * @example
 *   const b = await createBusyboxBundle(dir, { args: ['hostname'], hostname: 'web' });
 *   execFileSync(runtime, ['run', '--bundle', b.dir, 'id1']);
 */
export async function createBusyboxBundle(dir: string, options: BundleOptions = {}): Promise<Bundle> {
  const rootfs = path.join(dir, 'rootfs');
  await busyboxRootfs(rootfs, busyboxApplets());
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'root', 'run'])
    mkdirSync(path.join(rootfs, d), { recursive: true });
  const bundle: Bundle = {
    dir,
    rootfs,
    config: ociConfig(options),
    write() {
      writeFileSync(path.join(dir, 'config.json'), `${JSON.stringify(bundle.config, null, 2)}\n`);
    },
  };
  bundle.write();
  return bundle;
}

/**
 * The host directories of a cgroup path, one per hierarchy this process is in (v1 controllers, the
 * hybrid unified one, or v2's single one). A relative path is below this process's own cgroup, as
 * runtimes resolve a relative `cgroupsPath`.
 */
export function cgroupDirs(cgroupPath: string): string[] {
  const dirs: string[] = [];
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const [, controllers = '', own = '/'] = line.split(':');
    const mount =
      controllers === ''
        ? existsSync('/sys/fs/cgroup/unified')
          ? '/sys/fs/cgroup/unified'
          : '/sys/fs/cgroup'
        : `/sys/fs/cgroup/${controllers.replace('name=', '')}`;
    if (existsSync(mount)) dirs.push(path.join(mount, cgroupPath.startsWith('/') ? '' : own, cgroupPath));
  }
  return dirs;
}

/** rmdir of a cgroup directory and the cgroups below it, deepest first (cgroupfs allows only rmdir). */
export function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true }))
    if (entry.isDirectory()) removeCgroupTree(path.join(dir, entry.name));
  try {
    rmdirSync(dir);
  } catch {
    // still busy: the test that left a process there reports it
  }
}
