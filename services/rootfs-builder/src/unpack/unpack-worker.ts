// The unpack worker: runs one UnpackSession at a time for the thread that started it (index.ts).
//   in:  start {target, limits, expectedDiffId, nodesHelper} · chunk {data} · end
//   out: ack (one per chunk) · done {result} · error {code, message}
import { parentPort } from 'node:worker_threads';
import { UnpackError, UnpackErrorCode } from './errors.js';
import type { WriterLimits } from './layer-writer.js';
import { type SessionResult, UnpackSession } from './unpack-session.js';

export type ToWorker =
  | {
      readonly type: 'start';
      readonly target: string;
      readonly limits: WriterLimits;
      readonly expectedDiffId: string;
      readonly nodesHelper: string;
    }
  | { readonly type: 'chunk'; readonly data: Uint8Array }
  | { readonly type: 'end' };

export type FromWorker =
  | { readonly type: 'ack' }
  | { readonly type: 'done'; readonly result: SessionResult }
  | { readonly type: 'error'; readonly code: string; readonly message: string };

const port = parentPort;
if (port) {
  let session: UnpackSession | undefined;
  let nodesHelper = '';
  const fail = (error: unknown) => {
    session = undefined;
    const reply: FromWorker =
      error instanceof UnpackError
        ? { type: 'error', code: error.code, message: error.message }
        : {
            type: 'error',
            code: UnpackErrorCode.WriteFailed,
            message: `unpacking failed: ${error instanceof Error ? error.message : String(error)}`,
          };
    port.postMessage(reply);
  };
  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'start':
        try {
          nodesHelper = message.nodesHelper;
          session = new UnpackSession(message.target, message.limits, message.expectedDiffId);
        } catch (error) {
          fail(error);
        }
        break;
      case 'chunk':
        // After a failure the rest of the stream is dropped: the caller stops at the error reply.
        if (!session) break;
        try {
          const data = message.data;
          session.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
          port.postMessage({ type: 'ack' } satisfies FromWorker);
        } catch (error) {
          fail(error);
        }
        break;
      case 'end': {
        const ending = session;
        session = undefined;
        ending
          ?.end(nodesHelper)
          .then((result) => port.postMessage({ type: 'done', result } satisfies FromWorker), fail);
        break;
      }
      default: {
        const never: never = message;
        fail(new Error(`unknown message ${JSON.stringify(never)}`));
      }
    }
  });
}
