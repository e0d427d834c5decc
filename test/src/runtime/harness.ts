/**
 * Runs real containers from busybox bundles under an OCI runtime (lxr-runtime or runc, the same
 * commands), and removes everything a test leaves behind: containers, cgroups, netns, veths, dirs.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  type Bundle,
  type BundleOptions,
  cgroupDirs,
  createBusyboxBundle,
  nativeDir,
  removeCgroupTree,
  waitFor,
} from '@lxr/testkit';

const exec = promisify(execFile);

export interface Runtime {
  readonly name: string;
  readonly bin: string;
}

/** lxr-runtime, and runc when it is installed (the reference for the differential tests). */
export function runtimes(): Runtime[] {
  const list: Runtime[] = [{ name: 'lxr-runtime', bin: path.join(nativeDir(), 'lxr-runtime') }];
  for (const runc of ['/usr/sbin/runc', '/usr/bin/runc'])
    if (existsSync(runc)) {
      list.push({ name: 'runc', bin: runc });
      break;
    }
  return list;
}

export interface Result {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command to its end, with its output. Never rejects. With `detached`, its stdout and stderr
 * go to a file instead of pipes — for commands that leave a container holding them (create,
 * exec --detach) — and the result is there when the command itself exits.
 */
export function runCommand(
  bin: string,
  args: readonly string[],
  options: { extraFds?: number[]; detached?: string } = {},
): Promise<Result> {
  return new Promise((resolve) => {
    const out = options.detached ? openSync(options.detached, 'w') : undefined;
    const stdio = out === undefined ? (['ignore', 'pipe', 'pipe'] as const) : (['ignore', out, out] as const);
    const child = spawn(bin, args, { stdio: [...stdio, ...(options.extraFds ?? [])] });
    if (out !== undefined) closeSync(out);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
    });
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    child.on('error', (e) => resolve({ code: null, signal: null, stdout, stderr: stderr + String(e) }));
    child.on(out === undefined ? 'close' : 'exit', (code, signal) =>
      resolve({
        code,
        signal,
        stdout,
        stderr: options.detached ? readFileSync(options.detached, 'utf8') : stderr,
      }),
    );
  });
}

