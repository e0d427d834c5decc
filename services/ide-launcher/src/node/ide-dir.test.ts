import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IdeErrorCode } from '../errors.js';
import { prepareIdeDir } from './ide-dir.js';

describe('prepareIdeDir', () => {
  let base: string;
  before(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'lxr-ide-dir-'));
  });
  after(() => rm(base, { recursive: true, force: true }));

  it('makes /.lxr-ide sticky and world-writable and removes a stale socket', async () => {
    const rootfs = path.join(base, 'ok');
    await mkdir(rootfs);
    const first = await prepareIdeDir(rootfs);
    assert.equal(first, path.join(rootfs, '.lxr-ide', 'code-server.sock'));
    assert.equal((await stat(path.dirname(first))).mode & 0o7777, 0o1777);
    const server = net.createServer().listen(first);
    await new Promise((resolve) => server.once('listening', resolve));
    server.close();
    await writeFile(path.join(rootfs, '.lxr-ide', 'keep'), 'data');
    await prepareIdeDir(rootfs);
    await assert.rejects(stat(first), { code: 'ENOENT' });
    assert.ok((await stat(path.join(rootfs, '.lxr-ide', 'keep'))).isFile(), 'only the socket goes');
  });

  it('refuses a /.lxr-ide the container made a symlink or a file, touching nothing behind it', async () => {
    const outside = path.join(base, 'host-dir');
    await mkdir(outside, { mode: 0o700 });
    const linked = path.join(base, 'linked');
    await mkdir(linked);
    await symlink(outside, path.join(linked, '.lxr-ide'));
    await assert.rejects(prepareIdeDir(linked), { code: IdeErrorCode.UnsafePath });
    assert.equal((await stat(outside)).mode & 0o7777, 0o700, 'the host dir keeps its mode');

    const file = path.join(base, 'file');
    await mkdir(file);
    await writeFile(path.join(file, '.lxr-ide'), '');
    await assert.rejects(prepareIdeDir(file), { code: IdeErrorCode.UnsafePath });
  });
});
