import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Parser, type ReadEntry } from 'tar';
import { LayerTap, parsePax } from './layer-tap.js';
import { entryName, layerPath } from './paths.js';
import { tarBuffer } from './tar-writer.fixture.js';

const code = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return 'accepted';
};

test('layer paths: leading / and ./ dropped, inner .. resolved lexically, .. above the root rejected', () => {
  assert.equal(layerPath('/etc/passwd', 4096), 'etc/passwd');
  assert.equal(layerPath('./usr//bin/./sh', 4096), 'usr/bin/sh');
  assert.equal(layerPath('a/b/../c', 4096), 'a/c');
  assert.equal(layerPath('./', 4096), '');
  assert.equal(
    code(() => layerPath('../x', 4096)),
    'ROOTFS_LAYER_UNSAFE_PATH',
  );
  assert.equal(
    code(() => layerPath('/../../etc/passwd', 4096)),
    'ROOTFS_LAYER_UNSAFE_PATH',
  );
  assert.equal(
    code(() => layerPath('a/../../x', 4096)),
    'ROOTFS_LAYER_UNSAFE_PATH',
  );
  assert.equal(
    code(() => layerPath('a\0b', 4096)),
    'ROOTFS_LAYER_UNSAFE_PATH',
  );
  assert.equal(
    code(() => layerPath(`a/${'x'.repeat(256)}`, 4096)),
    'ROOTFS_LAYER_PATH_TOO_LONG',
  );
  assert.equal(
    code(() => layerPath('a/'.repeat(40), 64)),
    'ROOTFS_LAYER_PATH_TOO_LONG',
  );
});

test('whiteouts: .wh.NAME hides NAME, .wh..wh..opq marks its directory opaque, malformed ones rejected', () => {
  assert.deepEqual(entryName('etc/.wh.passwd', 4096), { kind: 'whiteout', path: 'etc/passwd' });
  assert.deepEqual(entryName('/.wh.tmp', 4096), { kind: 'whiteout', path: 'tmp' });
  assert.deepEqual(entryName('var/cache/.wh..wh..opq', 4096), { kind: 'opaque', path: 'var/cache' });
  assert.deepEqual(entryName('.wh..wh..opq', 4096), { kind: 'opaque', path: '' });
  assert.deepEqual(entryName('usr/bin/sh', 4096), { kind: 'path', path: 'usr/bin/sh' });
  for (const bad of ['a/.wh.', 'a/.wh..', 'a/.wh...', '.wh..wh.foo', 'a/.wh.x/y', '.wh../x']) {
    assert.equal(
      code(() => entryName(bad, 4096)),
      'ROOTFS_LAYER_INVALID_WHITEOUT',
      bad,
    );
  }
  assert.equal(
    code(() => entryName('../.wh.x', 4096)),
    'ROOTFS_LAYER_UNSAFE_PATH',
  );
});

test('PAX records are read by length, so binary xattr values survive (tar decodes them as UTF-8)', () => {
  const capability = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x80, 0x20, 0x0a, 0xff, 0x3d, 0x00]);
  const record = (key: string, value: Buffer) => {
    const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
    return Buffer.concat([Buffer.from(String(body.length + 2)), body]);
  };
  const ex = parsePax(
    Buffer.concat([
      record('SCHILY.xattr.security.capability', capability),
      record('path', Buffer.from('日本/語')),
      record('size', Buffer.from('42')),
      record('GNU.sparse.major', Buffer.from('1')),
    ]),
  );
  assert.deepEqual(ex.xattrs?.get('security.capability'), capability);
  assert.equal(ex.path, '日本/語');
  assert.equal(ex.size, 42);
  assert.equal(ex.sparse, true);
});

test('the tap follows the same framing as the Parser, one byte at a time as in big chunks', () => {
  const tar = tarBuffer([
    { path: 'd', type: '5' },
    { path: `d/${'long-'.repeat(40)}`, body: 'x'.repeat(700), pax: { 'SCHILY.xattr.user.a': 'b' } },
    { path: 'd/l', type: '2', linkpath: 'x'.repeat(150) },
    { path: 'd/f', body: 'hello' },
  ]);
  for (const step of [1, 7, 512, tar.length]) {
    const tap = new LayerTap(1e9);
    const parser = new Parser();
    const seen: string[] = [];
    parser.on('entry', (entry: ReadEntry) => {
      const tapped = tap.pending.shift();
      assert.equal(tapped?.path, entry.path);
      assert.equal(tapped?.linkpath, entry.linkpath ?? '');
      seen.push(`${tapped?.path}:${tapped?.size}:${tapped?.xattrs?.get('user.a') ?? ''}`);
      entry.resume();
    });
    for (let at = 0; at < tar.length; at += step) {
      const chunk = tar.subarray(at, at + step);
      tap.update(chunk);
      parser.write(chunk);
    }
    parser.end();
    assert.deepEqual(seen, ['d:0:', `d/${'long-'.repeat(40)}:700:b`, 'd/l:0:', 'd/f:5:'], `step ${step}`);
    assert.equal(tap.pending.length, 0);
  }
});

test('the tap refuses more bytes than the cap', () => {
  const tap = new LayerTap(1024);
  assert.throws(() => tap.update(Buffer.alloc(2048)), { code: 'ROOTFS_LAYER_TOO_LARGE' });
});
