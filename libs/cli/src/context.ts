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
  /** Asks a yes/no question on the terminal (`lxr system prune`); no answer (EOF) is no. */
  confirm?(question: string): Promise<boolean>;
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
    async confirm(question) {
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      const closed = new Promise<string>((resolve) => rl.once('close', () => resolve('')));
      try {
        const answer = await Promise.race([rl.question(question), closed]);
        return /^y(es)?$/i.test(answer.trim());
      } finally {
        rl.close();
      }
    },
    // Loaded on first use: most verbs never start or stop the platform, and every module costs start-up.
    compose: {
      up: async (...args) => (await import('@lxr/docker-free-compose')).composeUp(...args),
      down: async (...args) => (await import('@lxr/docker-free-compose')).composeDown(...args),
      status: async (...args) => (await import('@lxr/docker-free-compose')).composeStatus(...args),
    },
  };
}
