import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, errorCodes } from '../errors.js';
import { createTestApp } from '../testing/test-app.js';

describe('OpenAPI', () => {
  it('describes every route, from the route schemas', async () => {
    const t = await createTestApp();
    const res = await t.request({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    const spec = res.json();
    assert.equal(spec.openapi, '3.1.0');
    assert.equal(spec.info.title, 'lxr API');
    assert.deepEqual(Object.keys(spec.paths).sort(), [
      '/healthz',
      '/readyz',
      '/v1/containers',
      '/v1/containers/{ref}',
      '/v1/containers/{ref}/ide',
      '/v1/containers/{ref}/kill',
      '/v1/containers/{ref}/logs',
      '/v1/containers/{ref}/restart',
      '/v1/containers/{ref}/start',
      '/v1/containers/{ref}/stats',
      '/v1/containers/{ref}/stop',
      '/v1/containers/{ref}/timeline',
      '/v1/events',
      '/v1/images',
      '/v1/images/prune',
      '/v1/images/pull',
      '/v1/images/{ref}',
      '/v1/networks',
      '/v1/nodes',
      '/v1/system/df',
      '/v1/system/prune',
      '/v1/volumes',
      '/v1/volumes/prune',
      '/v1/volumes/{name}',
    ]);
    const create = spec.paths['/v1/containers'].post;
    assert.equal(create.operationId, 'createContainer');
    const body = create.requestBody.content['application/json'].schema;
    assert.deepEqual(body.required, ['image']);
    assert.equal(body.additionalProperties, false);
    assert.ok(body.properties.resources.properties.memoryBytes);
    assert.ok(
      create.parameters.some(
        (p: { name: string; in: string }) => p.name === 'idempotency-key' && p.in === 'header',
      ),
    );
    assert.ok(create.responses['409'].content['application/problem+json'].schema.properties.errors);
    assert.ok(spec.paths['/v1/events'].get.responses['200'].content['text/event-stream']);
    assert.deepEqual(spec.paths['/healthz'].get.security, []);
    assert.equal(spec.components.securitySchemes.bearer.scheme, 'bearer');
  });

  it('serves browsable docs at /docs', async () => {
    const t = await createTestApp();
    const res = await t.request({ method: 'GET', url: '/docs/' });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /swagger/i);
  });
});

describe('error codes', () => {
  it('are each documented with a status, title and description', () => {
    for (const code of Object.values(ErrorCode)) {
      const info = errorCodes[code];
      assert.ok(info.status >= 400 && info.status < 600, code);
      assert.ok(info.title.length > 0 && info.description.length > 20, code);
    }
  });
});
