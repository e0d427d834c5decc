import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTestApp, TEST_TOKEN } from '../testing/test-app.js';

const HTML = { accept: 'text/html,application/xhtml+xml' };

describe('console', () => {
  it('sends a browser without a session to the login form, and a program gets 401', async () => {
    const t = await createTestApp();
    const browser = await t.app.inject({ method: 'GET', url: '/console/', headers: HTML });
    assert.equal(browser.statusCode, 302);
    assert.equal(browser.headers.location, '/login?next=%2Fconsole%2F');
    const navigate = await t.app.inject({
      method: 'GET',
      url: '/console/',
      headers: { 'sec-fetch-mode': 'navigate', accept: '*/*' },
    });
    assert.equal(navigate.statusCode, 302);
    const program = await t.app.inject({ method: 'GET', url: '/console/' });
    assert.equal(program.statusCode, 401);
    assert.equal(program.json().code, 'UNAUTHORIZED');
    const fetched = await t.app.inject({
      method: 'GET',
      url: '/console/',
      headers: { 'sec-fetch-mode': 'cors' },
    });
    assert.equal(fetched.statusCode, 401);
  });

  it('serves the page with a CSP and no inline script', async () => {
    const t = await createTestApp();
    const res = await t.request({ method: 'GET', url: '/console/', headers: HTML });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-eval/);
    assert.match(csp, /connect-src 'self'/);
    // Every <script> loads a file: CSP would refuse an inline one, and none is needed.
    const scripts = [...res.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length > 0);
    for (const [, attributes, body] of scripts) {
      assert.match(attributes!, /src="\/console\/assets\/[\w.-]+\.js"/);
      assert.equal(body!.trim(), '');
    }
    assert.doesNotMatch(res.body, /\son[a-z]+=/i, 'no inline event handlers');
  });

  it('trades ?access_token= for the cookie and drops it from the URL', async () => {
    const t = await createTestApp();
    const res = await t.app.inject({
      method: 'GET',
      url: `/console/?access_token=${TEST_TOKEN}&x=1`,
      headers: HTML,
    });
    assert.equal(res.statusCode, 302);
    assert.equal(res.headers.location, '/console/?x=1');
    const cookie = String(res.headers['set-cookie']).split(';')[0]!;
    assert.match(cookie, /^lxr_session=v1\./);
    const page = await t.app.inject({ method: 'GET', url: '/console/', headers: { ...HTML, cookie } });
    assert.equal(page.statusCode, 200);
  });

  it('serves its scripts, styles and xterm.js without a session, with ETags', async () => {
    const t = await createTestApp();
    const page = (await t.request({ method: 'GET', url: '/console/' })).body;
    const referenced = [...page.matchAll(/(?:src|href)="(\/console\/(?:assets|vendor)\/[^"]+)"/g)].map(
      (m) => m[1]!,
    );
    const imported = [
      '/console/vendor/xterm.mjs',
      '/console/vendor/addon-fit.mjs',
      '/console/assets/terminal.js',
    ];
    for (const url of [...referenced, ...imported]) {
      const res = await t.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      assert.match(String(res.headers['content-type']), /^(text\/javascript|text\/css)/, url);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.doesNotMatch(res.body, /sourceMappingURL/, url);
      const again = await t.app.inject({
        method: 'GET',
        url,
        headers: { 'if-none-match': String(res.headers.etag) },
      });
      assert.equal(again.statusCode, 304, url);
    }
    assert.match(
      (await t.app.inject({ method: 'GET', url: '/console/vendor/xterm.mjs' })).body,
      /export\s*\{/,
    );
  });

  it('serves nothing outside its files', async () => {
    const t = await createTestApp();
    for (const url of [
      '/console/assets/..%2F..%2Fpackage.json',
      '/console/assets/index.html',
      '/console/vendor/xterm.js',
      '/console/assets/nope.js',
      '/console/other',
    ]) {
      const res = await t.request({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
    }
  });

  it('imports only modules it serves', async () => {
    const t = await createTestApp();
    const seen = new Set<string>();
    const queue = ['/console/assets/app.js'];
    while (queue.length > 0) {
      const url = queue.pop()!;
      if (seen.has(url)) continue;
      seen.add(url);
      const res = await t.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, `${url} (imported)`);
      for (const [, specifier] of res.body.matchAll(/^import [^'"]*['"]([^'"]+)['"];?$/gm)) {
        queue.push(new URL(specifier!, `http://x${url}`).pathname);
      }
    }
    assert.ok(seen.has('/console/assets/terminal.js') && seen.has('/console/vendor/xterm.mjs'));
  });
});
