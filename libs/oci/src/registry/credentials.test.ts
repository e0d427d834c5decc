import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { OciError } from '../errors.js';
import { dockerConfigCredentials } from './credentials.js';

const dir = await mkdtemp(path.join(tmpdir(), 'lxr-creds-'));
after(() => rm(dir, { recursive: true, force: true }));

async function config(content: string): Promise<string> {
  const file = path.join(dir, `${Math.random()}.json`);
  await writeFile(file, content);
  return file;
}
const b64 = (s: string) => Buffer.from(s).toString('base64');

test('auths: Docker Hub under its v1 URL, other registries by host, with or without a scheme', async () => {
  const creds = dockerConfigCredentials(
    await config(
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: b64('hub:pw:with:colons') },
          'https://quay.io': { username: 'q', password: 'p' },
          'ghcr.io': { identitytoken: 'tok' },
        },
      }),
    ),
  );
  assert.deepEqual(await creds.get('docker.io'), { username: 'hub', password: 'pw:with:colons' });
  assert.deepEqual(await creds.get('quay.io'), { username: 'q', password: 'p' });
  assert.deepEqual(await creds.get('ghcr.io'), { username: '<token>', password: 'tok' });
  assert.equal(await creds.get('example.com'), undefined);
});

test('a missing config.json is anonymous; a broken one or a bad helper name is an error naming it', async () => {
  assert.equal(await dockerConfigCredentials(path.join(dir, 'none.json')).get('docker.io'), undefined);
  const broken = await config('{not json');
  await assert.rejects(
    dockerConfigCredentials(broken).get('docker.io'),
    (e: unknown) => e instanceof OciError && e.message.includes(broken),
  );
  const evil = await config(JSON.stringify({ credsStore: '../../bin/sh' }));
  await assert.rejects(dockerConfigCredentials(evil).get('docker.io'), /invalid credential helper name/);
});
