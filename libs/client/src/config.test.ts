import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultApiUrl, readToken } from './config.js';
import { TokenMissingError } from './errors.js';

const temps: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'lxr-client-'));
  temps.push(dir);
  return dir;
};
after(() => Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true }))));

describe('defaultApiUrl', () => {
  it('prefers LXR_API_URL, then LXR_API_HOST/PORT, then the default', () => {
    assert.equal(defaultApiUrl({}), 'http://127.0.0.1:7420');
    assert.equal(defaultApiUrl({ LXR_API_URL: 'http://h:1' }), 'http://h:1');
    assert.equal(defaultApiUrl({ LXR_API_PORT: '9000' }), 'http://127.0.0.1:9000');
    assert.equal(defaultApiUrl({ LXR_API_HOST: '0.0.0.0', LXR_API_PORT: '9000' }), 'http://127.0.0.1:9000');
    assert.equal(defaultApiUrl({ LXR_API_HOST: '::1' }), 'http://[::1]:7420');
  });
});

describe('readToken', () => {
  it('reads LXR_TOKEN, else <home>/api-token', async () => {
    const home = await tempDir();
    await writeFile(path.join(home, 'api-token'), 'abc\n');
    assert.equal(await readToken(home, {}), 'abc');
    assert.equal(await readToken(undefined, { LXR_HOME: home }), 'abc');
    assert.equal(await readToken(home, { LXR_TOKEN: 'env' }), 'env');
  });

  it('says to run `lxr up` when there is no token', async () => {
    const home = await tempDir();
    await assert.rejects(readToken(home, {}), (e: unknown) => {
      assert.ok(e instanceof TokenMissingError);
      assert.match(e.message, new RegExp(`no API token at ${home}/api-token: run \`lxr up\` first`));
      return true;
    });
  });
});
