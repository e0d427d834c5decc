import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { type ManagedProcess, startProcess } from './process.js';
import { startServer, type TestServer } from './server.js';

const run = promisify(execFile);

/** A real PostgreSQL cluster, initdb'd into a temp dir, on a free loopback port. */
export interface PostgresServer extends TestServer {
  /** `postgres://lxr@127.0.0.1:<port>/postgres` (trust auth, loopback only). */
  readonly url: string;
}

/** Where Debian (or the PATH) keeps initdb and postgres. */
export async function postgresBinDir(): Promise<string> {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = (await readdir(root))
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions)
      if (existsSync(path.join(root, v, 'bin', 'initdb'))) return path.join(root, v, 'bin');
  }
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir && existsSync(path.join(dir, 'initdb'))) return dir;
  }
  throw new Error('PostgreSQL is not installed (no initdb found); run infra/setup.sh');
}

/** PostgreSQL refuses to run as root; as root, run it as the `postgres` user. */
async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

export interface StartPostgresOptions {
  /** Turn fsync off: much faster, fine for throwaway test data, not for benchmarks. */
  readonly fsync?: boolean;
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = await postgresBinDir();
  const dir = await mkdtemp(path.join(tmpdir(), 'lxr-pg-'));
  const data = path.join(dir, 'data');
  const user = await serverUser();
  if (user) await chown(dir, user.uid, user.gid);
  const port = await freePort();
  await run(
    path.join(bin, 'initdb'),
    ['-D', data, '-U', 'lxr', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
    { ...user, cwd: dir },
  );
  const args = [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `fsync=${options.fsync === false ? 'off' : 'on'}`,
    '-c',
    'max_connections=200',
  ];
  const ready = async (proc: ManagedProcess) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        await run(path.join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)]);
        return;
      } catch (error) {
        if (proc.child.exitCode !== null)
          throw new Error(`postgres exited; see ${proc.logFile}`, { cause: error });
        if (Date.now() > deadline) throw new Error(`postgres not ready within 20 s; see ${proc.logFile}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  return startServer(
    { url: `postgres://lxr@127.0.0.1:${port}/postgres`, port, dir },
    () =>
      startProcess(path.join(bin, 'postgres'), args, path.join(dir, 'postgres.log'), { ...user, cwd: dir }),
    ready,
  );
}
