import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { RootfsError, RootfsErrorCode } from './errors.js';

interface Pending {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly code: RootfsErrorCode;
}

/**
 * The overlay mounts, through native/'s `lxr-mount serve`: one long-running static helper that
 * takes requests on stdin (NUL-separated arguments) and answers a line each, so a mount costs two
 * pipe writes and the syscalls, not a process start (Node cannot chdir per call, and the relative
 * `l/<id>` lower dirs need the layer cache as the working directory). The helper is started on first
 * use and again after it died; requests in flight when it dies fail.
 */
export class Mounter {
  #child: ChildProcessWithoutNullStreams | undefined;
  readonly #pending: Pending[] = [];
  #buffer = '';

  constructor(readonly binary: string) {}

  /**
   * Makes `container` and its `u`, `w`, `m` directories and mounts an overlay on `m`: `lower` top
   * layer first, relative to `dir`.
   */
  prepare(dir: string, lower: string, container: string): Promise<void> {
    return this.#request(['prepare', dir, lower, container], RootfsErrorCode.MountFailed);
  }

  /** Mounts an overlay on `target` over existing directories: `lower` top layer first, relative to `dir`. */
  overlay(dir: string, lower: string, upper: string, work: string, target: string): Promise<void> {
    return this.#request(['overlay', dir, lower, upper, work, target], RootfsErrorCode.MountFailed);
  }

  /** Detaches whatever is mounted on `target`; nothing mounted there is fine. */
  unmount(target: string): Promise<void> {
    return this.#request(['unmount', target], RootfsErrorCode.UnmountFailed);
  }

  /** Ends the helper (it exits at the end of its input). */
  close(): void {
    this.#child?.stdin.end();
    this.#child = undefined;
  }

  #request(args: readonly string[], code: RootfsErrorCode): Promise<void> {
    if (args.some((a) => a.includes('\0'))) {
      return Promise.reject(
        new RootfsError(code, `a path with a NUL byte cannot be mounted: ${JSON.stringify(args)}`),
      );
    }
    const child = this.#helper();
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ resolve, reject, code });
      if (this.#pending.length === 1) this.#hold(child, true);
      child.stdin.write(`${args.join('\0')}\0`);
    });
  }

  /** Keeps the process alive while answers are due, and only then. */
  #hold(child: ChildProcessWithoutNullStreams, on: boolean): void {
    const handles = [child, child.stdout] as unknown as { ref(): void; unref(): void }[];
    for (const h of handles) {
      if (on) h.ref();
      else h.unref();
    }
  }

  #helper(): ChildProcessWithoutNullStreams {
    if (this.#child) return this.#child;
    const child = spawn(this.binary, ['serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    this.#buffer = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => this.#answers(text));
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr = (stderr + text).slice(-2000);
    });
    const failAll = (why: string) => {
      if (this.#child === child) this.#child = undefined;
      this.#hold(child, false);
      for (const p of this.#pending.splice(0)) p.reject(new RootfsError(p.code, why));
    };
    child.once('error', (error) => failAll(`cannot run ${this.binary}: ${error.message}`));
    child.once('exit', (status, signal) =>
      failAll(`${this.binary} exited (${signal ?? status})${stderr ? `: ${stderr.trim()}` : ''}`),
    );
    // A write to a helper that just died must not crash the process: its exit fails the request.
    child.stdin.on('error', () => undefined);
    // An idle helper never keeps the process alive (see #hold).
    for (const stream of [child.stdin, child.stderr]) (stream as unknown as { unref(): void }).unref();
    this.#hold(child, false);
    return child;
  }

  #answers(text: string): void {
    this.#buffer += text;
    for (let newline = this.#buffer.indexOf('\n'); newline >= 0; newline = this.#buffer.indexOf('\n')) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + 1);
      const pending = this.#pending.shift();
      if (!pending) continue;
      if (this.#pending.length === 0 && this.#child) this.#hold(this.#child, false);
      if (line === 'ok') pending.resolve();
      else pending.reject(new RootfsError(pending.code, line.replace(/^error /, '')));
    }
  }
}

/** `\040` and friends of /proc/self/mountinfo back into characters. */
const unescapeOctal = (field: string): string =>
  field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));

/** The mount points of this mount namespace (field 5 of /proc/self/mountinfo). */
export async function mountPoints(): Promise<Set<string>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const points = new Set<string>();
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field) points.add(unescapeOctal(field));
  }
  return points;
}
