import { spawn } from 'node:child_process';
import { NetworkError, NetworkErrorCode } from './errors.js';

/** What a command printed. */
export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a program (no shell), feeding `input` on stdin; rejects with `NETWORK_SETUP_FAILED` naming
 * the command and its stderr when it exits non-zero. `ip -batch -` and `iptables-restore` take
 * their whole batch this way: one process for many changes.
 */
export function run(command: string, args: readonly string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.once('error', (error) =>
      reject(
        new NetworkError(NetworkErrorCode.SetupFailed, `cannot run ${command}: ${error.message}`, {
          cause: error,
        }),
      ),
    );
    child.once('close', (code) => {
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      if (code === 0) return resolve({ stdout, stderr });
      const shown = [command, ...args].join(' ');
      const detail = stderr.trim() || stdout.trim() || `exit code ${code}`;
      reject(
        new NetworkError(
          NetworkErrorCode.SetupFailed,
          `${shown} failed: ${detail}${input ? `\n--- input ---\n${input}` : ''}`,
        ),
      );
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}
