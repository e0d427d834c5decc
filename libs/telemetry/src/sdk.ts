import { context, type Tracer, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ATTR_LXR_NODE } from './attributes.js';

/** Options of {@link startTelemetry}. */
export interface TelemetryOptions {
  /** `service.name`, unless `OTEL_SERVICE_NAME` overrides it. */
  readonly serviceName: string;
  /** `service.version`. */
  readonly serviceVersion?: string;
  /** The node the service runs on (`lxr.node`). */
  readonly node?: string;
}

/** A started OpenTelemetry SDK. */
export interface Telemetry {
  /** The service's tracer: records spans when traces are exported, a no-op otherwise. */
  readonly tracer: Tracer;
  /** Which signals export anything (from `OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER`, `OTEL_LOGS_EXPORTER`). */
  readonly exporting: { readonly traces: boolean; readonly metrics: boolean; readonly logs: boolean };
  /** Flushes pending telemetry and stops the SDK. Call once, on shutdown. */
  shutdown(): Promise<void>;
}

const isSet = (env: NodeJS.ProcessEnv, name: string) => {
  const value = env[name]?.trim();
  return value !== undefined && value !== '' && value !== 'none';
};

/**
 * Starts the OpenTelemetry Node SDK for one service, configured by the standard `OTEL_*`
 * variables (`OTEL_TRACES_EXPORTER=otlp`, `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_TRACES_SAMPLER`, …).
 *
 * Unlike the SDK's own defaults, a signal whose `OTEL_<SIGNAL>_EXPORTER` is unset exports
 * nothing: a service started without telemetry configuration sends nothing anywhere.
 * `OTEL_SDK_DISABLED=true` turns everything off. Only a service's `main.ts` should call this.
 *
 * The SDK (half a second of imports) is loaded only when a signal is exported; otherwise only a
 * context manager is installed, so trace context still flows from consumed to produced events.
 *
 * @example
 * const telemetry = await startTelemetry({ serviceName: 'image-puller', serviceVersion: '0.1.0' });
 * const bus = await connectBus({ servers, name, tracer: telemetry.tracer });
 * // … on shutdown:
 * await telemetry.shutdown();
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  // The SDK reads process.env itself, so there is no other environment to pass.
  const env = process.env;
  const exporting = {
    traces: isSet(env, 'OTEL_TRACES_EXPORTER'),
    metrics: isSet(env, 'OTEL_METRICS_EXPORTER'),
    logs: isSet(env, 'OTEL_LOGS_EXPORTER'),
  };
  const tracer = trace.getTracer('lxr', options.serviceVersion);
  if (!exporting.traces && !exporting.metrics && !exporting.logs) {
    const manager = new AsyncLocalStorageContextManager().enable();
    const installed = context.setGlobalContextManager(manager);
    return {
      tracer,
      exporting,
      async shutdown() {
        if (installed) context.disable();
      },
    };
  }
  const { NodeSDK, resources } = await import('@opentelemetry/sdk-node');
  const attributes: Record<string, string> = {};
  if (options.serviceVersion) attributes['service.version'] = options.serviceVersion;
  if (options.node) attributes[ATTR_LXR_NODE] = options.node;
  const sdk = new NodeSDK({
    serviceName: env['OTEL_SERVICE_NAME']?.trim() || options.serviceName,
    resource: resources.defaultResource().merge(resources.resourceFromAttributes(attributes)),
    instrumentations: [],
    // An empty list overrides the SDK's fallback to an OTLP exporter for that signal.
    ...(exporting.traces ? {} : { spanProcessors: [] }),
    ...(exporting.metrics ? {} : { metricReaders: [] }),
    ...(exporting.logs ? {} : { logRecordProcessors: [] }),
  });
  sdk.start();
  let stopped: Promise<void> | undefined;
  return {
    tracer,
    exporting,
    shutdown() {
      stopped ??= sdk.shutdown();
      return stopped;
    },
  };
}
