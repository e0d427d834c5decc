import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandLine, containerEnv, DEFAULT_PATH, mergeEnv } from './command-line.js';

describe("docker's entrypoint and command rules", () => {
  const image = { entrypoint: ['/entry'], cmd: ['default'] };
  it('the command replaces only the Cmd', () => {
    assert.deepEqual(commandLine({ command: ['x', 'y'] }, image), ['/entry', 'x', 'y']);
    assert.deepEqual(commandLine({}, image), ['/entry', 'default']);
  });
  it('--entrypoint replaces the Entrypoint and drops the Cmd', () => {
    assert.deepEqual(commandLine({ entrypoint: ['/other'] }, image), ['/other']);
    assert.deepEqual(commandLine({ entrypoint: ['/other'], command: ['a'] }, image), ['/other', 'a']);
  });
  it('an empty --entrypoint clears it and keeps the Cmd', () => {
    assert.deepEqual(commandLine({ entrypoint: [] }, image), ['default']);
  });
  it('nothing to run is an empty argv', () => {
    assert.deepEqual(commandLine({}, {}), []);
  });
});

describe('environment', () => {
  it('-e wins over the image, which wins over the defaults; HOME from the user', () => {
    const env = containerEnv({ env: ['A=2'], tty: true }, { env: ['A=1', 'PATH=/img'] }, 'web', '/root');
    assert.deepEqual(env, ['PATH=/img', 'HOSTNAME=web', 'TERM=xterm', 'A=2', 'HOME=/root']);
    assert.ok(containerEnv({ env: [] }, {}, 'h', '/').includes(`PATH=${DEFAULT_PATH}`));
  });
  it('mergeEnv keeps first positions', () => {
    assert.deepEqual(mergeEnv(['A=1', 'B=1'], ['A=2']), ['A=2', 'B=1']);
  });
});
