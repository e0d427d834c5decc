// The shipped compose.yaml's nats and postgres, for real: initdb as the postgres user, secrets, token and
// password auth, own ports, and nothing left after down. Root only (PostgreSQL runs as `postgres`).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { freePort, portOpen, requiresRoot } from '@lxr/testkit';
import { parse, stringify } from 'yaml';
import { homeLayout } from './home-layout.js';
import { composeDown, composeStatus, composeUp } from './index.js';
import { defaultComposeFile } from './package-paths.js';
import { findPgBinDir } from './runtime/variables.js';
import { cleanup, survivors, tempHome, writeText } from './testing/fixtures.js';

const run = promisify(execFile);

/** The shipped compose file with only `keep`, anchors resolved. */
async function subsetOfShipped(file: string, keep: readonly string[]): Promise<string> {
  const doc = parse(await readFile(defaultComposeFile, 'utf8'), { merge: true }) as Record<string, unknown>;
  const services = doc['services'] as Record<string, unknown>;
  for (const name of Object.keys(services)) if (!keep.includes(name)) delete services[name];
  for (const key of Object.keys(doc)) if (key.startsWith('x-')) delete doc[key];
  return writeText(file, stringify(doc));
}

/** Speaks enough NATS to authenticate: INFO, CONNECT with a token, PING → PONG or -ERR. */
function natsHandshake(port: number, token: string): Promise<{ info: string; reply: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let buffer = '';
    let info = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('nats did not answer')));
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      if (!info && buffer.includes('\r\n')) {
        info = buffer.slice(0, buffer.indexOf('\r\n'));
        buffer = buffer.slice(buffer.indexOf('\r\n') + 2);
        socket.write(
          `CONNECT ${JSON.stringify({ auth_token: token, verbose: false, pedantic: false })}\r\nPING\r\n`,
        );
      }
      const reply = /(PONG|-ERR[^\r]*)\r\n/.exec(buffer)?.[1];
      if (info && reply) {
        socket.destroy();
        resolve({ info, reply });
      }
    });
  });
}

test('the shipped nats and postgres come up with their secrets and go down completely', {
  skip: requiresRoot(),
  timeout: 180_000,
}, async (t) => {
  const pgBin = findPgBinDir();
  if (!pgBin) return t.skip('PostgreSQL is not installed (run infra/setup.sh)');
  const home = await tempHome('lxr-real-compose-');
  t.after(() => cleanup(home));
  const file = await subsetOfShipped(path.join(home, 'compose.yaml'), ['nats', 'postgres']);
  const [natsPort, pgPort] = [await freePort(), await freePort()];
  const options = {
    lxrHome: home,
    file,
    env: { LXR_NATS_PORT: String(natsPort), LXR_PG_PORT: String(pgPort) },
  };
  const layout = homeLayout(home);

  const status = await composeUp({ ...options, timeoutMs: 90_000 });
  assert.deepEqual(
    status.services.map((s) => [s.name, s.state]),
    [
      ['nats', 'ready'],
      ['postgres', 'ready'],
    ],
  );

  // Secrets: a root-only directory of 0600 files; the initdb copy is gone.
  assert.equal(statSync(layout.secrets).mode & 0o777, 0o700);
  const password = (await readFile(path.join(layout.secrets, 'postgres-password'), 'utf8')).trim();
  const token = (await readFile(path.join(layout.secrets, 'nats-token'), 'utf8')).trim();
  for (const f of ['postgres-password', 'nats-token'])
    assert.equal(statSync(path.join(layout.secrets, f)).mode & 0o777, 0o600);
  assert.equal(existsSync(path.join(layout.runSecrets, 'postgres-password')), false);

  // NATS: JetStream on our port, the token required.
  const good = await natsHandshake(natsPort, token);
  assert.equal(good.reply, 'PONG');
  assert.match(good.info, /"jetstream":true/);
  assert.match(good.info, /"auth_required":true/);
  assert.match((await natsHandshake(natsPort, 'wrong-token')).reply, /-ERR 'Authorization Violation'/);
  assert.ok(existsSync(path.join(home, 'nats', 'jetstream')), 'JetStream stores under LXR_HOME/nats');

  // PostgreSQL: our own cluster, owned by postgres, the lxr role with the generated password.
  await run(path.join(pgBin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(pgPort)]);
  assert.equal(
    statSync(path.join(home, 'postgres', 'data')).uid,
    Number((await run('id', ['-u', 'postgres'])).stdout),
  );
  const psql = (url: string, sql: string) =>
    run('psql', [url, '-XtAc', sql], { env: { ...process.env, PGCONNECT_TIMEOUT: '5' } });
  const url = `postgres://lxr:${password}@127.0.0.1:${pgPort}/lxr`;
  const { stdout } = await psql(
    url,
    "select current_user || ' ' || current_database() || ' ' || rolsuper from pg_roles where rolname = current_user",
  );
  assert.equal(stdout.trim(), 'lxr lxr false');
  await assert.rejects(
    psql(`postgres://lxr:wrong@127.0.0.1:${pgPort}/lxr`, 'select 1'),
    /password authentication failed/,
  );
  assert.match(
    (await psql(`postgres://postgres:${password}@127.0.0.1:${pgPort}/postgres`, 'show data_directory'))
      .stdout,
    new RegExp(path.join(home, 'postgres', 'data')),
  );
  assert.ok(
    existsSync(path.join(layout.run, 'postgres', `.s.PGSQL.${pgPort}`)),
    'its socket is under LXR_HOME/run',
  );

  // up twice: nothing restarts.
  const again = await composeUp({ ...options, timeoutMs: 30_000 });
  assert.equal(again.supervisorPid, status.supervisorPid);
  assert.deepEqual(
    again.services.map((s) => s.pid),
    status.services.map((s) => s.pid),
  );

  // down: every process gone (postgres's own children included), ports closed.
  const pids = [status.supervisorPid, ...status.services.map((s) => s.pid!)];
  // PostgreSQL's workers make themselves session leaders (setsid): they are not in the postmaster's
  // group, so look them up by parent; its orderly shutdown must take them along.
  const pgChildren = (await run('pgrep', ['-P', String(status.services[1]!.pid)])).stdout
    .trim()
    .split('\n')
    .map(Number);
  assert.ok(pgChildren.length > 1, 'postgres runs its workers');
  await composeDown({ ...options, timeoutMs: 60_000 });
  assert.deepEqual(survivors([...pids, ...pgChildren]), []);
  assert.equal(await portOpen(natsPort), false);
  assert.equal(await portOpen(pgPort), false);
  assert.equal(await composeStatus(options), null);

  // A second start reuses the data (init skipped), then purge deletes it.
  const restarted = await composeUp({ ...options, timeoutMs: 60_000 });
  assert.ok(restarted.services.every((s) => s.state === 'ready'));
  assert.equal((await psql(url, 'select 1')).stdout.trim(), '1');
  assert.equal((await readFile(path.join(layout.logs, 'postgres.log'), 'utf8')).match(/initdb/g)?.length, 1);
  await composeDown({ ...options, purge: true, timeoutMs: 60_000 });
  for (const dir of ['nats', 'postgres', 'logs', 'secrets', 'run'])
    assert.equal(existsSync(path.join(home, dir)), false, dir);
});
