/** Where a service is in its life, as the supervisor reports it. */
export type ServiceState =
  | 'pending'
  | 'starting'
  | 'ready'
  | 'unhealthy'
  | 'restarting'
  | 'stopping'
  | 'stopped'
  | 'failed';

/** One supervised service. */
export interface ServiceStatus {
  name: string;
  state: ServiceState;
  /** The running process (its process group has the same id), or null. */
  pid: number | null;
  /** How many times it was restarted after a crash since the supervisor started. */
  restarts: number;
  /** ISO time of the last state change. */
  since: string;
  /** `${LXR_HOME}/logs/<name>.log`. */
  logFile: string;
  /** Why it last crashed, failed or is not ready. */
  lastError?: string;
}

/** The supervisor and every service it runs, in start order. */
export interface ComposeStatus {
  supervisorPid: number;
  lxrHome: string;
  /** ISO time the supervisor started. */
  startedAt: string;
  services: ServiceStatus[];
}

/** What every compose call needs. */
export interface ComposeOptions {
  /** The state directory (LXR_HOME): data, logs, secrets, the control socket. */
  lxrHome: string;
  /** The compose file; the package's own `compose.yaml` by default. */
  file?: string;
  /** Extra environment for the supervisor (and so for `${VAR}` interpolation), e.g. port overrides. */
  env?: Record<string, string>;
}
