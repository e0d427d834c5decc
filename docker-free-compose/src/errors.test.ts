import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ComposeError, ComposeErrorCode, errorCodes } from './errors.js';

test('every error code is documented', () => {
  for (const code of Object.values(ComposeErrorCode)) {
    assert.ok((errorCodes[code] ?? '').length > 40, `${code} needs a description`);
  }
  assert.deepEqual(Object.keys(errorCodes).sort(), Object.values(ComposeErrorCode).sort());
});

test('ComposeError keeps its code and cause', () => {
  const cause = new Error('root cause');
  const error = new ComposeError(ComposeErrorCode.Timeout, 'too slow', { cause });
  assert.equal(error.name, 'ComposeError');
  assert.equal(error.code, 'COMPOSE_TIMEOUT');
  assert.equal(error.cause, cause);
});
