/**
 * Stable codes of the errors `@lxr/service-kit` throws. Never change a code's meaning; add a new
 * one instead. Each is described in {@link serviceKitErrorDescriptions}.
 */
export const ServiceKitErrorCode = {
  ConfigInvalid: 'CONFIG_INVALID',
  StartFailed: 'SERVICE_START_FAILED',
  ShutdownTimeout: 'SERVICE_SHUTDOWN_TIMEOUT',
  HeartbeatFailed: 'HEARTBEAT_FAILED',
  HealthServerFailed: 'HEALTH_SERVER_FAILED',
} as const;
/** One of the {@link ServiceKitErrorCode} strings. */
export type ServiceKitErrorCode = (typeof ServiceKitErrorCode)[keyof typeof ServiceKitErrorCode];

/** What each code means and what to do about it. */
export const serviceKitErrorDescriptions: Readonly<Record<ServiceKitErrorCode, string>> = {
  CONFIG_INVALID:
    'One or more environment variables are missing or malformed; the message lists every one. Fix them and restart.',
  SERVICE_START_FAILED:
    'A service could not start (NATS, telemetry, health server or its own start()); see the cause.',
  SERVICE_SHUTDOWN_TIMEOUT:
    'Graceful shutdown did not finish within its deadline; the process exits non-zero anyway.',
  HEARTBEAT_FAILED:
    'The heartbeat could not be written to the lxr_nodes KV bucket. Check NATS and JetStream.',
  HEALTH_SERVER_FAILED: 'The health server could not listen, usually because LXR_HEALTH_PORT is taken.',
};

/** An error of service-kit with a stable {@link ServiceKitErrorCode}; `cause` is forwarded. */
export class ServiceError extends Error {
  override readonly name: string = 'ServiceError';
  constructor(
    readonly code: ServiceKitErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** One bad environment variable. */
export interface ConfigIssue {
  /** The variable, e.g. `LXR_HEALTH_PORT`. */
  readonly variable: string;
  /** What is wrong, e.g. `"abc" is not a port number (0-65535)`. */
  readonly problem: string;
}

/**
 * The environment does not make a valid configuration. The message lists every bad variable,
 * one per line, so a single run shows everything to fix.
 */
export class ConfigError extends ServiceError {
  override readonly name = 'ConfigError';
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(
      ServiceKitErrorCode.ConfigInvalid,
      `invalid configuration (${issues.length} ${issues.length === 1 ? 'problem' : 'problems'}):\n` +
        issues.map((issue) => `  - ${issue.variable}: ${issue.problem}`).join('\n'),
    );
  }
}
