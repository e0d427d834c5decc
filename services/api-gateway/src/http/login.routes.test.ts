import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { createTestApp, TEST_TOKEN } from '../testing/test-app.js';
import { createGatewayAuth, SESSION_COOKIE, safeNext } from './auth.js';
import { installProblemHandlers } from './problem.js';

const HOST = 'gateway.test:7000';
const FORM = { 'content-type': 'application/x-www-form-urlencoded', host: HOST };

/** Logs in through the form and returns the `name=value` of the session cookie. */
async function logIn(t: Awaited<ReturnType<typeof createTestApp>>): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/login',
    headers: { ...FORM, origin: `http://${HOST}` },
    payload: `token=${TEST_TOKEN}&next=%2Fconsole%2F`,
  });
  assert.equal(res.statusCode, 303, res.body);
  return String(res.headers['set-cookie']).split(';')[0]!;
}

describe('login', () => {
  it('serves the form with a CSP and the next path escaped', async () => {
    const t = await createTestApp();
    const res = await t.app.inject({ method: 'GET', url: '/login?next=%2Fide%2Fa%22%3E%3Cscript%3E%2F' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(String(res.headers['content-security-policy']), /script-src 'self'/);
    assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.match(res.body, /name="token" type="password"/);
    assert.ok(!res.body.includes('<script>'), 'the next path must be escaped');
    assert.match(res.body, /value="\/ide\/a%22%3E%3Cscript%3E\/"/);
  });

  it('sets an HttpOnly, SameSite=Strict session cookie that is not the token, then goes to next', async () => {
    const t = await createTestApp();
    const res = await t.app.inject({
      method: 'POST',
      url: '/login',
      headers: FORM,
      payload: `token=${TEST_TOKEN}&next=${encodeURIComponent('/ide/dev/?folder=/workspace')}`,
    });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/ide/dev/?folder=/workspace');
    const cookie = String(res.headers['set-cookie']);
    assert.match(
      cookie,
      new RegExp(
        `^${SESSION_COOKIE}=v1\\.\\d+\\.[\\w-]{43}; Path=/; Max-Age=604800; HttpOnly; SameSite=Strict$`,
      ),
    );
    assert.ok(!cookie.includes(TEST_TOKEN));
  });

  it('accepts JSON too', async () => {
    const t = await createTestApp();
    const res = await t.app.inject({ method: 'POST', url: '/login', payload: { token: TEST_TOKEN } });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/console/');
    assert.match(String(res.headers['set-cookie']), /^lxr_session=v1\./);
  });

  it('refuses a wrong token: the form again with 401 for a browser, problem+json for JSON', async () => {
    const t = await createTestApp();
    const form = await t.app.inject({
      method: 'POST',
      url: '/login',
      headers: FORM,
      payload: `token=${'e'.repeat(64)}&next=%2Fconsole%2F`,
    });
    assert.equal(form.statusCode, 401);
    assert.equal(form.headers['set-cookie'], undefined);
    assert.match(form.body, /role="alert">That is not the API token/);
    const json = await t.app.inject({ method: 'POST', url: '/login', payload: { token: 'short' } });
    assert.equal(json.statusCode, 401);
    assert.equal(json.headers['set-cookie'], undefined);
    assert.equal(json.json().code, 'UNAUTHORIZED');
    const empty = await t.app.inject({ method: 'POST', url: '/login', headers: FORM, payload: 'token=' });
    assert.equal(empty.statusCode, 400);
  });

  it('never redirects off the gateway', async () => {
    const t = await createTestApp();
    for (const next of [
      '//evil.example/',
      '/\\evil.example/',
      '/\t/evil.example/',
      'https://evil.example/',
      'javascript:alert(1)',
      'evil.example',
      '',
      '/login?next=//evil.example',
    ]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/login',
        headers: FORM,
        payload: new URLSearchParams({ token: TEST_TOKEN, next }).toString(),
      });
      assert.equal(res.statusCode, 303, next);
      assert.equal(res.headers.location, '/console/', next);
    }
    assert.equal(safeNext('/console/#c/dev'), '/console/#c/dev');
    assert.equal(safeNext('/%2F%2Fevil.example'), '/%2F%2Fevil.example');
  });

  it('refuses a login or logout posted from another site', async () => {
    const t = await createTestApp();
    for (const headers of [
      { origin: 'http://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site', origin: `http://${HOST}` },
    ]) {
      const login = await t.app.inject({
        method: 'POST',
        url: '/login',
        headers: { ...FORM, ...headers },
        payload: `token=${TEST_TOKEN}`,
      });
      assert.equal(login.statusCode, 403, JSON.stringify(headers));
      assert.equal(login.json().code, 'CROSS_SITE_REQUEST');
      assert.equal(login.headers['set-cookie'], undefined);
      const logout = await t.app.inject({
        method: 'POST',
        url: '/logout',
        headers: { host: HOST, ...headers },
      });
      assert.equal(logout.statusCode, 403);
    }
  });

  it('sends a browser with a session straight on from /login, and logs it out', async () => {
    const t = await createTestApp();
    const cookie = await logIn(t);
    const again = await t.app.inject({
      method: 'GET',
      url: '/login?next=%2Fide%2Fx%2F',
      headers: { cookie },
    });
    assert.equal(again.statusCode, 303);
    assert.equal(again.headers.location, '/ide/x/');
    const out = await t.app.inject({
      method: 'POST',
      url: '/logout',
      headers: { cookie, host: HOST, origin: `http://${HOST}` },
    });
    assert.equal(out.statusCode, 303);
    assert.equal(out.headers.location, '/login');
    assert.match(
      String(out.headers['set-cookie']),
      /^lxr_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict$/,
    );
  });

  it('redirects / to the console', async () => {
    const t = await createTestApp();
    const res = await t.app.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 302);
    assert.equal(res.headers.location, '/console/');
  });
});

