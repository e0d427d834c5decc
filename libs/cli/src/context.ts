import { createClient, defaultApiUrl, type LxrClient, readToken } from '@lxr/client';
import type { composeDown, composeStatus, composeUp } from '@lxr/docker-free-compose';

/** Somewhere to write text: process.stdout, or a buffer in tests. */
export interface Output {
  write(text: string): unknown;
}

/** Everything a command touches outside itself, so tests can give their own. */
export interface CliContext {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM; following commands (`events`) end cleanly on it. */
  readonly signal: AbortSignal;
  readonly version: string;
  now(): Date;
  /** The API client (URL from LXR_API_URL, token from LXR_TOKEN or the token file), made on first use. */
  client(): Promise<LxrClient>;
  readonly compose: {
    readonly up: typeof composeUp;
    readonly down: typeof composeDown;
    readonly status: typeof composeStatus;
  };
}

/** The context of the real `lxr` process. */
export function processContext(options: { version: string; signal: AbortSignal }): CliContext {
  let client: Promise<LxrClient> | undefined;
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: options.signal,
    version: options.version,
    now: () => new Date(),
    client() {
      client ??= readToken(undefined, process.env).then((token) =>
        createClient({ url: defaultApiUrl(process.env), token }),
      );
      return client;
    },
    // Loaded on first use: most verbs never start or stop the platform, and every module costs start-up.
    compose: {
      up: async (...args) => (await import('@lxr/docker-free-compose')).composeUp(...args),
      down: async (...args) => (await import('@lxr/docker-free-compose')).composeDown(...args),
      status: async (...args) => (await import('@lxr/docker-free-compose')).composeStatus(...args),
    },
  };
}
