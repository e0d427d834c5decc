import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Parser, type ReadEntry } from 'tar';
import { LayerTap, parsePax } from './layer-tap.js';
import { tarBuffer } from './tar-writer.fixture.js';

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