describe('the session cookie on the API', () => {
  it('authenticates reads', async () => {
    const t = await createTestApp();
    const cookie = await logIn(t);
    const res = await t.app.inject({ method: 'GET', url: '/v1/containers', headers: { cookie } });
    assert.equal(res.statusCode, 200);
  });

  it('authenticates writes and WebSockets only from the same origin', async () => {
    const t = await createTestApp();
    const cookie = await logIn(t);
    const create = (headers: Record<string, string>) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/containers',
        headers: { cookie, host: HOST, ...headers },
        payload: { image: 'busybox' },
      });
    for (const headers of [
      {} as Record<string, string>,
      { origin: 'http://evil.example' },
      { origin: `http://${HOST}.evil.example` },
      { origin: 'http://gateway.test:7001' },
      { origin: 'null' },
      { 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'cross-site', origin: `http://${HOST}` },
    ]) {
      const res = await create(headers);
      assert.equal(res.statusCode, 403, JSON.stringify(headers));
      assert.equal(res.json().code, 'CROSS_SITE_REQUEST');
    }
    assert.equal((await t.log()).length, 0, 'nothing was recorded');
    const upgrade = await t.app.inject({
      method: 'GET',
      url: '/v1/containers/x/exec?cmd=sh',
      headers: {
        cookie,
        host: HOST,
        origin: 'http://evil.example',
        upgrade: 'websocket',
        connection: 'upgrade',
      },
    });
    assert.equal(upgrade.statusCode, 403);
    assert.equal((await create({ origin: `http://${HOST}` })).statusCode, 201);
    assert.equal((await create({ 'sec-fetch-site': 'same-origin' })).statusCode, 201);
  });

  it('is refused once expired, after the token is rotated, or when forged', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const app = Fastify();
    installProblemHandlers(app);
    const auth = createGatewayAuth(TEST_TOKEN, { sessionSeconds: 60, now: () => clock });
    app.post('/in', async (request, reply) => {
      auth.signIn(request, reply);
      return '';
    });
    app.get('/v1/x', { onRequest: auth.api }, async () => 'ok');
    const cookie = String((await app.inject({ method: 'POST', url: '/in' })).headers['set-cookie']).split(
      ';',
    )[0]!;
    const get = (c: string) => app.inject({ method: 'GET', url: '/v1/x', headers: { cookie: c } });
    assert.equal((await get(cookie)).statusCode, 200);
    const [, expiry, mac] = cookie.split('.');
    assert.equal((await get(`${SESSION_COOKIE}=v1.${Number(expiry) + 3600}.${mac}`)).statusCode, 401);
    assert.equal((await get(`${SESSION_COOKIE}=${TEST_TOKEN}`)).statusCode, 401);
    clock += 61_000;
    const expired = await get(cookie);
    assert.equal(expired.statusCode, 401);
    assert.match(expired.json().detail, /log in again/);

    const live = await logIn(await createTestApp());
    const rotated = await createTestApp({ token: 'a'.repeat(64) });
    const res = await rotated.app.inject({ method: 'GET', url: '/v1/containers', headers: { cookie: live } });
    assert.equal(res.statusCode, 401);
  });
});
