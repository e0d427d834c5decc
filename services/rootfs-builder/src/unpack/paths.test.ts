import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entryName, layerPath } from './paths.js';

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
