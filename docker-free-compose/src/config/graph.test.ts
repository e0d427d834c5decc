import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dependencyOrder, dependentsOf } from './graph.js';

test('dependencyOrder puts dependencies first and keeps file order otherwise', () => {
  const edges = new Map([
    ['api', ['nats', 'pg']],
    ['nats', []],
    ['pg', []],
    ['worker', ['api']],
  ]);
  assert.deepEqual(dependencyOrder(edges), { order: ['nats', 'pg', 'api', 'worker'] });
  assert.deepEqual(dependentsOf(edges, 'nats'), ['api']);
  assert.deepEqual(dependentsOf(edges, 'worker'), []);
});

test('dependencyOrder reports a cycle as a path', () => {
  const edges = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
  ]);
  assert.deepEqual(dependencyOrder(edges), { cycle: ['a', 'b', 'c', 'a'] });
  assert.deepEqual(dependencyOrder(new Map([['self', ['self']]])), { cycle: ['self', 'self'] });
});
