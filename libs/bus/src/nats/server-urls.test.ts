import assert from 'node:assert/strict';
import { test } from 'node:test';
import { natsServerOptions, redactServerUrl } from './server-urls.js';

test('a token in the server URL is passed apart, not in the URL', () => {
  assert.deepEqual(natsServerOptions('nats://s3cret@127.0.0.1:7422'), {
    servers: ['nats://127.0.0.1:7422'],
    token: 's3cret',
  });
});

test('user and password in server URLs are passed apart', () => {
  assert.deepEqual(natsServerOptions(['nats://lxr:pw@a:4222', 'nats://lxr:pw@b:4222']), {
    servers: ['nats://a:4222', 'nats://b:4222'],
    user: 'lxr',
    pass: 'pw',
  });
});

test('URLs without credentials pass through', () => {
  assert.deepEqual(natsServerOptions('nats://127.0.0.1:4222'), { servers: ['nats://127.0.0.1:4222'] });
});

test('credentials are redacted from logged URLs', () => {
  assert.equal(redactServerUrl('nats://s3cret@127.0.0.1:7422'), 'nats://***@127.0.0.1:7422');
  assert.equal(redactServerUrl('nats://127.0.0.1:7422'), 'nats://127.0.0.1:7422');
});
