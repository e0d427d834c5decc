import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureApiToken } from './api-token.js';

const temps: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'lxr-token-'));
  temps.push(dir);
  return dir;
};
after(() => Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true }))));

describe('ensureApiToken', () => {
  it('creates 32 random bytes as hex, mode 0600, leaving LXR_HOME traversable, then keeps them', async () => {
    const home = path.join(await tempDir(), 'home');
    const first = await ensureApiToken(home);
    assert.match(first.token, /^[0-9a-f]{64}$/);
    assert.equal(first.created, true);
    assert.equal((await stat(first.file)).mode & 0o777, 0o600);
    assert.notEqual((await stat(home)).mode & 0o001, 0, 'PostgreSQL must be able to traverse LXR_HOME');
    const again = await ensureApiToken(home);
    assert.deepEqual([again.token, again.created], [first.token, false]);
  });

  it('agrees on one token when started twice at once, and tightens a loosened file', async () => {
    const home = await tempDir();
    const [a, b] = await Promise.all([ensureApiToken(home), ensureApiToken(home)]);
    assert.equal(a.token, b.token);
    await chmod(a.file, 0o644);
    await ensureApiToken(home);
    assert.equal((await stat(a.file)).mode & 0o777, 0o600);
  });

  it('refuses a file that is not a token', async () => {
    const home = await tempDir();
    await writeFile(path.join(home, 'api-token'), 'hello');
    await assert.rejects(ensureApiToken(home), /does not hold 64 hex characters/);
  });
});