/** `name=value` lines of a container's output as a record. */
export function facts(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

let counter = 0;

/**
 * One test's sandbox: a temp dir with bundles, a state root per runtime, a cgroup parent below this
 * process's own cgroup, and cleanup of all of it (call `cleanup()` in `finally`/`after`).
 */
export class Sandbox {
  readonly cgroupParent = `lxr-test-${process.pid}`;
  private readonly containers: { rt: Runtime; id: string }[] = [];
  private readonly cleanups: (() => Promise<void>)[] = [];
  private constructor(readonly dir: string) {}

  static async create(): Promise<Sandbox> {
    const dir = await mkdtemp(path.join(tmpdir(), 'lxr-rt-'));
    await chmod(dir, 0o755); // a user namespace's root (an unprivileged uid) must reach the rootfs
    return new Sandbox(dir);
  }

  /** A fresh container id, unique across parallel test files. */
  id(): string {
    counter += 1;
    return `t${process.pid}-${counter}`;
  }

  rootOf(rt: Runtime): string {
    return path.join(this.dir, `state-${rt.name}`);
  }

  /** A busybox bundle with its cgroup under this sandbox's parent cgroup. */
  async bundle(options: BundleOptions = {}): Promise<Bundle> {
    counter += 1;
    return createBusyboxBundle(path.join(this.dir, `bundle-${counter}`), {
      cgroupsPath: `${this.cgroupParent}/b${counter}`,
      ...options,
    });
  }

  /** `RUNTIME --root R ARGS…`, remembering the container for cleanup. */
  runtime(
    rt: Runtime,
    args: readonly string[],
    id?: string,
    options: { extraFds?: number[]; detached?: boolean } = {},
  ): Promise<Result> {
    if (id && !this.containers.some((c) => c.rt === rt && c.id === id)) this.containers.push({ rt, id });
    counter += 1;
    const detached = options.detached ? path.join(this.dir, `output-${counter}.log`) : undefined;
    return runCommand(rt.bin, ['--root', this.rootOf(rt), ...args], { extraFds: options.extraFds, detached });
  }

  /** create + start + wait + delete in one (`run`), with the container's exit status as the code. */
  run(rt: Runtime, bundle: Bundle, id = this.id()): Promise<Result> {
    return this.runtime(rt, ['run', '--bundle', bundle.dir, id], id);
  }

  /** Creates and starts a long-running container, detached from this process's pipes. */
  async start(rt: Runtime, bundle: Bundle, id = this.id()): Promise<string> {
    const created = await this.runtime(rt, ['create', '--bundle', bundle.dir, id], id, { detached: true });
    if (created.code !== 0) throw new Error(`${rt.name} create failed: ${created.stderr}`);
    const started = await this.runtime(rt, ['start', id], id);
    if (started.code !== 0) throw new Error(`${rt.name} start failed: ${started.stderr}`);
    return id;
  }

  async state(rt: Runtime, id: string): Promise<{ status: string; pid: number }> {
    const r = await this.runtime(rt, ['state', id]);
    if (r.code !== 0) throw new Error(`${rt.name} state failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  /** Polls `state` until the container is stopped. */
  async waitStopped(rt: Runtime, id: string, timeoutMs = 20_000): Promise<void> {
    await waitFor(async () => (await this.state(rt, id)).status === 'stopped', `${id} to stop`, timeoutMs);
  }

  /** The host directories of a cgroup path below this process's cgroup, one per hierarchy. */
  cgroupDirs(relative: string): string[] {
    return cgroupDirs(relative);
  }

  /** Runs `fn` during cleanup (netns, veths…), in reverse order of registration. */
  onCleanup(fn: () => Promise<void>): void {
    this.cleanups.unshift(fn);
  }

  async cleanup(): Promise<void> {
    for (const { rt, id } of this.containers) await this.runtime(rt, ['delete', '--force', id]);
    for (const fn of this.cleanups) await fn().catch(() => undefined);
    for (const dir of this.cgroupDirs(this.cgroupParent).reverse()) removeCgroupTree(dir);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Runs `fn` with a fresh sandbox, cleaned up however `fn` ends. */
export async function withSandbox(fn: (box: Sandbox) => Promise<void>): Promise<void> {
  const box = await Sandbox.create();
  try {
    await fn(box);
  } finally {
    await box.cleanup();
  }
}

/** major and minor of the host's first disk (from /proc/partitions). */
export function hostDisk(): [number, number] {
  const line = readFileSync('/proc/partitions', 'utf8')
    .split('\n')
    .slice(2)
    .find((l) => l.trim() !== '');
  const [major = '8', minor = '0'] = line?.trim().split(/\s+/) ?? [];
  return [Number(major), Number(minor)];
}

/** Creates a network namespace with a veth whose inner end is eth0; removed at cleanup. */
export async function netnsWithVeth(box: Sandbox): Promise<string> {
  counter += 1;
  const tag = `lxrt${process.pid % 100000}${counter}`;
  const ns = `${tag}ns`;
  await exec('ip', ['netns', 'add', ns]);
  box.onCleanup(async () => {
    await exec('ip', ['netns', 'del', ns]).catch(() => undefined);
    await exec('ip', ['link', 'del', `${tag}h`]).catch(() => undefined);
  });
  await exec('ip', ['link', 'add', `${tag}h`, 'type', 'veth', 'peer', 'name', `${tag}c`]);
  await exec('ip', ['link', 'set', `${tag}c`, 'netns', ns]);
  await exec('ip', ['-n', ns, 'link', 'set', `${tag}c`, 'name', 'eth0']);
  return `/run/netns/${ns}`;
}
