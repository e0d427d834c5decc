import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { isLoopbackUrl, launchBrowser, requiresChromium } from './browser.js';

test('isLoopbackUrl', () => {
  for (const url of [
    'http://127.0.0.1:8080/x',
    'ws://localhost/',
    'http://[::1]:3/',
    'data:text/plain,x',
    'about:blank',
  ]) {
    assert.ok(isLoopbackUrl(url), url);
  }
  for (const url of [
    'https://example.invalid/',
    'http://10.0.0.1/',
    'http://127.0.0.1.nip.invalid/',
    'wss://x/',
  ]) {
    assert.ok(!isLoopbackUrl(url), url);
  }
});

test('launchBrowser reaches loopback and nothing else', { skip: requiresChromium() }, async () => {
  // The page asks for a loopback URL and one elsewhere; `.invalid` names exist nowhere (RFC 2606),
  // so even a broken flag set sends nothing off the machine: the error says which path was taken.
  const server = createServer((request, response) => {
    if (request.url === '/') {
      response.setHeader('content-type', 'text/html');
      response.end('<!doctype html><title>loopback</title><p id="p">here</p>');
    } else {
      response.end('pong');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const session = await launchBrowser({ timeoutMs: 15_000 });
  try {
    const { page } = session;
    await page.goto(`http://127.0.0.1:${port}/`);
    assert.equal(await page.textContent('#p'), 'here');
    await page.goto(`http://localhost:${port}/`);
    assert.equal(await page.title(), 'loopback');
    const failure = page.waitForEvent('requestfailed');
    await page.evaluate(() => fetch('http://lxr-browser-test.invalid/').catch(() => undefined));
    // Sent to the dead proxy, not resolved and fetched directly.
    assert.equal((await failure).failure()?.errorText, 'net::ERR_PROXY_CONNECTION_FAILED');
    assert.deepEqual(session.offLoopback(), ['http://lxr-browser-test.invalid/']);
  } finally {
    await session.close();
    server.close();
  }
});
