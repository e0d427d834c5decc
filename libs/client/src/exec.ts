import { ApiError, ApiUnreachableError } from './errors.js';
import type { Problem } from './types.js';

/** Frame types of an exec session (see the API's `execContainer`). */
const Frame = { Stdin: 0, Resize: 1, CloseStdin: 2, Stdout: 1, Stderr: 2, Exit: 3, Signal: 4 } as const;

/** What `lxr exec` asks for. */
export interface ExecOptions {
  /** The command and its arguments. */
  readonly cmd: readonly string[];
  readonly tty?: boolean;
  /** Keep stdin open (`-i`). */
  readonly interactive?: boolean;
  readonly user?: string;
  readonly workingDir?: string;
  readonly env?: readonly string[];
  /** The terminal's size with `tty`. */
  readonly rows?: number;
  readonly cols?: number;
}

/** How an exec ended: the exit status, or the error that kept the process from running. */
export interface ExecExit {
  readonly exitCode?: number;
  readonly signal?: string | null;
  readonly error?: string;
  readonly code?: string;
}

/** A running exec session. */
export interface ExecSession {
  /** Output as it comes: `stdout` (everything with a tty) and `stderr`. */
  onOutput(listener: (stream: 'stdout' | 'stderr', data: Buffer) => void): void;
  write(data: Uint8Array | string): void;
  closeStdin(): void;
  resize(rows: number, cols: number): void;
  signal(signal: number): void;
  /** Ends the session from this side: the process loses its stdin and keeps running. */
  close(): void;
  /** Resolves when the process ended. */
  readonly exit: Promise<ExecExit>;
}

/** Opens `GET /v1/containers/{ref}/exec` as a WebSocket. */
export function openExec(
  base: string,
  token: string | undefined,
  ref: string,
  options: ExecOptions,
): Promise<ExecSession> {
  const query = new URLSearchParams();
  for (const arg of options.cmd) query.append('cmd', arg);
  if (options.tty) query.set('tty', 'true');
  if (options.interactive) query.set('interactive', 'true');
  if (options.user) query.set('user', options.user);
  if (options.workingDir) query.set('workdir', options.workingDir);
  for (const e of options.env ?? []) query.append('env', e);
  if (options.rows) query.set('rows', String(options.rows));
  if (options.cols) query.set('cols', String(options.cols));
  return openSession(base, token, `/v1/containers/${encodeURIComponent(ref)}/exec?${query}`);
}

/** Opens `GET /v1/containers/{ref}/attach` as a WebSocket: the main process's stdio from now on. */
export function openAttach(
  base: string,
  token: string | undefined,
  ref: string,
  size: { readonly rows?: number; readonly cols?: number } = {},
): Promise<ExecSession> {
  const query = new URLSearchParams();
  if (size.rows) query.set('rows', String(size.rows));
  if (size.cols) query.set('cols', String(size.cols));
  return openSession(base, token, `/v1/containers/${encodeURIComponent(ref)}/attach?${query}`);
}

/** A session WebSocket (exec or attach): frames both ways, the exit frame last. */
async function openSession(base: string, token: string | undefined, path: string): Promise<ExecSession> {
  // Loaded here, not at start-up: only exec and attach need it, and every module costs `lxr` start time.
  const { default: WebSocket } = await import('ws');
  const url = `${base.replace(/^http/, 'ws')}${path}`;
  const socket = new WebSocket(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const listeners: ((stream: 'stdout' | 'stderr', data: Buffer) => void)[] = [];
  const early: [stream: 'stdout' | 'stderr', data: Buffer][] = [];
  let resolveExit!: (exit: ExecExit) => void;
  const exit = new Promise<ExecExit>((resolve) => {
    resolveExit = resolve;
  });
  const send = (type: number, payload: Uint8Array = new Uint8Array()) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(Buffer.concat([Buffer.from([type]), payload]));
  };
  socket.on('message', (data: Buffer) => {
    const type = data[0];
    const payload = data.subarray(1);
    if (type === Frame.Exit) {
      resolveExit(JSON.parse(payload.toString('utf8')) as ExecExit);
      return;
    }
    const stream = type === Frame.Stderr ? 'stderr' : 'stdout';
    if (listeners.length === 0) early.push([stream, payload]);
    for (const listener of listeners) listener(stream, payload);
  });
  socket.on('close', () => resolveExit({ error: 'the exec session closed without an exit status' }));
  const session: ExecSession = {
    onOutput(listener) {
      listeners.push(listener);
      for (const [stream, data] of early.splice(0)) listener(stream, data);
    },
    write: (data) => send(Frame.Stdin, typeof data === 'string' ? Buffer.from(data) : data),
    closeStdin: () => send(Frame.CloseStdin),
    resize(rows, cols) {
      const payload = Buffer.alloc(4);
      payload.writeUInt16BE(rows, 0);
      payload.writeUInt16BE(cols, 2);
      send(Frame.Resize, payload);
    },
    signal: (signal) => send(Frame.Signal, Buffer.from([signal])),
    close: () => socket.close(1000, 'closed by the client'),
    exit,
  };
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(session));
    socket.once('unexpected-response', (_request, response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () => {
        const status = response.statusCode ?? 500;
        let problem: Problem;
        try {
          problem = JSON.parse(text) as Problem;
        } catch {
          problem = {
            type: 'about:blank',
            title: 'Error',
            status,
            code: 'CLIENT_BAD_RESPONSE',
            detail: `exec answered HTTP ${status}`,
          };
        }
        reject(new ApiError(problem));
      });
    });
    socket.once('error', (error) => reject(new ApiUnreachableError(base, { cause: error })));
  });
}
