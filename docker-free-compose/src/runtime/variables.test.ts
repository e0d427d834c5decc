import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { homeLayout } from '../home-layout.js';
import { repositoryRoot } from '../package-paths.js';
import { tempHome } from '../testing/fixtures.js';
import { baseEnvironment, findPgBinDir, supervisorVariables } from './variables.js';

test('findPgBinDir picks the newest /usr/lib/postgresql/<v>/bin, else the PATH', async (t) => {
  const root = await tempHome();
  t.after(() => rm(root, { recursive: true, force: true }));
  for (const v of ['9', '15', '13']) {
    await mkdir(path.join(root, v, 'bin'), { recursive: true });
    await writeFile(path.join(root, v, 'bin', 'initdb'), '');
  }
  await mkdir(path.join(root, '16', 'bin'), { recursive: true }); // no initdb: not a server install
  assert.equal(findPgBinDir({ PATH: '' }, root), path.join(root, '15', 'bin'));
  assert.equal(
    findPgBinDir({ PATH: `/nonexistent:${path.join(root, '9', 'bin')}` }, '/nonexistent'),
    path.join(root, '9', 'bin'),
  );
  assert.equal(findPgBinDir({ PATH: '/nonexistent' }, '/nonexistent'), undefined);
});

test('supervisorVariables adds LXR_HOME, LXR_ROOT, NODE, PG_BINDIR and the secrets', () => {
  const layout = homeLayout('/srv/lxr');
  const vars = supervisorVariables(
    layout,
    { FOO: 'bar', LXR_HOME: '/elsewhere', PG_BINDIR: '/opt/pg/bin' },
    {
      LXR_PG_PASSWORD: 'pw',
      LXR_NATS_TOKEN: 'tok',
    },
  );
  assert.equal(vars['FOO'], 'bar');
  assert.equal(vars['LXR_HOME'], '/srv/lxr', '--lxr-home wins over the environment');
  assert.equal(vars['LXR_ROOT'], repositoryRoot);
  assert.equal(vars['NODE'], process.execPath);
  assert.equal(vars['PG_BINDIR'], '/opt/pg/bin');
  assert.equal(vars['LXR_PG_PASSWORD'], 'pw');
  assert.equal(vars['LXR_NATS_TOKEN'], 'tok');
  assert.equal(vars['LXR_PG_PASSWORD_FILE'], '/srv/lxr/run/secrets/postgres-password');
  assert.equal(supervisorVariables(layout, { LXR_ROOT: '/src/lxr' }, {})['LXR_ROOT'], '/src/lxr');
});

test('baseEnvironment keeps PATH, locale and OTEL_* only', () => {
  const env = baseEnvironment({
    PATH: '/bin',
    LANG: 'C.UTF-8',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
    LXR_PG_PASSWORD: 'secret',
    NODE_TEST_CONTEXT: 'child',
  });
  assert.deepEqual(env, {
    PATH: '/bin',
    LANG: 'C.UTF-8',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
  });
  assert.match(baseEnvironment({})['PATH']!, /\/usr\/bin/);
});
