import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import {
  DuplicateEventIdError,
  EventStoreClosedError,
  EventStoreError,
  EventStoreErrorCode,
  InvalidAppendError,
  MigrationError,
  UnknownPositionError,
  UnknownProjectionError,
  WrongExpectedVersionError,
} from './errors.js';

const cause = new Error('root cause');
const samples: [EventStoreError, string, EventStoreErrorCode][] = [
  [
    new WrongExpectedVersionError('s', 3, 5, { cause }),
    'WrongExpectedVersionError',
    'EVENT_STORE_WRONG_EXPECTED_VERSION',
  ],
  [
    new DuplicateEventIdError('id', 's', { cause }),
    'DuplicateEventIdError',
    'EVENT_STORE_DUPLICATE_EVENT_ID',
  ],
  [new UnknownPositionError(7, { cause }), 'UnknownPositionError', 'EVENT_STORE_UNKNOWN_POSITION'],
  [new InvalidAppendError('bad', { cause }), 'InvalidAppendError', 'EVENT_STORE_INVALID_APPEND'],
  [new EventStoreClosedError('store', { cause }), 'EventStoreClosedError', 'EVENT_STORE_CLOSED'],
  [
    new UnknownProjectionError('p', ['a'], { cause }),
    'UnknownProjectionError',
    'EVENT_STORE_UNKNOWN_PROJECTION',
  ],
  [new MigrationError('lxr_events', 'm', { cause }), 'MigrationError', 'EVENT_STORE_MIGRATION_FAILED'],
];

test('errors: each class has its name, its stable code, and keeps the cause', () => {
  for (const [error, name, code] of samples) {
    assert.ok(error instanceof EventStoreError && error instanceof Error);
    assert.equal(error.name, name);
    assert.equal(error.code, code);
    assert.equal(error.cause, cause);
    assert.ok(error.message.length > 0);
  }
  assert.deepEqual(new Set(samples.map(([, , code]) => code)), new Set(Object.values(EventStoreErrorCode)));
});

test('errors: every code is documented in the README', async () => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  for (const code of Object.values(EventStoreErrorCode)) {
    assert.match(
      readme,
      new RegExp('\\|\\s*`' + code + '`\\s*\\|'),
      `${code} is in the README's error table`,
    );
  }
});

test('errors: a conflict message names the stream and both versions', () => {
  const error = new WrongExpectedVersionError('container-1', 'no-stream', 2);
  assert.match(error.message, /container-1/);
  assert.match(error.message, /"no-stream"/);
  assert.match(error.message, /at 2/);
});
