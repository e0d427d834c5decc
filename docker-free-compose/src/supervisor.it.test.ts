// The supervisor end to end, with small node scripts as services: started through composeUp (a real
// detached daemon), inspected through composeStatus, stopped through composeDown.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { freePort, waitFor } from '@lxr/testkit';
import { homeLayout } from './home-layout.js';
import { ComposeError, type ComposeStatus, composeDown, composeStatus, composeUp } from './index.js';
import { daemonEntry } from './package-paths.js';
import { processAlive } from './runtime/process-group.js';
import { cleanup, readEvents, SERVICE_SCRIPT, survivors, tempHome, writeText } from './testing/fixtures.js';

interface Fixture {
  home: string;
  events: string;
  /** For composeUp / composeStatus / composeDown. */
  options: { lxrHome: string; file: string; env: Record<string, string> };
}

/** The LXR_HOMEs of the running test, stopped and deleted after it. */
const homes: string[] = [];

async function testHome(): Promise<string> {
  const home = await tempHome();
  homes.push(home);
  return home;
}

/** A test's LXR_HOME with the service script and `compose` (which may use ${SCRIPT} and ${EVENTS}). */
async function fixture(compose: string, env: Record<string, string> = {}): Promise<Fixture> {
  const home = await testHome();
  const script = await writeText(path.join(home, 'service.mjs'), SERVICE_SCRIPT);
  const events = path.join(home, 'events.log');
  const file = await writeText(path.join(home, 'compose.yaml'), compose);
  return { home, events, options: { lxrHome: home, file, env: { ...env, SCRIPT: script, EVENTS: events } } };
}

/** `main.js run` in the foreground (not through composeUp); `exited` gives its exit code. */
function runDaemon({ options }: Fixture): { daemon: ChildProcess; exited: Promise<number | null> } {
  const args = [daemonEntry, 'run', '--lxr-home', options.lxrHome, '--file', options.file];
  const daemon = spawn(process.execPath, args, { env: { ...process.env, ...options.env }, stdio: 'ignore' });
  return { daemon, exited: new Promise((resolve) => daemon.once('exit', (code) => resolve(code))) };
}

const pidsOf = (status: ComposeStatus) =>
  status.services.map((s) => s.pid).filter((p): p is number => p !== null);

