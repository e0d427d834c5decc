import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ComposeError } from '../errors.js';
import { homeLayout } from '../home-layout.js';
import { composeStatus } from './compose-api.js';
import { checkSocketPath } from './control-client.js';

test('a socket path too long for a unix socket is refused with a clear message', async () => {
  checkSocketPath(homeLayout('/var/lib/lxr').socket);
  const home = `/tmp/${'x'.repeat(120)}`;
  await assert.rejects(composeStatus({ lxrHome: home }), (e: unknown) => {
    assert.ok(e instanceof ComposeError);
    assert.equal(e.code, 'COMPOSE_SETUP');
    assert.match(e.message, /more than unix sockets allow \(107\); choose a shorter LXR_HOME/);
    return true;
  });
});

test('composeStatus is null when nothing runs', async () => {
  assert.equal(await composeStatus({ lxrHome: '/nonexistent/lxr-home' }), null);
});
