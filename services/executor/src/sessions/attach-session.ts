import { connect } from 'node:net';
import { type AttachRequest, executorStreamSubject, SessionFrame } from '@lxr/events';
import type { NatsConnection } from 'nats';
import { ExecutorError, ExecutorErrorCode } from '../errors.js';
import type { NodeRuntime } from '../runtime/node-runtime.js';
import { encodeFrame, FrameDecoder } from './frames.js';

/**
 * Attaches a session to the container's main process through its monitor's attach socket: output
 * and the exit frame to the session's out subject, stdin, resizes and close-stdin from its in subject.
 */
export async function startAttachSession(
  request: AttachRequest,
  deps: { runtime: NodeRuntime; nats: NatsConnection; node: string },
): Promise<void> {
  const { runtime, nats, node } = deps;
  const state = await runtime.state(request.containerId);
  if (state.status !== 'running') {
    throw new ExecutorError(ExecutorErrorCode.NotRunning, `container ${request.containerId} is not running`);
  }
  const socket = connect(runtime.paths(request.containerId).attach);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', (error) =>
      reject(
        new ExecutorError(ExecutorErrorCode.NotRunning, `cannot attach: ${error.message}`, { cause: error }),
      ),
    );
  });
  const out = executorStreamSubject(node, 'attach', request.session, 'out');
  let ended = false;
  const input = nats.subscribe(executorStreamSubject(node, 'attach', request.session, 'in'), {
    callback: (_error, msg) => {
      if (msg.data.length > 0 && !ended) socket.write(encodeFrame(msg.data[0]!, msg.data.subarray(1)));
    },
  });
  const end = (exit: Buffer) => {
    if (ended) return;
    ended = true;
    nats.publish(out, Buffer.concat([Buffer.from([SessionFrame.Exit]), exit]));
    input.unsubscribe();
    socket.destroy();
  };
  const decoder = new FrameDecoder();
  socket.on('data', (chunk: Buffer) => {
    for (const frame of decoder.push(chunk)) {
      if (frame.type === SessionFrame.Exit) end(frame.payload);
      else nats.publish(out, Buffer.concat([Buffer.from([frame.type]), frame.payload]));
    }
  });
  socket.on('error', () => {});
  socket.on('close', () =>
    end(Buffer.from(JSON.stringify({ error: 'detached: the monitor closed the attach socket' }))),
  );
  if (request.rows && request.cols) {
    const size = Buffer.alloc(4);
    size.writeUInt16BE(request.rows, 0);
    size.writeUInt16BE(request.cols, 2);
    socket.write(encodeFrame(SessionFrame.Resize, size));
  }
}
