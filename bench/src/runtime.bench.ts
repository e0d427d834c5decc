/**
 * lxr-runtime against runc on the same busybox bundle (docker's capabilities, seccomp profile,
 * masked paths, a cgroup): the container lifecycle of `true` and exec of `true` into a running one.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Bundle, cgroupDirs, createBusyboxBundle, nativeDir, removeCgroupTree } from '@lxr/testkit';
import { type BenchRow, type BenchSection, cpuMeter, formatMs, quantile } from './bench.js';

const RUNS = Number(process.env['LXR_BENCH_RUNTIME_RUNS'] ?? 50);

interface Runtime {
  readonly name: string;
  readonly bin: string;
  readonly root: string;
}

/** Runs one runtime command. Its stderr goes to a file: a container keeps the stdio of `create`,
 * and a pipe would keep spawnSync waiting for the container. */
function call(rt: Runtime, args: readonly string[]): void {
  const errFile = path.join(rt.root, '..', `${rt.name}.stderr`);
  const err = openSync(errFile, 'w');
  try {
    const r = spawnSync(rt.bin, ['--root', rt.root, ...args], { stdio: ['ignore', 'ignore', err] });
    if (r.status !== 0)
      throw new Error(`${rt.name} ${args[0]} failed: ${readFileSync(errFile, 'utf8').trim() || r.error}`);
  } finally {
    closeSync(err);
  }
}

function timed(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Until the process is gone or a zombie (the container's init is reparented, not our child). */
function waitExit(pid: number): void {
  for (;;) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/\) [ZX] /.test(stat)) return;
    } catch {
      return;
    }
  }
}

interface Figures {
  run: number[];
  lifecycle: number[];
  toRunning: number[];
  exec: number[];
}

function measure(rt: Runtime, bundle: Bundle, sleeper: Bundle, log: (l: string) => void): Figures {
  const f: Figures = { run: [], lifecycle: [], toRunning: [], exec: [] };
  const pidFile = path.join(rt.root, 'bench.pid');
  for (let i = 0; i < RUNS; i++) {
    const id = `bench-${process.pid}-${i}`;
    f.run.push(timed(() => call(rt, ['run', '--bundle', bundle.dir, `${id}-run`])));
    let running = 0;
    f.lifecycle.push(
      timed(() => {
        running = timed(() => {
          call(rt, ['create', '--bundle', bundle.dir, '--pid-file', pidFile, id]);
          call(rt, ['start', id]);
        });
        waitExit(Number(readFileSync(pidFile, 'utf8')));
        call(rt, ['delete', id]);
      }),
    );
    f.toRunning.push(running);
  }
  const id = `bench-${process.pid}-sleeper`;
  call(rt, ['create', '--bundle', sleeper.dir, id]);
  call(rt, ['start', id]);
  try {
    for (let i = 0; i < RUNS; i++) f.exec.push(timed(() => call(rt, ['exec', id, 'true'])));
  } finally {
    call(rt, ['delete', '--force', id]);
  }
  log(`${rt.name}: ${RUNS} runs each`);
  return f;
}

export const runtimeBench: BenchSection = {
  id: 'runtime',
  title: 'OCI runtime: lxr-runtime vs runc on the same bundle',
  setup:
    `busybox bundle with docker's 14 capabilities, seccomp profile, masked paths and a cgroup; ${RUNS} runs ` +
    'per figure, sequential, each command a fresh process (as the executor calls it). `run` is create+start+' +
    'wait+delete in one process; "lifecycle" is the four commands, waiting for the init to exit in between.',
  async run(log) {
    const runc = ['/usr/sbin/runc', '/usr/bin/runc'].find((p) => existsSync(p));
    const dir = await mkdtemp(path.join(tmpdir(), 'lxr-bench-rt-'));
    const cgroupParent = `lxr-bench-${process.pid}`;
    try {
      const options = { cgroupsPath: `${cgroupParent}/c` };
      const bundle = await createBusyboxBundle(path.join(dir, 'true'), { ...options, args: ['true'] });
      const sleeper = await createBusyboxBundle(path.join(dir, 'sleep'), {
        ...options,
        args: ['sleep', '100000'],
      });
      sleeper.config.linux.cgroupsPath = `${cgroupParent}/sleeper`;
      sleeper.write();
      const runtimes: Runtime[] = [
        {
          name: 'lxr-runtime',
          bin: path.join(nativeDir(), 'lxr-runtime'),
          root: path.join(dir, 'state-lxr'),
        },
        ...(runc ? [{ name: 'runc', bin: runc, root: path.join(dir, 'state-runc') }] : []),
      ];
      const cpu = cpuMeter();
      const figures = runtimes.map((rt) => ({ rt, f: measure(rt, bundle, sleeper, log) }));
      const load = cpu.stop();
      const lxr = figures[0]!.f;
      const ref = figures[1]?.f;
      const rows: BenchRow[] = [];
      const metrics: [keyof Figures, string, number | undefined][] = [
        ['run', '`run` of `true` (create+start+wait+delete)', undefined],
        ['lifecycle', 'create, start, wait, delete of `true`', undefined],
        ['toRunning', 'create+start until the command runs', 100],
        ['exec', 'exec `true` into a running container', 30],
      ];
      for (const [key, name, budget] of metrics) {
        for (const { rt, f } of figures) {
          const p50 = quantile(f[key], 0.5);
          const p95 = quantile(f[key], 0.95);
          const refP50 = ref ? quantile(ref[key], 0.5) : undefined;
          const mine = f === lxr;
          rows.push({
            name: `${rt.name}: ${name}`,
            result: `p50 ${formatMs(p50)}, p95 ${formatMs(p95)}`,
            ...(mine && refP50 !== undefined
              ? {
                  goal: `faster than runc${budget ? `, ≤ ${budget} ms` : ''}`,
                  met: p50 < refP50 && (budget === undefined || p50 <= budget),
                  notes: `${(refP50 / p50).toFixed(2)}× runc's p50; ${load}`,
                }
              : {}),
          });
        }
      }
      return rows;
    } finally {
      await rm(dir, { recursive: true, force: true });
      for (const d of cgroupDirs(cgroupParent)) removeCgroupTree(d);
    }
  },
};
