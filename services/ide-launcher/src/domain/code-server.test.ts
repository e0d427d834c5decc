import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codeServerArgs } from './code-server.js';

describe('codeServerArgs', () => {
  it('listens on the IDE socket only, without auth of its own, under the gateway path', () => {
    const args = codeServerArgs({ name: 'my dev', hasWorkspace: true });
    assert.equal(args[0], '/opt/lxr/bin/code-server');
    const flag = (name: string) => args[args.indexOf(name) + 1];
    assert.equal(flag('--socket'), '/.lxr-ide/code-server.sock');
    assert.equal(flag('--auth'), 'none');
    assert.equal(flag('--abs-proxy-base-path'), '/ide/my%20dev');
    assert.ok(!args.includes('--bind-addr'), 'no TCP port');
    assert.ok(args.includes('--disable-telemetry') && args.includes('--disable-update-check'));
  });

  it('keeps its state in the workspace volume and opens it, or its own dir and / without one', () => {
    const withWorkspace = codeServerArgs({ name: 'a', hasWorkspace: true });
    assert.equal(withWorkspace[withWorkspace.indexOf('--user-data-dir') + 1], '/workspace/.lxr-ide/data');
    assert.equal(withWorkspace.at(-1), '/workspace');
    const without = codeServerArgs({ name: 'a', hasWorkspace: false });
    assert.equal(without[without.indexOf('--extensions-dir') + 1], '/.lxr-ide/extensions');
    assert.equal(without.at(-1), '/');
  });
});
