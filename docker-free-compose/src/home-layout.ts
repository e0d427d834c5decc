import path from 'node:path';

/** Where the supervisor keeps its files under LXR_HOME. Pure path arithmetic, no I/O. */
export interface HomeLayout {
  readonly home: string;
  readonly logs: string;
  readonly run: string;
  readonly secrets: string;
  /** Readable copies of secrets for init steps that run as another user (`${NAME_FILE}`). */
  readonly runSecrets: string;
  /** The control endpoint: HTTP over this unix socket. */
  readonly socket: string;
  readonly pidFile: string;
  /** The process groups of the running services, so a crashed supervisor's children can be found. */
  readonly childrenFile: string;
  /** Why the supervisor exited, when it exited with an error (`{ code, message }`). */
  readonly errorFile: string;
  readonly supervisorLog: string;
  /** The data directories `composeDown({ purge: true })` deletes. */
  readonly purgeable: readonly string[];
  logFile(service: string): string;
}

/** The layout of `lxrHome` (made absolute). */
export function homeLayout(lxrHome: string): HomeLayout {
  const home = path.resolve(lxrHome);
  const logs = path.join(home, 'logs');
  const run = path.join(home, 'run');
  const secrets = path.join(home, 'secrets');
  return {
    home,
    logs,
    run,
    secrets,
    runSecrets: path.join(run, 'secrets'),
    socket: path.join(run, 'compose.sock'),
    pidFile: path.join(run, 'compose.pid'),
    childrenFile: path.join(run, 'compose.children.json'),
    errorFile: path.join(run, 'compose.error.json'),
    supervisorLog: path.join(logs, 'supervisor.log'),
    purgeable: [path.join(home, 'nats'), path.join(home, 'postgres'), logs, secrets, run],
    logFile: (service) => path.join(logs, `${service}.log`),
  };
}
