// Hostile layers, after containerd's archive breakout tests: each must fail cleanly (an UnpackError,
// the target gone) or stay inside the target — and the host must be untouched either way. Then the
// caps: a decompression bomb and a million-entry layer, both rejected with bounded memory.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, test } from 'node:test';
import { createGunzip, createGzip } from 'node:zlib';
import { requiresRoot, sha256 } from '@lxr/testkit';
import { type UnpackError, unpackLayer } from './index.js';
import { type TarEntry, tarBlocks, tarBuffer, tarStream } from './tar-writer.fixture.js';

const skip = requiresRoot();
// The layer goes to <work>/layers/<case>; the sentinel sits in <work>, one level above it.
const work = mkdtempSync(path.join(tmpdir(), 'lxr-hostile-'));
const layers = path.join(work, 'layers');
mkdirSync(layers);
const sentinel = path.join(work, 'sentinel');
writeFileSync(sentinel, 'untouched');
const sentinelMtime = statSync(sentinel).mtimeMs;
after(() => rmSync(work, { recursive: true, force: true }));

function hostUntouched(): void {
  assert.equal(readFileSync(sentinel, 'utf8'), 'untouched');
  assert.equal(statSync(sentinel).mtimeMs, sentinelMtime);
  assert.equal(readFileSync('/etc/passwd', 'utf8'), passwd);
  for (const name of ['evil', 'x', 'pwned', 'escaped']) {
    assert.equal(existsSync(path.join(work, name)), false, `${name} appeared outside the layer`);
    assert.equal(existsSync(path.join('/tmp', name)), false, `/tmp/${name} appeared`);
  }
}
const passwd = readFileSync('/etc/passwd', 'utf8');

/** Unpacks `entries`; returns the error code, or 'inside' after checking nothing left the layer. */
async function attempt(name: string, entries: TarEntry[]): Promise<string> {
  const tar = tarBuffer(entries);
  const target = path.join(layers, name);
  try {
    await unpackLayer(Readable.from([tar]), target, { expectedDiffId: sha256(tar) });
    return 'inside';
  } catch (error) {
    assert.equal(existsSync(target), false, `${name}: the rejected layer's directory was left behind`);
    assert.match((error as Error).message, /\S/);
    return (error as UnpackError).code;
  } finally {
    hostUntouched();
  }
}

