import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { warmNames, warmOwner } from './warm-pool.js';

describe('warm link names', () => {
  const prefixes = { netnsPrefix: 'lxr-', vethPrefix: 'lxv' };

  it('carry the owner pid, fit an interface name, and are told apart from container names', () => {
    for (const [pid, n] of [
      [1, 0],
      [4_194_304, 999_999],
      [31_337, 12],
    ] as const) {
      const { netns, hostVeth } = warmNames(prefixes, pid, n);
      assert.ok(hostVeth.length <= 15, hostVeth);
      assert.equal(warmOwner(prefixes, netns), pid);
      assert.equal(warmOwner(prefixes, hostVeth), pid);
    }
    assert.equal(warmOwner(prefixes, 'lxr-3f2a9c81d0e4'), undefined);
    assert.equal(warmOwner(prefixes, 'lxv3f2a9c81d0e4'), undefined);
    assert.equal(
      warmOwner({ netnsPrefix: 'a.b-', vethPrefix: 'x' }, 'aXb-w12-3'),
      undefined,
      'prefixes are literal',
    );
  });
});
