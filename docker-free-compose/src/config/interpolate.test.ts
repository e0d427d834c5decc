// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are compose-file text, not templates
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InterpolationError, interpolate } from './interpolate.js';

describe('interpolate', () => {
  const vars = { HOME: '/var/lib/lxr', EMPTY: '', PORT: '7422' };

  test('expands ${VAR}', () => {
    assert.equal(interpolate('${HOME}/nats', vars), '/var/lib/lxr/nats');
    assert.equal(interpolate('127.0.0.1:${PORT}', vars), '127.0.0.1:7422');
  });

  test('${VAR:-default} uses the default when unset or empty; ${VAR-default} only when unset', () => {
    assert.equal(interpolate('${NOPE:-7420}', vars), '7420');
    assert.equal(interpolate('${EMPTY:-x}', vars), 'x');
    assert.equal(interpolate('${EMPTY-x}', vars), '');
    assert.equal(interpolate('${PORT:-1}', vars), '7422');
    assert.equal(interpolate('${NOPE:-}', vars), '');
  });

  test('defaults may nest variables and are only expanded when used', () => {
    assert.equal(interpolate('${NOPE:-${HOME}/x}', vars), '/var/lib/lxr/x');
    assert.equal(interpolate('${PORT:-${UNSET_TOO}}', vars), '7422');
  });

  test('an unset ${VAR} is an error naming it', () => {
    assert.throws(
      () => interpolate('a${MISSING}b', vars),
      (e: unknown) => {
        assert.ok(e instanceof InterpolationError);
        assert.equal(e.message, 'variable MISSING is not set');
        return true;
      },
    );
  });

  test('${VAR:?message} fails with the message', () => {
    assert.throws(() => interpolate('${NOPE:?install PostgreSQL}', vars), /install PostgreSQL/);
    assert.throws(() => interpolate('${EMPTY:?empty}', vars), /empty/);
    assert.equal(interpolate('${EMPTY?unset only}', vars), '');
  });

  test('$$ is a literal $ and a bare $ passes through', () => {
    assert.equal(interpolate('cost: $$5', vars), 'cost: $5');
    assert.equal(interpolate('echo $HOME $1 $', vars), 'echo $HOME $1 $');
    assert.equal(interpolate('DO $lxr$ BEGIN END $lxr$', vars), 'DO $lxr$ BEGIN END $lxr$');
  });

  test('malformed references are errors', () => {
    assert.throws(() => interpolate('${}', vars), /invalid variable reference/);
    assert.throws(() => interpolate('${1X}', vars), /invalid variable reference/);
    assert.throws(() => interpolate('${HOME', vars), /invalid variable reference/);
    assert.throws(() => interpolate('${NOPE:-abc', vars), /unterminated/);
    assert.throws(() => interpolate('${HOME:x}', vars), /invalid variable reference/);
  });
});
