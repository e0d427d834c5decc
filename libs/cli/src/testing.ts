import type { LxrClient } from '@lxr/client';
import { runCli } from './cli.js';
import type { CliContext } from './context.js';

/**
 * `lxr ARGV` against `client` (a fake with only the parts the verb calls), capturing stdout and
 * stderr; `overrides` replace any other part of the context (env, confirm, …).
 */
export async function runCliCaptured(
  argv: string[],
  client: object,
  overrides: Partial<CliContext> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const ctx = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
    signal: new AbortController().signal,
    version: '0',
    now: () => new Date(),
    client: async () => client as LxrClient,
    ...overrides,
  } as unknown as CliContext;
  const code = await runCli(argv, ctx);
  return { code, stdout, stderr };
}
