import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChallenge } from './auth.js';
import { isLoopbackRegistry, RegistryClient, retryAfterMs } from './registry-client.js';

test('WWW-Authenticate challenges parse with commas inside quotes', () => {
  assert.deepEqual(
    parseChallenge(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push"',
    ),
    {
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:a/b:pull,push',
      },
    },
  );
  assert.deepEqual(parseChallenge('Basic realm="Registry Realm"'), {
    scheme: 'basic',
    params: { realm: 'Registry Realm' },
  });
  assert.equal(parseChallenge('Negotiate abc'), undefined);
  assert.equal(parseChallenge(undefined), undefined);
});

test('Retry-After in seconds or as a date', () => {
  assert.equal(retryAfterMs('3'), 3000);
  assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4_000), 6000);
  assert.equal(retryAfterMs('soon'), undefined);
  assert.equal(retryAfterMs(undefined), undefined);
});

test('loopback registries are spoken to over plain HTTP, as docker does', () => {
  for (const host of ['localhost', 'localhost:5000', '127.0.0.1:5000', '127.8.9.1', '[::1]:5000'])
    assert.ok(isLoopbackRegistry(host), host);
  for (const host of ['docker.io', '10.0.0.1:5000', 'localhost.example.com', '128.0.0.1'])
    assert.ok(!isLoopbackRegistry(host), host);
});

test('Docker Hub is registry-1.docker.io over HTTPS; mirrors come first; loopback and insecure ones are plain HTTP', () => {
  const client = new RegistryClient({
    mirrors: { 'docker.io': ['mirror.example:5000', 'http://127.0.0.1:5001'] },
    insecureRegistries: ['intranet:5000'],
  });
  assert.deepEqual(
    client.endpoints('docker.io').map((e) => [e.base.href, e.mirror]),
    [
      ['https://mirror.example:5000/', true],
      ['http://127.0.0.1:5001/', true],
      ['https://registry-1.docker.io/', false],
    ],
  );
  assert.equal(client.endpoints('localhost:5000')[0]!.base.href, 'http://localhost:5000/');
  assert.equal(client.endpoints('intranet:5000')[0]!.base.href, 'http://intranet:5000/');
  assert.equal(client.endpoints('quay.io')[0]!.base.href, 'https://quay.io/');
});