const cases: [string, TarEntry[], string][] = [
  ['dotdot file', [{ path: '../x', body: 'pwned' }], 'ROOTFS_LAYER_UNSAFE_PATH'],
  ['dotdot deep', [{ path: 'a/../../../x', body: 'pwned' }], 'ROOTFS_LAYER_UNSAFE_PATH'],
  ['absolute escaping', [{ path: '/../../sentinel', body: 'pwned' }], 'ROOTFS_LAYER_UNSAFE_PATH'],
  ['dotdot dir', [{ path: '../evil/', type: '5' }], 'ROOTFS_LAYER_UNSAFE_PATH'],
  [
    'symlink out, then a file through it',
    [
      { path: 'evil', type: '2', linkpath: '../..' },
      { path: 'evil/x', body: 'pwned' },
    ],
    'ROOTFS_LAYER_UNSAFE_PATH',
  ],
  [
    'absolute symlink, then a file through it',
    [
      { path: 'etc', type: '2', linkpath: '/etc' },
      { path: 'etc/passwd', body: 'pwned' },
    ],
    'ROOTFS_LAYER_UNSAFE_PATH',
  ],
  [
    'symlink chain',
    [
      { path: 'a', type: '2', linkpath: 'b' },
      { path: 'b', type: '2', linkpath: '../../..' },
      { path: 'a/x', body: 'pwned' },
    ],
    'ROOTFS_LAYER_UNSAFE_PATH',
  ],
  [
    'symlink to a directory inside, then a file through it',
    [
      { path: 'real/', type: '5' },
      { path: 'alias', type: '2', linkpath: 'real' },
      { path: 'alias/x', body: 'pwned' },
    ],
    'ROOTFS_LAYER_UNSAFE_PATH',
  ],
  [
    'hardlink to /etc/passwd',
    [{ path: 'pw', type: '1', linkpath: '/etc/passwd' }],
    'ROOTFS_LAYER_UNSAFE_LINK',
  ],
  [
    'hardlink to ../../x',
    [{ path: 'pw', type: '1', linkpath: '../../sentinel' }],
    'ROOTFS_LAYER_UNSAFE_PATH',
  ],
  [
    'hardlink to a symlink pointing out',
    [
      { path: 'out', type: '2', linkpath: '/etc/passwd' },
      { path: 'pw', type: '1', linkpath: 'out' },
    ],
    'ROOTFS_LAYER_UNSAFE_LINK',
  ],
  [
    'hardlink through a symlinked directory',
    [
      { path: 'd', type: '2', linkpath: '/etc' },
      { path: 'pw', type: '1', linkpath: 'd/passwd' },
    ],
    'ROOTFS_LAYER_UNSAFE_LINK',
  ],
  [
    'file written over a symlink pointing out replaces the symlink',
    [
      { path: 'pw', type: '2', linkpath: '/etc/passwd' },
      { path: 'pw', body: 'mine' },
    ],
    'inside',
  ],
  [
    'directory replaced by a symlink, then a file below it',
    [
      { path: 'd/', type: '5' },
      { path: 'd/keep', body: 'x' },
      { path: 'd', type: '2', linkpath: '/tmp' },
      { path: 'd/escaped', body: 'pwned' },
    ],
    'ROOTFS_LAYER_UNSAFE_PATH',
  ],
  ['whiteout .wh..', [{ path: 'a/.wh..', body: '' }], 'ROOTFS_LAYER_INVALID_WHITEOUT'],
  ['whiteout .wh...', [{ path: 'a/.wh...', body: '' }], 'ROOTFS_LAYER_INVALID_WHITEOUT'],
  ['whiteout .wh. + ../x', [{ path: 'a/.wh../x', body: '' }], 'ROOTFS_LAYER_INVALID_WHITEOUT'],
  ['whiteout escaping', [{ path: '../.wh.sentinel', body: '' }], 'ROOTFS_LAYER_UNSAFE_PATH'],
  ['empty whiteout', [{ path: '.wh.', body: '' }], 'ROOTFS_LAYER_INVALID_WHITEOUT'],
  [
    'whiteout through a symlink',
    [
      { path: 'l', type: '2', linkpath: '/tmp' },
      { path: 'l/.wh.x', body: '' },
    ],
    'ROOTFS_LAYER_UNSAFE_PATH',
  ],
  [
    'opaque marker through a symlink',
    [
      { path: 'l', type: '2', linkpath: '..' },
      { path: 'l/.wh..wh..opq', body: '' },
    ],
    'ROOTFS_LAYER_INVALID_WHITEOUT',
  ],
  [
    'device with a newline in its name',
    [{ path: 'dev/a\nb', type: '3', devmajor: 1, devminor: 3 }],
    'inside',
  ],
  ['device named ..', [{ path: 'dev/..', type: '3', devmajor: 1, devminor: 3 }], 'ROOTFS_LAYER_UNSAFE_PATH'],
  [
    'device at a symlinked path',
    [
      { path: 'dev', type: '2', linkpath: '/dev' },
      { path: 'dev/sda', type: '4', devmajor: 8, devminor: 0 },
    ],
    'ROOTFS_LAYER_UNSAFE_PATH',
  ],
  [
    'forged overlay metadata',
    [{ path: 'd/', type: '5', pax: { 'SCHILY.xattr.trusted.overlay.redirect': '/etc' } }],
    'ROOTFS_LAYER_FORBIDDEN_XATTR',
  ],
  ['root replaced by a symlink', [{ path: './', type: '2', linkpath: '/' }], 'ROOTFS_LAYER_UNSAFE_PATH'],
  [
    'file below a file',
    [
      { path: 'f', body: 'x' },
      { path: 'f/x', body: 'y' },
    ],
    'ROOTFS_LAYER_UNSAFE_PATH',
  ],
  ['sparse file', [{ path: 's', type: 'S', body: 'x' }], 'ROOTFS_LAYER_UNSUPPORTED_ENTRY'],
];

for (const [name, entries, expected] of cases) {
  test(`hostile layer: ${name}`, { skip }, async () => {
    assert.equal(await attempt(name.replace(/\W+/g, '-'), entries), expected);
  });
}

test('hostile layer: a file replacing a symlink writes the file, not through the link', {
  skip,
}, async () => {
  const tar = tarBuffer([
    { path: 'pw', type: '2', linkpath: sentinel },
    { path: 'pw', body: 'mine' },
  ]);
  const target = path.join(layers, 'replace-link');
  await unpackLayer(Readable.from([tar]), target, { expectedDiffId: sha256(tar) });
  assert.equal(readFileSync(path.join(target, 'pw'), 'utf8'), 'mine');
  assert.ok(statSync(path.join(target, 'pw')).isFile());
  hostUntouched();
});

test('an empty layer (only the end-of-archive blocks) unpacks to an empty directory', { skip }, async () => {
  const tar = Buffer.alloc(1024);
  const target = path.join(layers, 'empty');
  const result = await unpackLayer(Readable.from([tar]), target, { expectedDiffId: sha256(tar) });
  assert.deepEqual(result, { diffId: sha256(tar), entries: 0, bytes: 0 });
  assert.deepEqual(readdirSync(target), []);
  assert.equal(statSync(target).mode & 0o777, 0o755);
});

