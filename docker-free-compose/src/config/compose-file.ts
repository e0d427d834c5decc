/**
 * The compose file after validation and interpolation: what the supervisor runs. Parsing lives in
 * `load-compose.ts`; nothing here does I/O.
 */

/** When a process that exited is started again. */
export type RestartPolicy = 'no' | 'on-failure' | 'always';

/** What a dependency must reach before its dependent starts. */
export type DependencyCondition = 'service_ready' | 'service_started';

/** One `depends_on` entry. */
export interface Dependency {
  readonly service: string;
  readonly condition: DependencyCondition;
}

/** One readiness probe: an HTTP GET answering 2xx, a TCP connect, or a command exiting 0. */
export type ReadinessCheck =
  | { readonly kind: 'http'; readonly url: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'command'; readonly argv: readonly string[] };

/** A service's `readiness:` block, durations in milliseconds. */
export interface ReadinessSpec {
  readonly check: ReadinessCheck;
  /** Between probes once ready. */
  readonly intervalMs: number;
  /** Between probes until first ready. */
  readonly startIntervalMs: number;
  /** One probe's time limit. */
  readonly timeoutMs: number;
  /** Consecutive failures, once ready, that make the service `unhealthy`. */
  readonly retries: number;
}

/** A command run once before a service's first start, skipped when `creates` exists. */
export interface InitStep {
  /** `services.<name>.init[<i>]`, for messages. */
  readonly label: string;
  readonly command: readonly string[];
  readonly creates?: string;
  readonly user?: string;
  /** Added to the service's environment. */
  readonly environment: Readonly<Record<string, string>>;
  /** Written to the command's standard input. */
  readonly stdin?: string;
  /** Secrets to copy, readable by the step's user, to their `${NAME_FILE}` path while it runs. */
  readonly secrets: readonly string[];
}

/** One service of the compose file, validated and interpolated. */
export interface ServiceSpec {
  readonly name: string;
  readonly command: readonly string[];
  readonly environment: Readonly<Record<string, string>>;
  readonly user?: string;
  readonly workingDir?: string;
  readonly dependsOn: readonly Dependency[];
  readonly readiness?: ReadinessSpec;
  readonly init: readonly InitStep[];
  readonly restart: RestartPolicy;
  readonly stopSignal: NodeJS.Signals;
  readonly stopGracePeriodMs: number;
  /** Created before init (mode 0700) and owned by `user` when the supervisor is root. */
  readonly directories: readonly string[];
}

/** Delays between restarts of a crashed process: doubling from `initialMs` up to `maxMs`. */
export interface BackoffSpec {
  readonly initialMs: number;
  readonly maxMs: number;
  /** A process that stayed up this long starts again from `initialMs` when it next crashes. */
  readonly resetAfterMs: number;
}

/** A whole compose file, validated and interpolated. */
export interface ComposeConfig {
  readonly file: string;
  /** In start order: every service after all of its dependencies. */
  readonly services: readonly ServiceSpec[];
  readonly backoff: BackoffSpec;
}

/** Each service's name → the names of the services it depends on, in the file's order. */
export function dependencyEdges(services: Iterable<ServiceSpec>): Map<string, string[]> {
  return new Map([...services].map((s) => [s.name, s.dependsOn.map((d) => d.service)]));
}

/** `restart_backoff` when the file has none. */
export const DEFAULT_BACKOFF: BackoffSpec = { initialMs: 1000, maxMs: 30_000, resetAfterMs: 60_000 };
/** `stop_grace_period` when a service has none. */
export const DEFAULT_STOP_GRACE_MS = 10_000;
/** `readiness:` timings a service leaves out. */
export const DEFAULT_READINESS = {
  intervalMs: 5000,
  startIntervalMs: 250,
  timeoutMs: 3000,
  retries: 3,
} as const;
