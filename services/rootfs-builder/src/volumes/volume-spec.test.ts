import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VolumeError, VolumeErrorCode } from './errors.js';
import { anonymousVolumeName, bindMount, planMounts } from './volume-spec.js';

const ID = 'c'.repeat(64);

describe('planMounts', () => {
  it('classifies named volumes, host directories and anonymous volumes', () => {
    assert.deepEqual(
      planMounts(ID, [
        { source: 'data', destination: '/var/lib/data' },
        { source: '/srv/www', destination: '/usr/share/www', readOnly: true },
        { destination: '/cache' },
      ]),
      [
        { kind: 'volume', name: 'data', anonymous: false, destination: '/var/lib/data', readOnly: false },
        { kind: 'bind', hostPath: '/srv/www', destination: '/usr/share/www', readOnly: true },
        {
          kind: 'volume',
          name: anonymousVolumeName(ID, '/cache'),
          anonymous: true,
          destination: '/cache',
          readOnly: false,
        },
      ],
    );
  });

  it('names an anonymous volume after its container and path: 64 hex, the same on every prepare', () => {
    const name = anonymousVolumeName(ID, '/cache');
    assert.match(name, /^[0-9a-f]{64}$/);
    assert.equal(anonymousVolumeName(ID, '/cache'), name);
    assert.notEqual(anonymousVolumeName(ID, '/other'), name);
    assert.notEqual(anonymousVolumeName('d'.repeat(64), '/cache'), name);
  });

  it('refuses bad destinations, sources and duplicates, naming the -v', () => {
    for (const [volumes, message] of [
      [[{ destination: 'relative' }], /"-v relative": the container path must be absolute and normalised/],
      [[{ destination: '/a/../b' }], /must be absolute and normalised/],
      [[{ destination: '/a//b' }], /must be absolute and normalised/],
      [[{ destination: '/a/' }], /must be absolute and normalised/],
      [[{ source: 'v', destination: '/' }], /"-v v:\/": a volume cannot replace the container's root/],
      [[{ destination: '/proc/sys' }], /kernel filesystems/],
      [[{ destination: '/sys' }], /kernel filesystems/],
      [[{ source: '/', destination: '/host', readOnly: true }], /"-v \/:\/host:ro": binding the host's root/],
      [[{ source: '/srv/../etc', destination: '/x' }], /host path must be normalised/],
      [[{ source: '/srv/', destination: '/x' }], /host path must be normalised/],
      [[{ source: '-bad', destination: '/x' }], /neither an absolute host path nor a volume name/],
      [
        [
          { source: 'a', destination: '/data' },
          { source: '/srv', destination: '/data' },
        ],
        /"-v \/srv:\/data": another volume is already mounted at \/data/,
      ],
    ] as const) {
      assert.throws(
        () => planMounts(ID, volumes),
        (e: unknown) =>
          e instanceof VolumeError && e.code === VolumeErrorCode.Invalid && message.test(e.message),
        JSON.stringify(volumes),
      );
    }
  });

  it('allows /procfoo and /system: only the kernel filesystems themselves are reserved', () => {
    assert.equal(planMounts(ID, [{ destination: '/procfoo' }, { destination: '/system' }]).length, 2);
  });
});

describe('bindMount', () => {
  it('binds recursively and privately, read-only on :ro', () => {
    assert.deepEqual(bindMount('/h', '/c', false), {
      destination: '/c',
      type: 'bind',
      source: '/h',
      options: ['rbind', 'rprivate'],
    });
    assert.deepEqual(bindMount('/h', '/c', true).options, ['rbind', 'rprivate', 'ro']);
  });
});
