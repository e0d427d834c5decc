#!/usr/bin/env node
// The supervisor daemon: `node docker-free-compose/dist/main.js run --lxr-home DIR [--file F]`.
// Runs in the foreground; `composeUp` starts it detached. The only file here that reads the environment,
// the arguments and the host, and wires them into the Supervisor.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadCompose } from './config/load-compose.js';
import { ComposeError, ComposeErrorCode } from './errors.js';
import { type HomeLayout, homeLayout } from './home-layout.js';
import { defaultComposeFile } from './package-paths.js';
import { answers, serveControl } from './runtime/control-server.js';
import { recordRunning, stopLeftovers } from './runtime/leftovers.js';
import { fileLogger, type Logger } from './runtime/logger.js';
import { signalGroup } from './runtime/process-group.js';
import { ensureSecrets, SECRETS } from './runtime/secrets.js';
import { Supervisor } from './runtime/supervisor.js';
import { isRoot } from './runtime/users.js';
import { baseEnvironment, supervisorVariables } from './runtime/variables.js';

const USAGE = 'usage: main.js run --lxr-home DIR [--file compose.yaml]';

/** Exit codes: 2 for an invalid compose file, 3 when a supervisor already runs, 1 otherwise. */
const EXIT_CODES: Partial<Record<ComposeErrorCode, number>> = {
  [ComposeErrorCode.InvalidFile]: 2,
  [ComposeErrorCode.Interpolation]: 2,
  [ComposeErrorCode.AlreadyRunning]: 3,
};

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { 'lxr-home': { type: 'string' }, file: { type: 'string' } },
    allowPositionals: true,
  });
  const lxrHome = values['lxr-home'] ?? process.env['LXR_HOME'];
  if (positionals[0] !== 'run' || positionals.length !== 1 || !lxrHome) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(64);
  }
  const layout = homeLayout(lxrHome);
  for (const dir of [layout.home, layout.logs, layout.run]) mkdirSync(dir, { recursive: true, mode: 0o755 });
  rmSync(layout.errorFile, { force: true });
  const log = fileLogger(layout.supervisorLog);
  let supervisor: Supervisor | undefined;

  const fail = (error: unknown): never => {
    const code = error instanceof ComposeError ? error.code : ComposeErrorCode.Setup;
    const message = error instanceof Error ? error.message : String(error);
    log.error(`${code}: ${message}`);
    if (!(error instanceof ComposeError) && error instanceof Error && error.stack) log.error(error.stack);
    if (code !== ComposeErrorCode.AlreadyRunning) {
      // Nothing may outlive us: SIGKILL every group still running.
      for (const r of supervisor?.running() ?? []) signalGroup(r.pid, 'SIGKILL');
      try {
        writeFileSync(layout.errorFile, `${JSON.stringify({ code, message })}\n`);
        recordRunning(layout.childrenFile, []);
        rmSync(layout.pidFile, { force: true });
        rmSync(layout.socket, { force: true });
      } catch {
        // Best effort: the run directory may be gone.
      }
    }
    process.exit(EXIT_CODES[code] ?? 1);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  try {
    supervisor = await startSupervisor(layout, values.file, log);
  } catch (error) {
    fail(error);
  }
}

async function startSupervisor(
  layout: HomeLayout,
  fileOption: string | undefined,
  log: Logger,
): Promise<Supervisor> {
  if (await answers(layout.socket)) {
    throw new ComposeError(ComposeErrorCode.AlreadyRunning, `a supervisor already runs for ${layout.home}`);
  }
  const leftovers = await stopLeftovers(layout.childrenFile);
  if (leftovers.length > 0)
    log.info(`stopped processes left by a previous supervisor: ${leftovers.join(', ')}`);

  const file = path.resolve(fileOption ?? defaultComposeFile);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ComposeError(ComposeErrorCode.InvalidFile, `cannot read compose file ${file}: ${why}`, {
      cause: error,
    });
  }
  const secrets = await ensureSecrets(layout.secrets).catch((error: unknown) => {
    throw new ComposeError(ComposeErrorCode.Setup, `cannot create the secrets in ${layout.secrets}`, {
      cause: error,
    });
  });
  const vars = supervisorVariables(layout, process.env, secrets);
  const config = loadCompose(text, file, { vars, secretNames: SECRETS.map((s) => s.name) });
  const root = isRoot();
  const running = new Supervisor({
    config,
    layout,
    log,
    baseEnv: baseEnvironment(process.env),
    secrets,
    root,
  });

  let exiting = false;
  const shutdown = async (why: string) => {
    if (exiting) return;
    exiting = true;
    log.info(`${why}: shutting down`);
    await running.down();
    recordRunning(layout.childrenFile, []);
    server.close();
    rmSync(layout.socket, { force: true });
    rmSync(layout.pidFile, { force: true });
    log.info('supervisor exits');
    process.exit(0);
  };
  const server = await serveControl(layout.socket, {
    status: () => running.status(),
    down: () => void shutdown('POST /down'),
    up: () => running.retryFailed(),
  });
  writeFileSync(layout.pidFile, `${process.pid}\n`);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
    process.on(signal, () => void shutdown(signal));
  // Most changes are state changes; the record is rewritten only when the set of process groups changes.
  let recorded = '';
  running.on('change', () => {
    const groups = running.running();
    const pids = groups.map((g) => g.pid).join();
    if (pids !== recorded) recordRunning(layout.childrenFile, groups);
    recorded = pids;
  });
  log.info(
    `supervisor ${process.pid} started for ${layout.home} from ${file}` +
      (root ? '' : ' (not root: `user:` is ignored, every process runs as the current user)'),
  );
  running.start();
  return running;
}

await main();
