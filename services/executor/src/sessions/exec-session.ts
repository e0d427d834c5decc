import { spawn } from 'node:child_process';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type DetachedExecReply, type ExecRequest, executorStreamSubject, SessionFrame } from '@lxr/events';
import type { Logger } from '@lxr/service-kit';
import type { NatsConnection } from 'nats';
import { mergeEnv } from '../domain/command-line.js';
import { ExecutorError, ExecutorErrorCode } from '../errors.js';
import { runtimeArgs } from '../runtime/node-layout.js';
import type { NodeRuntime } from '../runtime/node-runtime.js';
import { ociProcess } from '../runtime/oci-spec.js';
import { resolveUser } from '../runtime/users.js';
import { encodeFrame, FrameDecoder } from './frames.js';

interface BundleConfig {
  root: { path: string };
  process: { env: string[]; cwd: string; user: { uid: number; gid: number; additionalGids?: number[] } };
}

/** The process an exec request describes, written as the runtime's `--process` file. */
async function writeProcessFile(request: ExecRequest, runtime: NodeRuntime): Promise<string> {
  const id = request.containerId;
  const state = await runtime.state(id);
  if (state.status !== 'running') {
    throw new ExecutorError(ExecutorErrorCode.NotRunning, `container ${id} is not running`);
  }
  const paths = runtime.paths(id);
  const config = JSON.parse(await readFile(paths.config, 'utf8')) as BundleConfig;
  const user = request.user
    ? await resolveUser(config.root.path, request.user)
    : {
        uid: config.process.user.uid,
        gid: config.process.user.gid,
        additionalGids: config.process.user.additionalGids ?? [],
        home: '/',
      };
  const processFile = path.join(paths.state, `exec-${request.session}.json`);
  await writeFile(
    processFile,
    JSON.stringify(
      ociProcess({
        args: request.args,
        env: mergeEnv(config.process.env, request.tty ? ['TERM=xterm'] : [], request.env),
        cwd: request.workingDir ?? config.process.cwd,
        user,
        tty: request.tty,
        consoleSize: request.rows && request.cols ? { rows: request.rows, cols: request.cols } : undefined,
      }),
    ),
  );
  return processFile;
}

/**
 * Starts a detached exec (`detach: true`): `runtime exec --detach` with stdin from /dev/null and
 * stdout and stderr appended to a log file in the container's data dir. The process is the
 * container's, not ours: it outlives the executor, and the container's end ends it. Resolves with
 * its PID on the node once it runs.
 */
export async function startDetachedExec(
  request: ExecRequest,
  deps: { runtime: NodeRuntime },
): Promise<DetachedExecReply> {
  const { runtime } = deps;
  if (request.tty || request.interactive) {
    throw new ExecutorError(ExecutorErrorCode.BadRequest, 'a detached exec has no terminal and no stdin');
  }
  const processFile = await writeProcessFile(request, runtime);
  const paths = runtime.paths(request.containerId);
  const logPath = path.join(paths.dir, `exec-${request.session}.log`);
  const pidFile = path.join(paths.state, `exec-${request.session}.pid`);
  const log = await open(logPath, 'a', 0o600);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        runtime.layout.runtime,
        runtimeArgs(
          runtime.layout,
          'exec',
          '--detach',
          '--process',
          processFile,
          '--pid-file',
          pidFile,
          request.containerId,
        ),
        { stdio: ['ignore', log.fd, log.fd] },
      );
      child.on('error', reject);
      child.on('close', resolve);
    });
    if (code !== 0) {
      const output = (await readFile(logPath, 'utf8').catch(() => ''))
        .trim()
        .split('\n')
        .slice(-5)
        .join('\n');
      throw new ExecutorError(
        ExecutorErrorCode.ExecFailed,
        `cannot exec ${request.args[0]} in container ${request.containerId} (runtime exit ${code}): ${output}`,
      );
    }
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    return { session: request.session, pid, logPath };
  } finally {
    await log.close();
    await rm(processFile, { force: true });
    await rm(pidFile, { force: true });
  }
}

/**
 * Starts one `lxr exec` session: a process in every namespace and the cgroup of the container,
 * with its capabilities and seccomp filter, under `lxr-monitor exec`, whose frames are relayed to
 * and from the session's NATS subjects. Resolves once the session runs; its end is the exit frame.
 */
export async function startExecSession(
  request: ExecRequest,
  deps: { runtime: NodeRuntime; nats: NatsConnection; node: string; logger: Logger },
): Promise<void> {
  const { runtime, nats, node } = deps;
  const id = request.containerId;
  const processFile = await writeProcessFile(request, runtime);
  const child = spawn(
    runtime.layout.monitor,
    [
      'exec',
      '--runtime',
      runtime.layout.runtime,
      '--runtime-root',
      runtime.layout.runtimeRoot,
      '--id',
      id,
      '--process',
      processFile,
      ...(request.tty ? ['--tty'] : []),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const out = executorStreamSubject(node, 'exec', request.session, 'out');
  const input = nats.subscribe(executorStreamSubject(node, 'exec', request.session, 'in'), {
    callback: (_error, msg) => {
      const data = msg.data;
      if (data.length === 0 || !child.stdin?.writable) return;
      child.stdin.write(encodeFrame(data[0]!, data.subarray(1)));
    },
  });
  if (!request.interactive) child.stdin?.write(encodeFrame(SessionFrame.CloseStdin));
  child.stdin?.on('error', () => {});
  let ended = false;
  let stderr = '';
  const decoder = new FrameDecoder();
  const finish = (exit: Buffer) => {
    if (ended) return;
    ended = true;
    nats.publish(out, Buffer.concat([Buffer.from([SessionFrame.Exit]), exit]));
    input.unsubscribe();
    child.stdin?.end();
    void rm(processFile, { force: true });
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    for (const frame of decoder.push(chunk)) {
      if (frame.type === SessionFrame.Exit) finish(frame.payload);
      else nats.publish(out, Buffer.concat([Buffer.from([frame.type]), frame.payload]));
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.on('error', (error) =>
    finish(Buffer.from(JSON.stringify({ error: `cannot run lxr-monitor: ${error.message}` }))),
  );
  child.on('close', (code) => {
    if (!ended) {
      deps.logger.warn({ containerId: id, code, stderr }, 'exec monitor ended without an exit frame');
      finish(Buffer.from(JSON.stringify({ error: `lxr-monitor exec ended (${code}): ${stderr.trim()}` })));
    }
  });
}
