import type { EventBus, Subscription } from '@lxr/bus';
import {
  AttachRequest,
  type ExecRequest,
  ExecRequest as ExecRequestSchema,
  executorSubject,
  LogsRequest,
  StatsRequest,
} from '@lxr/events';
import type { Logger } from '@lxr/service-kit';
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { NatsConnection } from 'nats';
import { ExecutorError, ExecutorErrorCode } from '../errors.js';
import { cgroupStats } from '../runtime/cgroups.js';
import type { NodeRuntime } from '../runtime/node-runtime.js';
import { startAttachSession } from './attach-session.js';
import { startDetachedExec, startExecSession } from './exec-session.js';
import { startLogsSession } from './logs-session.js';

/** A checker of one request schema, compiled on its first request rather than at start-up. */
function validator<S extends TSchema>(schema: S, what: string) {
  let compiled: ReturnType<typeof TypeCompiler.Compile<S>> | undefined;
  return (payload: unknown): Static<S> => {
    compiled ??= TypeCompiler.Compile(schema);
    if (compiled.Check(payload)) return payload;
    const first = compiled.Errors(payload).First();
    throw new ExecutorError(
      ExecutorErrorCode.BadRequest,
      `malformed ${what} request at ${first?.path || '/'}: ${first?.message ?? 'invalid'}`,
    );
  };
}

export interface RespondersDeps {
  readonly bus: EventBus;
  readonly nats: NatsConnection;
  readonly node: string;
  readonly runtime: NodeRuntime;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/** Answers the gateway's exec, logs and stats requests for the containers of this node. */
export function startResponders(deps: RespondersDeps): Subscription[] {
  const { bus, node, runtime } = deps;
  const exec = validator(ExecRequestSchema, 'exec');
  const logs = validator(LogsRequest, 'logs');
  const stats = validator(StatsRequest, 'stats');
  const attach = validator(AttachRequest, 'attach');
  return [
    bus.reply(executorSubject(node, 'exec'), async (payload) => {
      const request: ExecRequest = exec(payload);
      if (request.detach) return startDetachedExec(request, deps);
      await startExecSession(request, deps);
      return { session: request.session };
    }),
    bus.reply(executorSubject(node, 'logs'), async (payload) => {
      const request = logs(payload);
      await startLogsSession(request, deps);
      return { session: request.session };
    }),
    bus.reply(executorSubject(node, 'attach'), async (payload) => {
      const request = attach(payload);
      await startAttachSession(request, deps);
      return { session: request.session };
    }),
    bus.reply(executorSubject(node, 'stats'), async (payload) => {
      const { containerId } = stats(payload);
      const state = await runtime.state(containerId);
      if (state.status !== 'running') {
        throw new ExecutorError(ExecutorErrorCode.NotRunning, `container ${containerId} is not running`);
      }
      return {
        containerId,
        pid: state.pid,
        ...(await cgroupStats(containerId)),
        readAt: new Date().toISOString(),
      };
    }),
  ];
}
