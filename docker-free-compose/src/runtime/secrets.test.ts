import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { tempHome } from '../testing/fixtures.js';
import { ensureSecrets, SECRETS, secretFilePath, withSecretFiles } from './secrets.js';

test('ensureSecrets generates each secret once, in a 0700 directory of 0600 files', async (t) => {
  const home = await tempHome();
  t.after(() => rm(home, { recursive: true, force: true }));
  const dir = path.join(home, 'secrets');
  const first = await ensureSecrets(dir);
  assert.deepEqual(Object.keys(first).sort(), ['LXR_NATS_TOKEN', 'LXR_PG_PASSWORD']);
  for (const value of Object.values(first)) assert.match(value, /^lxr[0-9a-f]{48}$/);
  assert.notEqual(first['LXR_NATS_TOKEN'], first['LXR_PG_PASSWORD']);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  for (const s of SECRETS) assert.equal(statSync(path.join(dir, s.file)).mode & 0o777, 0o600);
  assert.deepEqual(await ensureSecrets(dir), first, 'a second start reads the same secrets');
  await rm(path.join(dir, 'nats-token'));
  const third = await ensureSecrets(dir);
  assert.equal(third['LXR_PG_PASSWORD'], first['LXR_PG_PASSWORD']);
  assert.notEqual(third['LXR_NATS_TOKEN'], first['LXR_NATS_TOKEN'], 'a deleted secret is generated again');
});

test('withSecretFiles exposes a copy only while the step runs', async (t) => {
  const home = await tempHome();
  t.after(() => rm(home, { recursive: true, force: true }));
  const runSecrets = path.join(home, 'run', 'secrets');
  const file = secretFilePath(runSecrets, SECRETS[0]!);
  const seen = await withSecretFiles(
    runSecrets,
    ['LXR_PG_PASSWORD'],
    { LXR_PG_PASSWORD: 'pw' },
    undefined,
    async () => {
      assert.equal(statSync(file).mode & 0o777, 0o400);
      return readFile(file, 'utf8');
    },
  );
  assert.equal(seen, 'pw\n');
  assert.equal(existsSync(file), false);
  await assert.rejects(
    withSecretFiles(runSecrets, ['LXR_PG_PASSWORD'], { LXR_PG_PASSWORD: 'pw' }, undefined, async () => {
      throw new Error('step failed');
    }),
    /step failed/,
  );
  assert.equal(existsSync(file), false, 'removed even when the step fails');
});
