import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Variables } from '../config/interpolate.js';
import type { HomeLayout } from '../home-layout.js';
import { repositoryRoot } from '../package-paths.js';
import { SECRETS, secretFilePath } from './secrets.js';

/**
 * Where PostgreSQL's server binaries are: the newest /usr/lib/postgresql/<version>/bin (Debian's layout),
 * else the PATH directory holding `initdb`; undefined when PostgreSQL is not installed.
 */
export function findPgBinDir(env: Variables = process.env, root = '/usr/lib/postgresql'): string | undefined {
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const bin = path.join(root, v, 'bin');
      if (existsSync(path.join(bin, 'initdb'))) return bin;
    }
  }
  return (env['PATH'] ?? '').split(':').find((dir) => dir && existsSync(path.join(dir, 'initdb')));
}

/**
 * The variables a compose file can use: the environment, then the supervisor's own — `LXR_HOME`,
 * `LXR_ROOT` (the repository root unless set), `NODE` (this Node.js), `PG_BINDIR` (detected unless set),
 * and each secret as `${NAME}` (its value) and `${NAME_FILE}` (a readable copy for init steps).
 */
export function supervisorVariables(
  layout: HomeLayout,
  env: Variables,
  secrets: Readonly<Record<string, string>>,
): Record<string, string | undefined> {
  const vars: Record<string, string | undefined> = {
    ...env,
    LXR_HOME: layout.home,
    LXR_ROOT: env['LXR_ROOT'] || repositoryRoot,
    NODE: process.execPath,
    PG_BINDIR: env['PG_BINDIR'] || findPgBinDir(env),
  };
  for (const secret of SECRETS) {
    vars[secret.name] = secrets[secret.name];
    vars[`${secret.name}_FILE`] = secretFilePath(layout.runSecrets, secret);
  }
  return vars;
}

const INHERITED = [
  'PATH',
  'LANG',
  'LANGUAGE',
  'LC_ALL',
  'LC_CTYPE',
  'LC_MESSAGES',
  'TZ',
  'TMPDIR',
  'HOME',
  'USER',
  'LOGNAME',
];

/**
 * The environment every supervised process starts from: PATH, locale, time zone, HOME/USER and the
 * OpenTelemetry `OTEL_*` settings of the supervisor. Everything else a service gets is written in its
 * `environment:` — secrets never leak into processes that do not ask for them.
 */
export function baseEnvironment(env: Variables): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (INHERITED.includes(name) || name.startsWith('OTEL_'))) base[name] = value;
  }
  base['PATH'] ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  return base;
}
