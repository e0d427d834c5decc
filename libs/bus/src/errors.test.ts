import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusError, BusErrorCode, busErrorDescriptions, codeOf, RemoteError } from './errors.js';

describe('bus errors', () => {
  it('documents every code, and codes are unique and prefixed', () => {
    const codes = Object.values(BusErrorCode);
    assert.equal(new Set(codes).size, codes.length);
    for (const code of codes) {
      assert.match(code, /^BUS_[A-Z_]+$/);
      assert.ok(busErrorDescriptions[code]?.length > 10, `${code} is described`);
    }
    assert.deepEqual(Object.keys(busErrorDescriptions).sort(), [...codes].sort());
  });

  it('sets name and code and forwards the cause', () => {
    const cause = new Error('socket closed');
    const error = new BusError(BusErrorCode.PublishFailed, 'publishing failed', { cause });
    assert.equal(error.name, 'BusError');
    assert.equal(error.code, 'BUS_PUBLISH_FAILED');
    assert.equal(error.cause, cause);
    const remote = new RemoteError('lxr.q', 'NODE_NOT_FOUND', 'no node');
    assert.equal(remote.name, 'RemoteError');
    assert.ok(remote instanceof BusError);
    assert.equal(remote.code, BusErrorCode.RemoteError);
  });

  it('codeOf reads a string code or falls back', () => {
    assert.equal(codeOf(Object.assign(new Error('x'), { code: 'X_Y' })), 'X_Y');
    assert.equal(codeOf(new Error('x')), BusErrorCode.HandlerFailed);
    assert.equal(codeOf(Object.assign(new Error('x'), { code: 42 })), BusErrorCode.HandlerFailed);
    assert.equal(codeOf(undefined, 'F'), 'F');
  });
});
