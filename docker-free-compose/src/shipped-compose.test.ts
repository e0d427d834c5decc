import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadCompose } from './config/load-compose.js';
import { homeLayout } from './home-layout.js';
import { defaultComposeFile, packageDir, repositoryRoot } from './package-paths.js';
import { SECRETS } from './runtime/secrets.js';
import { supervisorVariables } from './runtime/variables.js';

const NODE_SERVICES = ['image-puller', 'rootfs-builder', 'network-allocator', 'executor', 'ide-launcher'];

function loadShipped(env: Record<string, string> = {}) {
  const layout = homeLayout('/var/lib/lxr');
  const vars = supervisorVariables(
    layout,
    { PG_BINDIR: '/usr/lib/postgresql/15/bin', ...env },
    {
      LXR_PG_PASSWORD: 'pw',
      LXR_NATS_TOKEN: 'tok',
    },
  );
  const text = readFileSync(defaultComposeFile, 'utf8');
  return loadCompose(text, defaultComposeFile, { vars, secretNames: SECRETS.map((s) => s.name) });
}

test('the shipped compose.yaml starts nats and postgres first, then the gateway and the services', () => {
  const config = loadShipped();
  const names = config.services.map((s) => s.name);
  assert.deepEqual(names, ['nats', 'postgres', 'api-gateway', ...NODE_SERVICES]);
  for (const name of ['api-gateway', ...NODE_SERVICES]) {
    const s = config.services.find((x) => x.name === name)!;
    assert.deepEqual(s.command, [
      process.execPath,
      path.join(repositoryRoot, 'services', name, 'dist', 'main.js'),
    ]);
    assert.deepEqual(
      s.dependsOn.map((d) => d.service),
      ['nats', 'postgres'],
    );
    assert.equal(s.environment['LXR_HOME'], '/var/lib/lxr');
    assert.equal(s.environment['LXR_NATS_URL'], 'nats://tok@127.0.0.1:7422');
    assert.equal(s.environment['LXR_DATABASE_URL'], 'postgres://lxr:pw@127.0.0.1:7432/lxr');
  }
  const gateway = config.services.find((s) => s.name === 'api-gateway')!;
  assert.equal(gateway.environment['LXR_API_PORT'], '7420');
  assert.deepEqual(gateway.readiness?.check, { kind: 'http', url: 'http://127.0.0.1:7420/readyz' });
  NODE_SERVICES.forEach((name, i) => {
    const s = config.services.find((x) => x.name === name)!;
    assert.equal(s.environment['LXR_HEALTH_PORT'], String(7441 + i), name);
    assert.deepEqual(s.readiness?.check, { kind: 'http', url: `http://127.0.0.1:${7441 + i}/readyz` });
  });
});

test('nats and postgres use their own ports, data under LXR_HOME and the generated secrets', () => {
  const config = loadShipped();
  const nats = config.services.find((s) => s.name === 'nats')!;
  assert.deepEqual(nats.environment, {
    LXR_NATS_PORT: '7422',
    LXR_NATS_STORE_DIR: '/var/lib/lxr/nats',
    LXR_NATS_TOKEN: 'tok',
  });
  assert.ok(!nats.command.join(' ').includes('tok'), 'the token is not on the command line');
  assert.ok(existsSync(path.join(packageDir, 'nats.conf')));
  assert.deepEqual(nats.readiness?.check, { kind: 'tcp', host: '127.0.0.1', port: 7422 });
  const pg = config.services.find((s) => s.name === 'postgres')!;
  assert.equal(pg.user, 'postgres');
  assert.ok(pg.command.includes('7432') && !pg.command.includes('5432'));
  assert.ok(pg.command.includes('/var/lib/lxr/run/postgres'), 'its socket directory is under LXR_HOME/run');
  assert.equal(pg.stopSignal, 'SIGINT');
  const [initdb, createDb] = pg.init;
  assert.equal(initdb!.creates, '/var/lib/lxr/postgres/data/PG_VERSION');
  assert.ok(initdb!.command.includes('--pwfile=/var/lib/lxr/run/secrets/postgres-password'));
  assert.ok(
    initdb!.command.includes('--auth-host=scram-sha-256') && initdb!.command.includes('--auth-local=peer'),
  );
  assert.deepEqual(initdb!.secrets, ['LXR_PG_PASSWORD']);
  assert.match(createDb!.stdin ?? '', /ALTER ROLE lxr PASSWORD 'pw';\nCREATE DATABASE lxr OWNER lxr;/);
});

test('ports and health ports follow the environment; LXR_NODE_NAME passes through', () => {
  const config = loadShipped({
    LXR_NATS_PORT: '17422',
    LXR_PG_PORT: '17432',
    LXR_API_PORT: '17420',
    LXR_EXECUTOR_HEALTH_PORT: '17444',
    LXR_NODE_NAME: 'node-7',
  });
  const get = (name: string) => config.services.find((s) => s.name === name)!;
  assert.equal(get('nats').environment['LXR_NATS_PORT'], '17422');
  assert.ok(get('postgres').command.includes('17432'));
  assert.equal(get('api-gateway').environment['LXR_DATABASE_URL'], 'postgres://lxr:pw@127.0.0.1:17432/lxr');
  assert.equal(get('api-gateway').environment['LXR_NATS_URL'], 'nats://tok@127.0.0.1:17422');
  assert.equal(get('api-gateway').environment['LXR_API_PORT'], '17420');
  assert.equal(get('executor').environment['LXR_HEALTH_PORT'], '17444');
  assert.equal(get('executor').environment['LXR_NODE_NAME'], 'node-7');
  assert.equal(loadShipped().services[2]!.environment['LXR_NODE_NAME'], undefined);
});

test('without PostgreSQL the shipped file says to run infra/setup.sh', () => {
  const layout = homeLayout('/var/lib/lxr');
  const vars = {
    ...supervisorVariables(layout, {}, { LXR_PG_PASSWORD: 'pw', LXR_NATS_TOKEN: 'tok' }),
    PG_BINDIR: undefined,
  };
  assert.throws(
    () =>
      loadCompose(readFileSync(defaultComposeFile, 'utf8'), defaultComposeFile, {
        vars,
        secretNames: ['LXR_PG_PASSWORD'],
      }),
    /PostgreSQL is not installed \(no initdb found\); run infra\/setup\.sh/,
  );
});
