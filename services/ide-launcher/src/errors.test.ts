import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { repoRoot } from '@lxr/testkit';
import { IdeErrorCode } from './errors.js';

test('docs/ERRORS.md documents every IdeFailed reason code', () => {
  const doc = readFileSync(`${repoRoot}/docs/ERRORS.md`, 'utf8');
  const missing = Object.values(IdeErrorCode).filter((code) => !doc.includes(`\`${code}\``));
  assert.deepEqual(missing, []);
});
