import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { processExists } from './process.js';

describe('processExists', () => {
  it('tells a running pid from a gone one', () => {
    assert.equal(processExists(process.pid), true);
    assert.equal(processExists(2 ** 22 + 1), false);
  });
});