describe('supervisor', { timeout: 120_000 }, () => {
  afterEach(() => Promise.all(homes.splice(0).map(cleanup)));

  test('starts in dependency order after readiness, restarts a crash with backoff, stops in reverse order', async () => {
    const [dbPort, appPort, crashyPort] = [await freePort(), await freePort(), await freePort()];
    const f = await fixture(
      `
restart_backoff: { initial: 300ms, max: 5s, reset_after: 30s }
x-env: &env
  EVENTS: \${EVENTS}
services:
  db:
    command: ['\${NODE}', '\${SCRIPT}']
    environment: { <<: *env, NAME: db, PORT: '\${DB_PORT}', READY_DELAY: 600 }
    readiness: { http: 'http://127.0.0.1:\${DB_PORT}/readyz', start_interval: 50ms }
  app:
    depends_on: [db]
    command: ['\${NODE}', '\${SCRIPT}']
    environment: { <<: *env, NAME: app, PORT: '\${APP_PORT}', READY_DELAY: 300 }
    readiness: { http: 'http://127.0.0.1:\${APP_PORT}/readyz', start_interval: 50ms }
  crashy:
    depends_on: { db: { condition: service_ready } }
    command: ['\${NODE}', '\${SCRIPT}']
    environment: { <<: *env, NAME: crashy, PORT: '\${CRASHY_PORT}', CRASH_TIMES: 2 }
    readiness: { tcp: '127.0.0.1:\${CRASHY_PORT}', start_interval: 50ms }
  stubborn:
    depends_on: [app]
    command: ['\${NODE}', '\${SCRIPT}']
    environment: { <<: *env, NAME: stubborn, IGNORE_TERM: 1, GRANDCHILD: '\${EVENTS}.grandchild' }
    stop_grace_period: 1s
`,
      { DB_PORT: String(dbPort), APP_PORT: String(appPort), CRASHY_PORT: String(crashyPort) },
    );
    const { options } = f;

    const seen = new Set<string>();
    const status = await composeUp({
      ...options,
      timeoutMs: 30_000,
      onProgress: (s) => {
        for (const x of s.services) seen.add(`${x.name}:${x.state}`);
      },
    });
    assert.deepEqual(
      status.services.map((s) => [s.name, s.state]),
      [
        ['db', 'ready'],
        ['app', 'ready'],
        ['crashy', 'ready'],
        ['stubborn', 'ready'],
      ],
    );
    for (const state of ['db:starting', 'app:pending', 'crashy:restarting'])
      assert.ok(seen.has(state), state);

    // Dependency order: nothing started before what it depends on was ready (listening).
    const events = await readEvents(f.events);
    const at = (name: string, event: string) => events.find((e) => e.name === name && e.event === event)?.at;
    assert.ok(at('app', 'start')! >= at('db', 'listening')!, 'app started after db was ready');
    assert.ok(at('crashy', 'start')! >= at('db', 'listening')!, 'crashy started after db was ready');
    assert.ok(at('stubborn', 'start')! >= at('app', 'listening')!, 'stubborn started after app was ready');

    // Backoff: crashy crashed twice; the second wait (600 ms) is longer than the first (300 ms).
    const crashy = status.services.find((s) => s.name === 'crashy')!;
    assert.equal(crashy.restarts, 2);
    const starts = events.filter((e) => e.name === 'crashy' && e.event === 'start').map((e) => e.at);
    assert.equal(starts.length, 3);
    const [gap1, gap2] = [starts[1]! - starts[0]!, starts[2]! - starts[1]!];
    assert.ok(gap1 >= 300 + 100, `first restart after the crash and 300 ms (${gap1} ms)`);
    assert.ok(gap2 >= 600 + 100, `second restart after 600 ms (${gap2} ms)`);
    assert.ok(gap2 > gap1, 'backoff grows');

    // One log file per process, appended across restarts, and the supervisor's own.
    const layout = homeLayout(f.home);
    assert.equal(crashy.logFile, layout.logFile('crashy'));
    const crashyLog = await readFile(crashy.logFile, 'utf8');
    assert.equal(crashyLog.match(/hello from crashy/g)?.length, 3);
    assert.match(crashyLog, /crashy crashes/);
    assert.match(await readFile(layout.logFile('db'), 'utf8'), /hello from db/);
    assert.doesNotMatch(await readFile(layout.logFile('db'), 'utf8'), /hello from app/);
    assert.match(
      await readFile(layout.supervisorLog, 'utf8'),
      /crashy: exited with code 1; restart 1 in 300 ms/,
    );
    assert.ok(existsSync(layout.pidFile) && existsSync(layout.socket));

    // up again: the same supervisor and processes.
    const again = await composeUp({ ...options, timeoutMs: 10_000 });
    assert.equal(again.supervisorPid, status.supervisorPid);
    assert.deepEqual(pidsOf(again), pidsOf(status));
    assert.equal(again.services.find((s) => s.name === 'crashy')!.restarts, 2);

    // down: reverse order, SIGKILL for the one ignoring SIGTERM, its grandchild too, nothing left.
    const grandchild = Number(await readFile(`${f.events}.grandchild`, 'utf8'));
    const pids = [...pidsOf(status), grandchild, status.supervisorPid];
    assert.deepEqual(survivors(pids), pids);
    await composeDown({ ...options, timeoutMs: 30_000 });
    assert.deepEqual(survivors(pids), [], 'every process is gone');
    assert.equal(await composeStatus(options), null);
    assert.ok(!existsSync(layout.pidFile) && !existsSync(layout.socket) && !existsSync(layout.childrenFile));
    const after = await readEvents(f.events);
    const stopAt = (name: string) => after.find((e) => e.name === name && e.event === 'stop')?.at;
    assert.ok(after.some((e) => e.name === 'stubborn' && e.event === 'ignores-term'));
    assert.ok(stopAt('app')! <= stopAt('db')!, 'app stopped before db');
    assert.ok(stopAt('crashy')! <= stopAt('db')!, 'crashy stopped before db');
    assert.ok(stopAt('app')! >= after.find((e) => e.name === 'stubborn' && e.event === 'ignores-term')!.at);
    assert.match(
      await readFile(layout.supervisorLog, 'utf8'),
      /stubborn: still running after 1000 ms: SIGKILL/,
    );
    await composeDown(options); // nothing running: a no-op
  });

  test('composeUp rejects naming the failed service and its log file', async () => {
    const f = await fixture(`
services:
  ok:
    command: ['\${NODE}', '\${SCRIPT}']
    environment: { NAME: ok, EVENTS: '\${EVENTS}' }
  bad:
    command: ['\${NODE}', -e, 'console.error("bad config"); process.exit(3)']
    restart: 'no'
`);
    const { options } = f;
    await assert.rejects(composeUp({ ...options, timeoutMs: 20_000 }), (e: unknown) => {
      assert.ok(e instanceof ComposeError);
      assert.equal(e.code, 'COMPOSE_SERVICE_FAILED');
      assert.match(e.message, /service bad failed \(exited with code 3\); see .*\/logs\/bad\.log/);
      return true;
    });
    assert.match(await readFile(homeLayout(f.home).logFile('bad'), 'utf8'), /bad config/);
    const status = (await composeStatus(options))!;
    await composeDown(options);
    assert.deepEqual(survivors([...pidsOf(status), status.supervisorPid]), []);
  });

  test('a crash loop makes composeUp give up; a missing command fails at once', async () => {
    const f = await fixture(`
restart_backoff: { initial: 50ms, max: 100ms }
services:
  loop:
    command: ['\${NODE}', -e, 'process.exit(1)']
  missing:
    command: [/nonexistent/lxr-binary]
    restart: always
`);
    const { options } = f;
    const error = await composeUp({ ...options, timeoutMs: 20_000 }).catch((e: unknown) => e);
    assert.ok(error instanceof ComposeError && error.code === 'COMPOSE_SERVICE_FAILED', String(error));
    assert.match(
      error.message,
      /service (loop crashed \d+ times \(exited with code 1|missing failed \(.*ENOENT)/,
    );
    await waitFor(async () => {
      const s = await composeStatus(options);
      return s?.services.find((x) => x.name === 'missing')?.state === 'failed';
    }, 'missing is failed');
    const missing = (await composeStatus(options))!.services.find((x) => x.name === 'missing')!;
    assert.match(missing.lastError ?? '', /\/nonexistent\/lxr-binary: could not start: .*ENOENT/);
    await composeDown(options);
  });

  test('the backoff starts over for a process that stayed up for reset_after', async () => {
    const f = await fixture(`
restart_backoff: { initial: 200ms, max: 10s, reset_after: 400ms }
services:
  late:
    command: ['\${NODE}', -e, 'setTimeout(() => process.exit(1), 600)']
`);
    const { options } = f;
    await assert.rejects(composeUp({ ...options, timeoutMs: 20_000 }), /service late crashed 3 times/);
    const log = await readFile(homeLayout(f.home).supervisorLog, 'utf8');
    const delays = [...log.matchAll(/late: exited with code 1; restart \d+ in (\d+) ms/g)].map((m) =>
      Number(m[1]),
    );
    assert.deepEqual(delays.slice(0, 3), [200, 200, 200], 'not 200, 400, 800');
    await composeDown(options);
  });

  test('an invalid compose file makes composeUp reject with the key path, leaving nothing running', async () => {
    const f = await fixture(
      'services:\n  a:\n    command: [x]\n    depends_on: [b]\n  b:\n    command: [y]\n    depends_on: [a]\n    helthcheck: {}\n',
    );
    const { options } = f;
    await assert.rejects(composeUp({ ...options, timeoutMs: 20_000 }), (e: unknown) => {
      assert.ok(e instanceof ComposeError);
      assert.equal(e.code, 'COMPOSE_INVALID_FILE');
      assert.match(e.message, /services\.b\.helthcheck: unknown key/);
      assert.match(e.message, /compose\.yaml/);
      return true;
    });
    assert.equal(await composeStatus(options), null);
  });

  test('a missing compose file makes composeUp reject saying so', async () => {
    const home = await testHome();
    await assert.rejects(
      composeUp({ lxrHome: home, file: path.join(home, 'nope.yaml'), timeoutMs: 20_000 }),
      (e: unknown) => {
        assert.ok(e instanceof ComposeError);
        assert.equal(e.code, 'COMPOSE_INVALID_FILE');
        assert.match(e.message, /cannot read compose file .*nope\.yaml: ENOENT/);
        return true;
      },
    );
  });

  test('readiness turns unhealthy after failed probes and ready again', async () => {
    const f = await fixture(`
services:
  flappy:
    command: ['\${NODE}', '\${SCRIPT}']
    environment: { NAME: flappy, EVENTS: '\${EVENTS}' }
    readiness:
      command: ['\${NODE}', -e, 'process.exit(require("fs").existsSync(process.argv[1]) ? 1 : 0)', '\${EVENTS}.sick']
      interval: 100ms
      retries: 2
`);
    const { options } = f;
    await composeUp({ ...options, timeoutMs: 20_000 });
    const state = async () => (await composeStatus(options))?.services[0]?.state;
    await writeFile(`${f.events}.sick`, '');
    await waitFor(async () => (await state()) === 'unhealthy', 'flappy turns unhealthy');
    assert.match((await composeStatus(options))!.services[0]!.lastError ?? '', /exited with 1/);
    await rm(`${f.events}.sick`);
    await waitFor(async () => (await state()) === 'ready', 'flappy is ready again');
    await composeDown(options);
  });

  test('processes left by a killed supervisor are stopped by composeDown', async () => {
    const f = await fixture(`
services:
  orphan:
    command: ['\${NODE}', '\${SCRIPT}']
    environment: { NAME: orphan, EVENTS: '\${EVENTS}', GRANDCHILD: '\${EVENTS}.grandchild' }
`);
    const { options } = f;
    const status = await composeUp({ ...options, timeoutMs: 20_000 });
    const grandchild = Number(await readFile(`${f.events}.grandchild`, 'utf8'));
    process.kill(status.supervisorPid, 'SIGKILL');
    await waitFor(() => !processAlive(status.supervisorPid), 'the supervisor is dead');
    const orphans = [...pidsOf(status), grandchild];
    assert.deepEqual(survivors(orphans), orphans, 'its services outlive it');
    assert.equal(await composeStatus(options), null);
    await composeDown(options);
    assert.deepEqual(survivors(orphans), []);
    assert.match(await readFile(f.events, 'utf8'), /orphan stop/);
  });

  test('the daemon in the foreground stops everything on SIGTERM', async () => {
    const f = await fixture(`
services:
  fg:
    command: ['\${NODE}', '\${SCRIPT}']
    environment: { NAME: fg, EVENTS: '\${EVENTS}' }
`);
    const { options } = f;
    const { daemon, exited } = runDaemon(f);
    await waitFor(async () => (await composeStatus(options))?.services[0]?.state === 'ready', 'fg is ready');
    await waitFor(async () => (await readEvents(f.events)).length > 0, 'fg has started');
    const pid = (await composeStatus(options))!.services[0]!.pid!;
    daemon.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.deepEqual(survivors([pid]), []);
    assert.match(await readFile(f.events, 'utf8'), /fg stop/);
  });

  test('a second supervisor for the same LXR_HOME refuses to start', async () => {
    const f = await fixture(`
services:
  one:
    command: ['\${NODE}', '\${SCRIPT}']
    environment: { NAME: one, EVENTS: '\${EVENTS}' }
`);
    const { options } = f;
    const status = await composeUp({ ...options, timeoutMs: 20_000 });
    assert.equal(await runDaemon(f).exited, 3);
    const still = (await composeStatus(options))!;
    assert.equal(still.supervisorPid, status.supervisorPid);
    assert.deepEqual(pidsOf(still), pidsOf(status), 'the running services were not touched');
    await composeDown(options);
  });
});
