import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMountHelper, mountsUnder } from './purge.js';

test('mountsUnder keeps the mounts strictly under the home, deepest first', () => {
  const points = [
    '/',
    '/tmp/lxr-e2e-a',
    '/tmp/lxr-e2e-a/rootfs/1/m',
    '/tmp/lxr-e2e-a/rootfs/1/m/proc',
    '/tmp/lxr-e2e-ab/rootfs/2/m',
    '/tmp/lxr-e2e-a/rootfs/3/m',
  ];
  assert.deepEqual(mountsUnder(points, '/tmp/lxr-e2e-a/'), [
    '/tmp/lxr-e2e-a/rootfs/1/m/proc',
    '/tmp/lxr-e2e-a/rootfs/3/m',
    '/tmp/lxr-e2e-a/rootfs/1/m',
  ]);
  assert.deepEqual(mountsUnder(points, '/var/lib/lxr'), []);
});

test('isMountHelper finds `lxr-mount serve` only', () => {
  assert.ok(isMountHelper('/work/native/build/lxr-mount\0serve\0'));
  assert.ok(!isMountHelper('/work/native/build/lxr-mount\0unmount\0/x\0'));
  assert.ok(!isMountHelper('/usr/bin/sleep\0serve\0'));
  assert.ok(!isMountHelper(''));
});
