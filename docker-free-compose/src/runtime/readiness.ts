import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { ReadinessCheck } from '../config/compose-file.js';
import { spawnGroup } from './process-group.js';

/** The outcome of one probe; `detail` says why it failed. */
export interface ProbeResult {
  readonly ok: boolean;
  readonly detail?: string;
}

/** How a command probe runs: as the service's user, in its directory and environment. */
export interface ProbeContext {
  readonly timeoutMs: number;
  readonly env: Record<string, string>;
  readonly cwd: string;
  readonly uid?: number;
  readonly gid?: number;
  /** Kills a running probe command when it aborts (the supervisor is stopping). */
  readonly signal?: AbortSignal;
}

/** Runs one readiness probe. Never throws. */
export function probe(check: ReadinessCheck, context: ProbeContext): Promise<ProbeResult> {
  switch (check.kind) {
    case 'http':
      return probeHttp(check.url, context.timeoutMs);
    case 'tcp':
      return probeTcp(check.host, check.port, context.timeoutMs);
    case 'command':
      return probeCommand(check.argv, context);
    default: {
      const _never: never = check;
      return _never;
    }
  }
}

function probeHttp(url: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const client = url.startsWith('https:') ? https : http;
    const request = client.get(url, { agent: false, timeout: timeoutMs }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      resolve(
        status >= 200 && status < 300 ? { ok: true } : { ok: false, detail: `GET ${url}: HTTP ${status}` },
      );
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) => resolve({ ok: false, detail: `GET ${url}: ${error.message}` }));
  });
}

function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(timeoutMs);
    const done = (result: ProbeResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => done({ ok: true }));
    socket.once('timeout', () =>
      done({ ok: false, detail: `tcp ${host}:${port}: no answer within ${timeoutMs} ms` }),
    );
    socket.once('error', (error) => done({ ok: false, detail: `tcp ${host}:${port}: ${error.message}` }));
  });
}

async function probeCommand(argv: readonly string[], context: ProbeContext): Promise<ProbeResult> {
  const { env, cwd, uid, gid } = context;
  const proc = spawnGroup(argv, { env, cwd, uid, gid, output: 'pipe' });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-500);
  };
  proc.stdout?.on('data', collect);
  proc.stderr?.on('data', collect);
  const kill = () => proc.signal('SIGKILL');
  const timer = setTimeout(kill, context.timeoutMs);
  context.signal?.addEventListener('abort', kill, { once: true });
  const exit = await proc.exited;
  clearTimeout(timer);
  context.signal?.removeEventListener('abort', kill);
  if (exit.error) return { ok: false, detail: `${argv[0]}: ${exit.error.message}` };
  if (exit.code === 0) return { ok: true };
  const why =
    exit.signal === 'SIGKILL'
      ? `timed out after ${context.timeoutMs} ms`
      : `exited with ${exit.code ?? exit.signal}`;
  const last = output.trim().split('\n').pop();
  return { ok: false, detail: `${argv.join(' ')} ${why}${last ? `: ${last}` : ''}` };
}
