import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VOLUME_NAME_PATTERN } from '@lxr/events';
import { developmentDefaults, withIdeWorkspace, workspaceVolumeName } from './ide-workspace.js';

describe('IDE workspace volume', () => {
  it('is <name>-workspace at /workspace, before the other volumes', () => {
    assert.deepEqual(withIdeWorkspace('goCon', true, undefined), [
      { source: 'goCon-workspace', destination: '/workspace' },
    ]);
    assert.deepEqual(
      withIdeWorkspace('goCon', true, [{ source: 'cache', destination: '/workspace/node_modules' }]),
      [
        { source: 'goCon-workspace', destination: '/workspace' },
        { source: 'cache', destination: '/workspace/node_modules' },
      ],
    );
  });

  it('is not added without the IDE, nor over a volume the user put at /workspace', () => {
    assert.equal(withIdeWorkspace('goCon', false, undefined), undefined);
    const own = [{ source: '/home/me/src', destination: '/workspace/' }];
    assert.equal(withIdeWorkspace('goCon', true, own), own);
  });

  it('stays a valid volume name for the longest container names, distinct for each', () => {
    const long = (c: string) => `${'a'.repeat(127)}${c}`;
    const [a, b] = [workspaceVolumeName(long('x')), workspaceVolumeName(long('y'))];
    assert.ok(new RegExp(VOLUME_NAME_PATTERN).test(a), a);
    assert.equal(a.length, 128);
    assert.match(a, /-workspace$/);
    assert.notEqual(a, b);
    assert.equal(workspaceVolumeName('a'.repeat(118)), `${'a'.repeat(118)}-workspace`);
  });
});

describe('development container defaults', () => {
  it('give an IDE container a terminal and open stdin, so its shell waits instead of exiting', () => {
    assert.deepEqual(developmentDefaults(true, {}), { tty: true, openStdin: true });
  });

  it('keep what the request said, and leave other containers alone', () => {
    assert.deepEqual(developmentDefaults(true, { tty: false }), { tty: false, openStdin: true });
    assert.deepEqual(developmentDefaults(false, {}), {});
  });
});
