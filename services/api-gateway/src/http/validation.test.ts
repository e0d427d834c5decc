import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTestApp, TEST_TOKEN } from '../testing/test-app.js';

const PROBLEM = 'application/problem+json; charset=utf-8';

describe('request validation and auth', () => {
  const cases: {
    name: string;
    payload: string;
    status: number;
    code: string;
    pointer?: string;
    contentType?: string;
  }[] = [
    { name: 'malformed JSON', payload: '{"image": "golang",', status: 400, code: 'MALFORMED_JSON' },
    { name: 'an empty JSON body', payload: '', status: 400, code: 'MALFORMED_JSON' },
    {
      name: 'an unknown field',
      payload: '{"image":"x","imgae":"y"}',
      status: 400,
      code: 'INVALID_REQUEST',
      pointer: '/imgae',
    },
    {
      name: 'an unknown nested field',
      payload: '{"image":"x","resources":{"memory":1}}',
      status: 400,
      code: 'INVALID_REQUEST',
      pointer: '/resources/memory',
    },
    {
      name: 'a wrong type',
      payload: '{"image":42}',
      status: 400,
      code: 'INVALID_REQUEST',
      pointer: '/image',
    },
    {
      name: 'a string for a boolean',
      payload: '{"image":"x","ide":"true"}',
      status: 400,
      code: 'INVALID_REQUEST',
      pointer: '/ide',
    },
    { name: 'a missing field', payload: '{}', status: 400, code: 'INVALID_REQUEST', pointer: '/image' },
    {
      name: 'a bad name',
      payload: '{"image":"x","name":"-no"}',
      status: 400,
      code: 'INVALID_REQUEST',
      pointer: '/name',
    },
    {
      name: 'a bad env entry',
      payload: '{"image":"x","env":["NOEQUALS"]}',
      status: 400,
      code: 'INVALID_REQUEST',
      pointer: '/env/0',
    },
    {
      name: 'too little memory',
      payload: '{"image":"x","resources":{"memoryBytes":1}}',
      status: 400,
      code: 'INVALID_REQUEST',
      pointer: '/resources/memoryBytes',
    },
    { name: 'an array body', payload: '[]', status: 400, code: 'INVALID_REQUEST', pointer: '' },
    {
      name: 'a non-JSON content type',
      payload: 'image=x',
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      contentType: 'text/plain',
    },
    {
      name: 'an oversized body',
      payload: JSON.stringify({ image: 'x', env: [`A=${'x'.repeat(1100 * 1024)}`] }),
      status: 413,
      code: 'BODY_TOO_LARGE',
    },
  ];
  for (const c of cases) {
    it(`answers ${c.status} problem+json for ${c.name}, appending nothing`, async () => {
      const t = await createTestApp();
      const res = await t.request({
        method: 'POST',
        url: '/v1/containers',
        headers: { 'content-type': c.contentType ?? 'application/json' },
        payload: c.payload,
      });
      assert.equal(res.statusCode, c.status, res.body);
      assert.equal(res.headers['content-type'], PROBLEM);
      const problem = res.json();
      assert.equal(problem.code, c.code);
      assert.equal(problem.status, c.status);
      assert.equal(problem.instance, '/v1/containers');
      assert.match(problem.type, /^urn:lxr:problem:/);
      assert.ok(problem.title && problem.detail && problem.requestId);
      if (c.pointer !== undefined) {
        assert.equal(problem.errors?.[0]?.pointer, c.pointer, JSON.stringify(problem));
        assert.equal(problem.errors[0].in, 'body');
      }
      assert.equal((await t.log()).length, 0);
    });
  }

  it('names the field in the detail', async () => {
    const t = await createTestApp();
    const res = await t.request({
      method: 'POST',
      url: '/v1/containers',
      headers: { 'content-type': 'application/json' },
      payload: '{"image":"x","resources":{"cpus":"2"}}',
    });
    assert.equal(res.json().errors[0].field, 'resources.cpus');
    assert.match(res.json().detail, /resources\.cpus/);
  });

  it('checks query strings, converting their types', async () => {
    const t = await createTestApp();
    assert.equal((await t.request({ method: 'GET', url: '/v1/containers?all=true' })).statusCode, 200);
    const bad = await t.request({ method: 'GET', url: '/v1/containers?all=maybe' });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.json().errors[0], {
      pointer: '/all',
      field: 'all',
      in: 'querystring',
      message: bad.json().errors[0].message,
    });
    assert.equal((await t.request({ method: 'GET', url: '/v1/containers?bogus=1' })).statusCode, 400);
  });

  for (const [name, headers, error] of [
    ['a missing token', {}, 'Bearer realm="lxr"'],
    [
      'a wrong token',
      { authorization: `Bearer ${'0'.repeat(64)}` },
      'Bearer realm="lxr", error="invalid_token"',
    ],
    ['a malformed authorization header', { authorization: 'Basic abc' }, 'Bearer realm="lxr"'],
  ] as const) {
    it(`answers 401 with WWW-Authenticate for ${name}, before reading the body`, async () => {
      const t = await createTestApp();
      for (const req of [
        { method: 'POST' as const, url: '/v1/containers', payload: '{"image": broken' },
        { method: 'GET' as const, url: '/v1/containers' },
        { method: 'GET' as const, url: '/v1/events' },
        { method: 'GET' as const, url: '/v1/nodes' },
        { method: 'GET' as const, url: '/openapi.json' },
        { method: 'GET' as const, url: '/docs' },
      ]) {
        const res = await t.app.inject({
          ...req,
          headers: { 'content-type': 'application/json', ...headers },
        });
        assert.equal(res.statusCode, 401, `${req.method} ${req.url}: ${res.body}`);
        assert.equal(res.headers['www-authenticate'], error);
        assert.equal(res.headers['content-type'], PROBLEM);
        assert.equal(res.json().code, 'UNAUTHORIZED');
      }
      assert.equal((await t.log()).length, 0);
    });
  }

  it('accepts the token as ?access_token= on GET (for EventSource), not on POST', async () => {
    const t = await createTestApp();
    assert.equal(
      (await t.app.inject({ method: 'GET', url: `/v1/containers?all=true&access_token=${TEST_TOKEN}` }))
        .statusCode,
      200,
    );
    const post = await t.app.inject({
      method: 'POST',
      url: `/v1/containers?access_token=${TEST_TOKEN}`,
      headers: { 'content-type': 'application/json' },
      payload: '{"image":"x"}',
    });
    assert.equal(post.statusCode, 401);
  });

  it('serves the docs with a token and the health endpoints without one', async () => {
    const t = await createTestApp();
    const docs = await t.app.inject({ method: 'GET', url: `/docs/json?access_token=${TEST_TOKEN}` });
    assert.equal(docs.statusCode, 200);
    const cookie = String(docs.headers['set-cookie']).split(';')[0]!;
    assert.equal(
      (await t.app.inject({ method: 'GET', url: '/docs/json', headers: { cookie } })).statusCode,
      200,
    );
    assert.equal((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    assert.equal((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    assert.equal((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200);
  });

  it('answers unknown routes with a 404 problem', async () => {
    const t = await createTestApp();
    const res = await t.request({ method: 'GET', url: '/v1/nothing' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'ROUTE_NOT_FOUND');
  });
});
