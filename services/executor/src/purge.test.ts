import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bundleIn, isLiveStat, monitorArgs, monitors, parseProcs } from './purge.js';

const id = 'a'.repeat(64);
const other = 'b'.repeat(64);

test('monitorArgs reads an lxr-monitor command line and nothing else', () => {
  assert.deepEqual(monitorArgs(`/opt/native/lxr-monitor\0--id\0${id}\0--tty\0`), ['--id', id, '--tty']);
  assert.deepEqual(monitorArgs('lxr-monitor\0exec\0'), ['exec']);
  assert.equal(monitorArgs(`/usr/bin/sleep\0lxr-monitor\0--id\0${id}\0`), undefined);
  assert.equal(monitorArgs('/usr/bin/lxr-monitor-helper\0'), undefined);
  assert.equal(monitorArgs(''), undefined);
});

test("monitors matches the container's and its execs' monitors under the same runtime root only", () => {
  const container = ['--id', id, '--bundle', '/h/b', '--runtime-root', '/run/lxr/runtime', '--tty'];
  const exec = ['exec', '--runtime', '/x/lxr-runtime', '--runtime-root', '/run/lxr/runtime', '--id', id];
  assert.ok(monitors(container, id, '/run/lxr/runtime'));
  assert.ok(monitors(exec, id, '/run/lxr/runtime'));
  assert.ok(!monitors(container, other, '/run/lxr/runtime'), 'another container');
  assert.ok(!monitors(container, id, '/run/lxr-t1-rt'), 'another runtime root');
  assert.ok(!monitors(['--id'], id, '/run/lxr/runtime'), 'a flag without its value');
  assert.ok(!monitors(['--bundle', '--id', id], id, '/run/lxr/runtime'), 'no runtime root');
});

test('parseProcs reads cgroup.procs', () => {
  assert.deepEqual(parseProcs('12\n345\n'), [12, 345]);
  assert.deepEqual(parseProcs(''), []);
  assert.deepEqual(parseProcs('12\nx\n\n7'), [12, 7]);
});

test('isLiveStat tells a zombie, whatever its command name holds', () => {
  assert.ok(isLiveStat('42 (sh) S 1 42 42 0 -1'));
  assert.ok(isLiveStat('42 (lxr-monitor) R 1'));
  assert.ok(!isLiveStat('42 (lxr-monitor) Z 1 42'));
  assert.ok(isLiveStat('42 (a) Z) S 1'), 'a ") Z" inside the name');
  assert.ok(!isLiveStat(') Z'), 'a vanished process reads as gone');
});

test("bundleIn finds the container of a monitor whose bundle is in the home's containers dir", () => {
  const dir = '/tmp/lxr-e2e-x/executor/containers';
  assert.equal(bundleIn(['--id', id, '--bundle', `${dir}/${id}/bundle`], dir), id);
  assert.equal(bundleIn(['--id', id, '--bundle', `${dir}/${id}/bundle`], `${dir}/`), id);
  assert.equal(bundleIn(['--bundle', `/tmp/lxr-e2e-y/executor/containers/${id}/bundle`], dir), undefined);
  assert.equal(bundleIn(['--bundle', `${dir}/x/${id}/bundle`], dir), undefined);
  assert.equal(bundleIn(['exec', '--id', id], dir), undefined);
});