test('a diffID mismatch is rejected and leaves nothing', { skip }, async () => {
  const tar = tarBuffer([{ path: 'f', body: 'x' }]);
  const target = path.join(layers, 'mismatch');
  await assert.rejects(
    unpackLayer(Readable.from([tar]), target, { expectedDiffId: sha256(Buffer.from('other')) }),
    { code: 'ROOTFS_LAYER_DIFF_ID_MISMATCH' },
  );
  assert.equal(existsSync(target), false);
});

test('a corrupt or truncated tar is rejected and leaves nothing', { skip }, async () => {
  const tar = tarBuffer([{ path: 'f', body: 'x'.repeat(2000) }]);
  for (const [name, bytes] of [
    ['truncated', tar.subarray(0, 1024)],
    ['bad checksum', Buffer.concat([Buffer.from('garbage'), tar.subarray(7)])],
  ] as const) {
    const target = path.join(layers, name.replace(' ', '-'));
    await assert.rejects(unpackLayer(Readable.from([bytes]), target, { expectedDiffId: sha256(bytes) }), {
      code: 'ROOTFS_LAYER_CORRUPT',
    });
    assert.equal(existsSync(target), false);
  }
});

test('an existing target is refused and left alone', { skip }, async () => {
  const target = path.join(layers, 'exists');
  mkdirSync(target);
  writeFileSync(path.join(target, 'mine'), 'x');
  const tar = tarBuffer([{ path: 'f', body: 'x' }]);
  await assert.rejects(unpackLayer(Readable.from([tar]), target, { expectedDiffId: sha256(tar) }), {
    code: 'ROOTFS_LAYER_TARGET_EXISTS',
  });
  assert.equal(readFileSync(path.join(target, 'mine'), 'utf8'), 'x');
});

test('an aborted unpack stops and leaves nothing', { skip }, async () => {
  const controller = new AbortController();
  const target = path.join(layers, 'aborted');
  const endless = function* (): Generator<TarEntry> {
    for (let i = 0; ; i++) {
      if (i === 200) controller.abort();
      yield { path: `f${i}`, body: 'x' };
    }
  };
  await assert.rejects(
    unpackLayer(tarStream(endless()), target, {
      expectedDiffId: sha256(Buffer.alloc(0)),
      signal: controller.signal,
    }),
    { code: 'ROOTFS_LAYER_ABORTED' },
  );
  assert.equal(existsSync(target), false);
});

/** Peak RSS growth while `run` goes, sampled every 10 ms. */
async function rssGrowth(run: () => Promise<unknown>): Promise<number> {
  globalThis.gc?.();
  const before = process.memoryUsage.rss();
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  try {
    await run();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage.rss()) - before;
}

const MiB = 1024 * 1024;

test('a decompression bomb (1 GiB of zeros in ~1 MiB of gzip) is rejected with bounded memory', {
  skip,
}, async () => {
  const gzipped: Buffer[] = [];
  await pipeline(
    Readable.from(
      tarBlocks([
        { path: 'ok', body: 'fine' },
        { path: 'zeros', zeros: 1024 * MiB },
      ]),
    ),
    createGzip({ level: 1 }),
    async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) gzipped.push(chunk);
    },
  );
  const bomb = Buffer.concat(gzipped);
  assert.ok(bomb.length < 8 * MiB, `the bomb is ${bomb.length} bytes`);
  const target = path.join(layers, 'bomb');
  let error: unknown;
  const growth = await rssGrowth(async () => {
    error = await unpackLayer(Readable.from([bomb]).pipe(createGunzip()), target, {
      expectedDiffId: sha256(Buffer.alloc(0)),
      limits: { maxBytes: 64 * MiB },
    }).catch((e: unknown) => e);
  });
  assert.equal((error as UnpackError).code, 'ROOTFS_LAYER_TOO_LARGE', String(error));
  assert.match((error as Error).message, /'zeros' \(1073741824 bytes\)/);
  assert.equal(existsSync(target), false);
  assert.ok(growth < 200 * MiB, `RSS grew ${Math.round(growth / MiB)} MiB`);
  hostUntouched();
});

test('a million-entry layer is rejected at the entry cap with bounded memory', { skip }, async () => {
  function* million(): Generator<TarEntry> {
    for (let i = 0; i < 1_000_000; i++) yield { path: `d${i % 100}/f${i}`, body: '' };
  }
  const target = path.join(layers, 'million');
  let error: unknown;
  const growth = await rssGrowth(async () => {
    error = await unpackLayer(tarStream(million()), target, {
      expectedDiffId: sha256(Buffer.alloc(0)),
      limits: { maxEntries: 20_000 },
    }).catch((e: unknown) => e);
  });
  assert.equal((error as UnpackError).code, 'ROOTFS_LAYER_TOO_MANY_ENTRIES', String(error));
  assert.match((error as Error).message, /more than 20000/);
  assert.equal(existsSync(target), false);
  assert.ok(growth < 200 * MiB, `RSS grew ${Math.round(growth / MiB)} MiB`);
});
