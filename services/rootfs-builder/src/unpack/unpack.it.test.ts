// The unpacker as root against the real file system: every entry type and attribute compared with
// GNU tar's extraction of the same tar, whiteouts and opaque directories through a real overlayfs
// of three layers, hardlinks across directories.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { requiresRoot, sha256 } from '@lxr/testkit';
import { unpackLayer } from './index.js';
import { type TarEntry, tarBuffer } from './tar-writer.fixture.js';

const skip = requiresRoot();
const work = mkdtempSync(path.join(tmpdir(), 'lxr-unpack-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function unpack(entries: TarEntry[], name: string): Promise<string> {
  const tar = tarBuffer(entries);
  const target = path.join(work, name);
  await unpackLayer(Readable.from([tar]), target, { expectedDiffId: sha256(tar) });
  return target;
}

/** Every attribute of every file beneath `root`, one line each, as find and getfattr see them. */
function describe(root: string): string[] {
  const lines = execFileSync('find', ['.', '-mindepth', '1', '-printf', '%p %y %m %U:%G %s %T@ %l %n\\n'], {
    cwd: root,
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    // GNU tar sets the mtime of directories it only created as parents to now; lxr does too.
    .map((line) => line.replace(/^(\S+ d \S+ \S+ \S+) \S+/, '$1 -'));
  const xattrs = execFileSync('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'hex', '.'], {
    cwd: root,
    encoding: 'utf8',
  });
  return [...lines.sort(), ...xattrs.split('\n\n').filter(Boolean).sort()];
}

const every: TarEntry[] = [
  { path: 'etc/', type: '5', mode: 0o755, mtime: 1_600_000_000 },
  { path: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n', mode: 0o644, mtime: 1_600_000_001 },
  { path: 'usr/bin/su', body: 'ELF', mode: 0o4755, uid: 0, gid: 0 },
  { path: 'etc/empty', body: '', mode: 0o4710, uid: 2, gid: 3, mtime: 1_600_000_003 },
  { path: 'usr/bin/wall', body: 'ELF', mode: 0o2755, uid: 0, gid: 5 },
  { path: 'tmp/', type: '5', mode: 0o1777 },
  { path: 'home/user/', type: '5', mode: 0o700, uid: 1000, gid: 1000, mtime: 1_650_000_000 },
  { path: 'home/user/.profile', body: 'PS1=$\n', uid: 1000, gid: 1000, mode: 0o600 },
  { path: 'bin/sh', type: '2', linkpath: '/usr/bin/dash', uid: 7, gid: 8, mtime: 1_600_000_002 },
  {
    path: 'usr/bin/ping',
    body: 'ELF',
    mode: 0o755,
    pax: { 'SCHILY.xattr.security.capability': capability() },
  },
  { path: 'usr/share/a', body: 'x', pax: { 'SCHILY.xattr.user.note': 'héllo' } },
  { path: 'usr/lib/linked', type: '1', linkpath: 'etc/passwd' },
  { path: 'dev/null', type: '3', devmajor: 1, devminor: 3, mode: 0o666 },
  { path: 'dev/loop0', type: '4', devmajor: 7, devminor: 0, mode: 0o660, gid: 6 },
  { path: 'run/fifo', type: '6', mode: 0o620, uid: 3 },
  { path: `deep/${'long-name-'.repeat(20)}/${'more-'.repeat(20)}/file`, body: 'deep' },
  { path: `deep/${'l'.repeat(120)}`, type: '2', linkpath: `../${'target/'.repeat(30)}x` },
  {
    path: `deep/${'h'.repeat(120)}`,
    type: '1',
    linkpath: `deep/${'long-name-'.repeat(20)}/${'more-'.repeat(20)}/file`,
  },
  { path: 'etc/passwd', body: 'replaced\n', mode: 0o640 },
];

function capability(): Buffer {
  // VFS_CAP_REVISION_2 with cap_net_raw (13) and cap_setuid (7) permitted: bytes above 0x7f.
  const value = Buffer.alloc(20);
  value.writeUInt32LE(0x02000001, 0);
  value.writeUInt32LE((1 << 13) | (1 << 7), 4);
  return value;
}

test('every entry type and attribute comes out as GNU tar extracts it', { skip }, async () => {
  const target = await unpack(every, 'every');
  const tar = tarBuffer(every);
  const gnu = path.join(work, 'every-gnu');
  execFileSync('mkdir', [gnu]);
  execFileSync(
    'tar',
    [
      '-C',
      gnu,
      '--same-owner',
      '--same-permissions',
      '--numeric-owner',
      '--xattrs',
      '--xattrs-include=*',
      '-xf',
      '-',
    ],
    { input: tar },
  );
  assert.deepEqual(describe(target), describe(gnu));
  // The checks that make the comparison mean something.
  assert.equal(readFileSync(path.join(target, 'etc/passwd'), 'utf8'), 'replaced\n');
  assert.equal(statSync(path.join(target, 'usr/bin/su')).mode & 0o7777, 0o4755);
  assert.equal(statSync(path.join(target, 'tmp')).mode & 0o7777, 0o1777);
  assert.equal(readlinkSync(path.join(target, 'bin/sh')), '/usr/bin/dash');
  assert.equal(lstatSync(path.join(target, 'bin/sh')).uid, 7);
  assert.ok(statSync(path.join(target, 'dev/null')).isCharacterDevice());
  assert.equal(statSync(path.join(target, 'dev/null')).rdev, 0x103);
  assert.equal(statSync(path.join(target, 'etc')).mtimeMs, 1_600_000_000_000);
  assert.match(
    execFileSync('getfattr', ['-n', 'security.capability', '-e', 'hex', path.join(target, 'usr/bin/ping')], {
      encoding: 'utf8',
    }),
    /=0x0100000280200000/,
  );
  assert.equal(statSync(target).mode & 0o777, 0o755);
});

test('a hardlink across directories shares the inode of its target', { skip }, async () => {
  const target = await unpack(
    [
      { path: 'a/one/file', body: 'shared', mode: 0o640, uid: 5 },
      { path: 'b/two/link', type: '1', linkpath: './a/one/file' },
      { path: 'c/link', type: '1', linkpath: '/a/one/file' },
    ],
    'hardlinks',
  );
  const inode = statSync(path.join(target, 'a/one/file')).ino;
  assert.equal(statSync(path.join(target, 'b/two/link')).ino, inode);
  assert.equal(statSync(path.join(target, 'c/link')).ino, inode);
  assert.equal(statSync(path.join(target, 'c/link')).nlink, 3);
  assert.equal(readFileSync(path.join(target, 'b/two/link'), 'utf8'), 'shared');
});

test('whiteouts and opaque directories across three layers mounted with overlayfs', { skip }, async (t) => {
  const l1 = await unpack(
    [
      { path: 'etc/keep', body: 'l1' },
      { path: 'etc/gone', body: 'l1' },
      { path: 'etc/back', body: 'l1' },
      { path: 'var/cache/old1', body: 'l1' },
      { path: 'var/cache/sub/old2', body: 'l1' },
      { path: 'opt/tree/x', body: 'l1' },
    ],
    'l1',
  );
  const l2 = await unpack(
    [
      { path: 'etc/.wh.gone', body: '' },
      { path: 'etc/.wh.back', body: '' },
      { path: 'opt/.wh.tree', body: '' },
      { path: 'var/cache/mid', body: 'l2' },
    ],
    'l2',
  );
  const l3 = await unpack(
    [
      { path: 'var/cache/', type: '5' },
      { path: 'var/cache/.wh..wh..opq', body: '' },
      { path: 'var/cache/new', body: 'l3' },
      { path: 'etc/back', body: 'l3' },
    ],
    'l3',
  );
  // In overlay form: a 0/0 character device, an xattr.
  const whiteout = statSync(path.join(l2, 'etc/gone'));
  assert.ok(whiteout.isCharacterDevice());
  assert.equal(whiteout.rdev, 0);
  assert.match(
    execFileSync('getfattr', ['-n', 'trusted.overlay.opaque', path.join(l3, 'var/cache')], {
      encoding: 'utf8',
    }),
    /trusted.overlay.opaque="y"/,
  );
  const merged = path.join(work, 'merged');
  execFileSync('mkdir', [merged]);
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${l3}:${l2}:${l1}`, merged]);
  t.after(() => execFileSync('umount', [merged]));
  assert.deepEqual(readdirSync(path.join(merged, 'etc')).sort(), ['back', 'keep']);
  assert.equal(readFileSync(path.join(merged, 'etc/keep'), 'utf8'), 'l1');
  assert.equal(readFileSync(path.join(merged, 'etc/back'), 'utf8'), 'l3');
  assert.deepEqual(readdirSync(path.join(merged, 'opt')), []);
  assert.deepEqual(readdirSync(path.join(merged, 'var/cache')), ['new']);
});

test('a whiteout does not hide what its own layer has; a later entry replaces a whiteout', {
  skip,
}, async () => {
  const target = await unpack(
    [
      { path: 'a/file', body: 'mine' },
      { path: 'a/.wh.file', body: '' },
      { path: 'b/.wh.x', body: '' },
      { path: 'b/x', body: 'again' },
    ],
    'same-layer',
  );
  assert.equal(readFileSync(path.join(target, 'a/file'), 'utf8'), 'mine');
  assert.equal(readFileSync(path.join(target, 'b/x'), 'utf8'), 'again');
});
