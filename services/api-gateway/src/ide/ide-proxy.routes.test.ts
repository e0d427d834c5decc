import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, unlink } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ideStream } from '@lxr/events';
import { createTestApp, TEST_TOKEN, type TestApp } from '../testing/test-app.js';
import { ideStatus } from './ide.routes.js';

/** What the stand-in code-server saw of one request. */
interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

describe('/ide/{name}/ reverse proxy', () => {
  let dir: string;
  let server: http.Server;
  let t: TestApp;
  const seen: Seen[] = [];
  let ready: (name: string, socketPath?: string) => Promise<string>;

  before(async () => {
    // A stand-in code-server on a unix socket, as the container's would be.
    dir = await mkdtemp(path.join(tmpdir(), 'lxr-ide-proxy-'));
    server = http.createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      request.on('end', () => {
        seen.push({ method: request.method!, url: request.url!, headers: request.headers, body });
        response.setHeader('set-cookie', 'vscode-tkn=abc; Path=/');
        response.end(`served ${request.url}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(path.join(dir, 'code-server.sock'), resolve));
    t = await createTestApp();
    ready = async (name, socketPath = path.join(dir, 'code-server.sock')) => {
      const created = await t.create({ name, image: 'busybox', ide: true });
      const { id } = JSON.parse(created.body) as { id: string };
      await t.store.append(ideStream(id), 'any', [
        {
          type: 'IdeReady',
          correlationId: id,
          data: {
            containerId: id,
            node: 'node-1',
            url: `/ide/${name}/`,
            socketPath,
            pid: 1,
            attempt: 1,
            startMs: 1000,
            readyAt: new Date().toISOString(),
          },
        },
      ]);
      return id;
    };
  });

  after(async () => {
    await t.app.close();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('strips /ide/{name}, keeps the query, forwards Host and X-Forwarded-*, and never lxr credentials', async () => {
    await ready('web');
    const response = await t.app.inject({
      method: 'GET',
      url: '/ide/web/static/out/main.js?v=1&x=%2F',
      headers: {
        authorization: `Bearer ${TEST_TOKEN}`,
        host: 'lxr.example:7420',
        cookie: 'vscode-tkn=abc; lxr_session=v1.1.zzz',
      },
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.body, 'served /static/out/main.js?v=1&x=%2F');
    assert.deepEqual(
      [response.headers['set-cookie']].flat(),
      ['vscode-tkn=abc; Path=/'],
      "code-server's own cookie comes back",
    );
    const request = seen.at(-1)!;
    assert.equal(request.headers.host, 'lxr.example:7420');
    assert.equal(request.headers['x-forwarded-host'], 'lxr.example:7420');
    assert.equal(request.headers['x-forwarded-proto'], 'http');
    assert.equal(request.headers.authorization, undefined, 'the API token stays in the gateway');
    assert.equal(request.headers.cookie, 'vscode-tkn=abc', 'so does the session cookie');
  });

  it('streams a request body through', async () => {
    const response = await t.request({
      method: 'POST',
      url: '/ide/web/upload',
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.from('x'.repeat(3 * 1024 * 1024)),
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(seen.at(-1)!.body.length, 3 * 1024 * 1024, 'larger than the API body limit, untouched');
  });

  it('redirects /ide/{name} to /ide/{name}/', async () => {
    const response = await t.request({ method: 'GET', url: '/ide/web' });
    assert.equal(response.statusCode, 308);
    assert.equal(response.headers.location, '/ide/web/');
  });

  it('refuses requests without the token: 401 for programs, the login page for browsers', async () => {
    const count = seen.length;
    const program = await t.app.inject({ method: 'GET', url: '/ide/web/' });
    assert.equal(program.statusCode, 401);
    const browser = await t.app.inject({
      method: 'GET',
      url: '/ide/web/',
      headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
    });
    assert.equal(browser.statusCode, 302);
    assert.equal(browser.headers.location, '/login?next=%2Fide%2Fweb%2F');
    const wrong = await t.app.inject({
      method: 'GET',
      url: '/ide/web/',
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(wrong.statusCode, 401);
    assert.equal(seen.length, count, 'nothing reached code-server');
  });

  it('answers problems for unknown containers, containers without the IDE and IDEs not ready', async () => {
    const unknown = await t.request({ method: 'GET', url: '/ide/nobody/' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(JSON.parse(unknown.body).code, 'CONTAINER_NOT_FOUND');

    await t.create({ name: 'plain', image: 'busybox', ide: false });
    const disabled = await t.request({ method: 'GET', url: '/ide/plain/' });
    assert.equal(disabled.statusCode, 409);
    assert.equal(JSON.parse(disabled.body).code, 'IDE_DISABLED');

    await t.create({ name: 'starting', image: 'busybox', ide: true });
    const starting = await t.request({ method: 'GET', url: '/ide/starting/' });
    assert.equal(starting.statusCode, 503);
    assert.equal(JSON.parse(starting.body).code, 'IDE_NOT_READY');
    assert.equal(starting.headers['retry-after'], '2');
  });

  it('answers 502 when the socket is gone, and never follows a symlink put in its place', async () => {
    const gone = path.join(dir, 'gone');
    await ready('gone', path.join(gone, 'code-server.sock'));
    const missing = await t.request({ method: 'GET', url: '/ide/gone/' });
    assert.equal(missing.statusCode, 502);
    assert.equal(JSON.parse(missing.body).code, 'IDE_UNREACHABLE');

    // The container swaps its IDE directory for a link to a directory holding a live socket.
    await symlink(dir, gone);
    const count = seen.length;
    const linked = await t.request({ method: 'GET', url: '/ide/gone/' });
    assert.equal(linked.statusCode, 502, linked.body);
    assert.equal(seen.length, count, 'the socket behind the link was not reached');
    await unlink(gone);
  });

  it('GET /v1/containers/{ref}/ide says where the IDE is and whether it is ready', async () => {
    const response = await t.request({ method: 'GET', url: '/v1/containers/web/ide' });
    assert.equal(response.statusCode, 200, response.body);
    const status = JSON.parse(response.body);
    assert.equal(status.name, 'web');
    assert.equal(status.path, '/ide/web/');
    // The in-memory read model never sees the container start: it is not running.
    assert.equal(status.state, 'stopped');
  });
});

describe('ideStatus', () => {
  const container = { id: 'c'.repeat(64), name: 'web', ide: true, state: 'running' };
  const event = (type: string, data: object) =>
    ({ type, data, metadata: {} }) as unknown as Parameters<typeof ideStatus>[1][number];

  it('is starting until IdeReady, failed after an IdeFailed, ready after a later IdeReady', () => {
    assert.equal(ideStatus(container, []).state, 'starting');
    const failed = [
      event('IdeStarting', { attempt: 1 }),
      event('IdeFailed', { code: 'IDE_TIMEOUT', message: 'slow' }),
    ];
    const status = ideStatus(container, failed);
    assert.equal(status.state, 'failed');
    assert.deepEqual(status.error, { code: 'IDE_TIMEOUT', message: 'slow' });
    const ready = [
      ...failed,
      event('IdeStarting', { attempt: 2 }),
      event('IdeReady', { readyAt: '2026-01-01T00:00:00.000Z', startMs: 900 }),
    ];
    assert.deepEqual(
      { ...ideStatus(container, ready), containerId: undefined },
      {
        containerId: undefined,
        name: 'web',
        state: 'ready',
        path: '/ide/web/',
        attempts: 2,
        readyAt: '2026-01-01T00:00:00.000Z',
        startMs: 900,
        error: null,
      },
    );
  });

  it('is disabled without the IDE and stopped while the container does not run', () => {
    assert.equal(ideStatus({ ...container, ide: false }, []).state, 'disabled');
    assert.equal(ideStatus({ ...container, state: 'exited' }, [event('IdeReady', {})]).state, 'stopped');
  });
});
