// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are compose-file text, not templates
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ComposeError } from '../errors.js';
import { type LoadComposeOptions, loadCompose } from './load-compose.js';

const options: LoadComposeOptions = {
  vars: { LXR_HOME: '/srv/lxr', NODE: '/usr/bin/node', NODE_NAME: 'node-1' },
  secretNames: ['LXR_PG_PASSWORD'],
};
const load = (yaml: string, opts = options) => loadCompose(yaml, 'test.yaml', opts);

/** Asserts that loading fails with `code` and a message matching every pattern. */
function rejects(yaml: string, code: string, ...patterns: RegExp[]): string {
  let message = '';
  assert.throws(
    () => load(yaml),
    (e: unknown) => {
      assert.ok(e instanceof ComposeError, String(e));
      assert.equal(e.code, code, e.message);
      message = e.message;
      for (const p of patterns) assert.match(e.message, p);
      return true;
    },
  );
  return message;
}

describe('loadCompose', () => {
  test('reads a full service and orders services after their dependencies', () => {
    const config = load(`
restart_backoff: { initial: 200ms, max: 5s, reset_after: 1m }
x-shared: &shared
  restart: always
services:
  api:
    <<: *shared
    command: ['\${NODE}', main.js, 7420]
    environment:
      HOME_DIR: \${LXR_HOME}
      PORT: 7420
      NODE_NAME:
      NOT_SET_ANYWHERE:
    user: postgres
    working_dir: /tmp
    depends_on:
      db: { condition: service_started }
      bus:
    readiness:
      http: http://127.0.0.1:7420/readyz
      interval: 2s
      timeout: 1s
      retries: 5
    stop_signal: INT
    stop_grace_period: 20s
  db:
    command: [postgres]
    directories: ['\${LXR_HOME}/pg']
    init:
      - command: [initdb, --pwfile=x]
        creates: /srv/lxr/pg/PG_VERSION
        user: postgres
        stdin: "CREATE DATABASE lxr;"
        secrets: [LXR_PG_PASSWORD]
    readiness: { command: [pg_isready, -q] }
  bus:
    command: [nats-server]
    environment: [A=1, NODE_NAME, B=x=y]
    readiness: { tcp: '127.0.0.1:7422' }
    restart: 'no'
`);
    assert.deepEqual(
      config.services.map((s) => s.name),
      ['db', 'bus', 'api'],
    );
    assert.deepEqual(config.backoff, { initialMs: 200, maxMs: 5000, resetAfterMs: 60_000 });
    const [db, bus, api] = config.services;
    assert.deepEqual(api!.command, ['/usr/bin/node', 'main.js', '7420']);
    assert.deepEqual(api!.environment, { HOME_DIR: '/srv/lxr', PORT: '7420', NODE_NAME: 'node-1' });
    assert.equal(api!.user, 'postgres');
    assert.equal(api!.workingDir, '/tmp');
    assert.deepEqual(api!.dependsOn, [
      { service: 'db', condition: 'service_started' },
      { service: 'bus', condition: 'service_ready' },
    ]);
    assert.deepEqual(api!.readiness, {
      check: { kind: 'http', url: 'http://127.0.0.1:7420/readyz' },
      intervalMs: 2000,
      startIntervalMs: 250,
      timeoutMs: 1000,
      retries: 5,
    });
    assert.equal(api!.restart, 'always', 'merged from the x- anchor');
    assert.equal(api!.stopSignal, 'SIGINT');
    assert.equal(api!.stopGracePeriodMs, 20_000);
    assert.deepEqual(db!.directories, ['/srv/lxr/pg']);
    assert.deepEqual(db!.init, [
      {
        label: 'services.db.init[0]',
        command: ['initdb', '--pwfile=x'],
        creates: '/srv/lxr/pg/PG_VERSION',
        user: 'postgres',
        stdin: 'CREATE DATABASE lxr;',
        environment: {},
        secrets: ['LXR_PG_PASSWORD'],
      },
    ]);
    assert.deepEqual(db!.readiness?.check, { kind: 'command', argv: ['pg_isready', '-q'] });
    assert.equal(db!.restart, 'on-failure', 'the default');
    assert.equal(db!.stopSignal, 'SIGTERM');
    assert.equal(db!.stopGracePeriodMs, 10_000);
    assert.deepEqual(bus!.environment, { A: '1', NODE_NAME: 'node-1', B: 'x=y' });
    assert.deepEqual(bus!.readiness?.check, { kind: 'tcp', host: '127.0.0.1', port: 7422 });
    assert.equal(bus!.restart, 'no');
  });

  test('an unknown key is named with its path and a suggestion', () => {
    rejects(
      'services:\n  nats:\n    command: [nats-server]\n    readines: { tcp: "127.0.0.1:1" }\n',
      'COMPOSE_INVALID_FILE',
      /test\.yaml/,
      /services\.nats\.readines: unknown key \(did you mean "readiness"\?\)/,
    );
    rejects(
      'services:\n  nats:\n    command: [x]\n    readiness: { tcp: "127.0.0.1:1", intervall: 1s }\n',
      'COMPOSE_INVALID_FILE',
      /services\.nats\.readiness\.intervall: unknown key \(did you mean "interval"\?\)/,
    );
    rejects(
      'version: "3"\nservices:\n  a:\n    command: [x]\n',
      'COMPOSE_INVALID_FILE',
      /^test\.yaml: .*version: unknown key/,
    );
    rejects(
      'services:\n  a:\n    command: [x]\n    init:\n      - command: [y]\n        create: /x\n',
      'COMPOSE_INVALID_FILE',
      /services\.a\.init\[0\]\.create: unknown key \(did you mean "creates"\?\)/,
    );
  });

  test('a dependency cycle is reported as a path', () => {
    rejects(
      `services:
  a: { command: [x], depends_on: [b] }
  b: { command: [x], depends_on: [c] }
  c: { command: [x], depends_on: { a: { condition: service_ready } } }
`,
      'COMPOSE_INVALID_FILE',
      /services: dependency cycle: a → b → c → a/,
    );
    rejects('services:\n  a: { command: [x], depends_on: [a] }\n', 'COMPOSE_INVALID_FILE', /cycle: a → a/);
  });

  test('a missing depends_on target is named, with the known services', () => {
    rejects(
      'services:\n  nats: { command: [x] }\n  api: { command: [x], depends_on: [natz] }\n',
      'COMPOSE_INVALID_FILE',
      /services\.api\.depends_on: unknown service "natz" \(did you mean "nats"\?\) \(services: nats, api\)/,
    );
  });

  test('wrong types and values are each reported', () => {
    const message = rejects(
      `services:
  a:
    command: nats-server -js
    restart: sometimes
    stop_signal: SIGNOPE
    stop_grace_period: soon
    readiness: { http: 'ftp://x', tcp: 'x:1' }
  b:
    environment: { 'BAD-NAME': x }
    readiness: { tcp: 'localhost' }
    depends_on: { a: { condition: service_healthy } }
  'bad name': { command: [x] }
`,
      'COMPOSE_INVALID_FILE',
      /services\.a\.command: must be a non-empty list of arguments/,
      /services\.a\.restart: must be one of no, on-failure, always/,
      /services\.a\.stop_signal: "SIGNOPE" is not a signal name/,
      /services\.a\.stop_grace_period: "soon" is not a duration/,
      /services\.a\.readiness: needs exactly one of/,
      /services\.b\.command: is required/,
      /services\.b\.environment\.BAD-NAME: "BAD-NAME" is not a valid environment variable name/,
      /services\.b\.readiness\.tcp: "localhost" is not host:port/,
      /services\.b\.depends_on\.a\.condition: must be `service_ready` or `service_started`/,
      /services\.bad name: a service name may hold only/,
    );
    assert.equal(message.split('\n').length, 11, 'one line per problem after the heading');
  });

  test('an unknown secret in init is rejected', () => {
    rejects(
      'services:\n  a:\n    command: [x]\n    init: [{ command: [y], secrets: [NOPE] }]\n',
      'COMPOSE_INVALID_FILE',
      /services\.a\.init\[0\]\.secrets\[0\]: unknown secret "NOPE" \(secrets: LXR_PG_PASSWORD\)/,
    );
  });

  test('an unset variable is reported once with every place it is used', () => {
    rejects(
      'services:\n  a:\n    command: ["${PG_BINDIR}/postgres", "${PG_BINDIR}/x"]\n    user: "${WHO:?set WHO to the service user}"\n',
      'COMPOSE_INTERPOLATION',
      /variable PG_BINDIR is not set \(at services\.a\.command\[0\], services\.a\.command\[1\]\)/,
      /services\.a\.user: set WHO to the service user/,
    );
  });

  test('interpolated values are validated after expansion', () => {
    const config = load(
      'services:\n  a:\n    command: [x]\n    stop_grace_period: "${GRACE:-3s}"\n    readiness: { tcp: "127.0.0.1:${PORT:-7422}", retries: "${R:-2}" }\n',
    );
    assert.equal(config.services[0]!.stopGracePeriodMs, 3000);
    assert.deepEqual(config.services[0]!.readiness?.check, { kind: 'tcp', host: '127.0.0.1', port: 7422 });
    assert.equal(config.services[0]!.readiness?.retries, 2);
    rejects(
      'services:\n  a:\n    command: [x]\n    stop_grace_period: "${GRACE:-3 s}"\n',
      'COMPOSE_INVALID_FILE',
      /"3 s" is not a duration/,
    );
  });

  test('YAML syntax errors and empty files say so', () => {
    rejects('services:\n  a: [unclosed\n', 'COMPOSE_INVALID_FILE', /test\.yaml: not valid YAML/);
    rejects(
      'services:\n  a: { command: [x] }\n  a: { command: [y] }\n',
      'COMPOSE_INVALID_FILE',
      /not valid YAML.*[Mm]ap keys must be unique/s,
    );
    rejects('', 'COMPOSE_INVALID_FILE', /\(top level\): must be a map/);
    rejects('services: {}\n', 'COMPOSE_INVALID_FILE', /services: must name at least one service/);
  });
});
