import { open, readFile } from 'node:fs/promises';
import { executorStreamSubject, type LogsRequest, SessionFrame } from '@lxr/events';
import type { NatsConnection } from 'nats';
import type { NodeRuntime } from '../runtime/node-runtime.js';

const CHUNK = 64 * 1024;
const FOLLOW_POLL_MS = 100;

/** The log's lines, oldest first, across rotated files (`log.2`, `log.1`, `log`). */
async function readLines(file: string): Promise<{ lines: string[]; offset: number }> {
  const lines: string[] = [];
  let offset = 0;
  for (const name of [`${file}.2`, `${file}.1`, file]) {
    let text: string;
    try {
      text = await readFile(name, 'utf8');
    } catch {
      continue;
    }
    if (name === file) offset = Buffer.byteLength(text);
    for (const line of text.split('\n')) if (line !== '') lines.push(line);
  }
  return { lines, offset };
}

const timeOf = (line: string) => /"time":"([^"]+)"/.exec(line)?.[1] ?? '';

/**
 * Sends a container's log (docker's json-file lines) on the session's out subject: the lines
 * asked for, then with `follow` the new ones until the container exits or the session is
 * cancelled; then an end frame.
 */
export async function startLogsSession(
  request: LogsRequest,
  deps: { runtime: NodeRuntime; nats: NatsConnection; node: string; signal: AbortSignal },
): Promise<void> {
  const { runtime, nats, node } = deps;
  const paths = runtime.paths(request.containerId);
  const out = executorStreamSubject(node, 'logs', request.session, 'out');
  let cancelled = false;
  const cancel = nats.subscribe(executorStreamSubject(node, 'logs', request.session, 'in'), {
    callback: () => {
      cancelled = true;
    },
  });
  const send = (lines: readonly string[]) => {
    let chunk = '';
    for (const line of lines) {
      chunk += `${line}\n`;
      if (chunk.length >= CHUNK) {
        nats.publish(out, Buffer.concat([Buffer.from([SessionFrame.Stdout]), Buffer.from(chunk)]));
        chunk = '';
      }
    }
    if (chunk) nats.publish(out, Buffer.concat([Buffer.from([SessionFrame.Stdout]), Buffer.from(chunk)]));
  };
  const since = request.since ? Date.parse(request.since) : undefined;
  const keep = (line: string) => since === undefined || Date.parse(timeOf(line)) >= since;
  let { lines, offset } = await readLines(paths.log);
  lines = lines.filter(keep);
  if (request.tail !== undefined) lines = request.tail === 0 ? [] : lines.slice(-request.tail);
  send(lines);

  void (async () => {
    try {
      let partial = '';
      while (request.follow && !cancelled && !deps.signal.aborted) {
        const running = (await runtime.state(request.containerId)).status === 'running';
        // Read what was appended since; a rotation (a shorter file) starts over at 0.
        const file = await open(paths.log, 'r').catch(() => undefined);
        if (file) {
          try {
            const { size } = await file.stat();
            if (size < offset) offset = 0;
            if (size > offset) {
              const buffer = Buffer.alloc(size - offset);
              await file.read(buffer, 0, buffer.length, offset);
              offset = size;
              const text = partial + buffer.toString('utf8');
              const cut = text.lastIndexOf('\n');
              partial = text.slice(cut + 1);
              send(
                text
                  .slice(0, cut + 1)
                  .split('\n')
                  .filter((l) => l !== '' && keep(l)),
              );
            }
          } finally {
            await file.close();
          }
        }
        if (!running) break;
        await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
      }
    } finally {
      cancel.unsubscribe();
      nats.publish(out, Buffer.concat([Buffer.from([SessionFrame.Exit]), Buffer.from('{}')]));
    }
  })();
}
