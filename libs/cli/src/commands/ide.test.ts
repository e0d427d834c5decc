import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createClient, type IdeStatus } from '@lxr/client';
import Fastify, { type FastifyInstance } from 'fastify';
import { runCli } from '../cli.js';
import type { CliContext } from '../context.js';

const status = (name: string, state: IdeStatus['state'], extra: Partial<IdeStatus> = {}): IdeStatus => ({
  containerId: 'c'.repeat(64),
  name,
  state,
  path: `/ide/${name}/`,
  attempts: 1,
  readyAt: null,
  startMs: null,
  error: null,
  ...extra,
});

describe('lxr ide', () => {
  let server: FastifyInstance;
  let url: string;
  /** The states `slow` goes through, one per request. */
  const slow: IdeStatus['state'][] = ['starting', 'starting', 'ready'];

  before(async () => {
    server = Fastify();
    server.get('/v1/containers/:ref/ide', async (request) => {
      const { ref } = request.params as { ref: string };
      if (ref === 'slow') return status(ref, slow.shift() ?? 'ready');
      if (ref === 'broken')
        return status(ref, 'failed', { error: { code: 'IDE_TIMEOUT', message: 'no answer' } });
      return status(ref, ref as IdeStatus['state']);
    });
    await server.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}/`;
  });
  after(() => server.close());

  async function lxr(...argv: string[]) {
    let stdout = '';
    let stderr = '';
    const ctx = {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      env: {},
      signal: new AbortController().signal,
      version: '9.9.9',
      now: () => new Date(),
      client: async () => createClient({ url, token: 't' }),
    } as unknown as CliContext;
    const code = await runCli(['ide', ...argv], ctx);
    return { code, stdout, stderr };
  }

  it('prints the URL on the gateway and how to log in', async () => {
    const run = await lxr('ready');
    assert.equal(run.code, 0);
    assert.equal(run.stdout, `${url.replace(/\/$/, '')}/ide/ready/\n`);
    assert.match(run.stderr, /login\?next=%2Fide%2Fready%2F .*api-token/);
  });

  it('exits 1 and says why when the IDE is not there', async () => {
    const disabled = await lxr('disabled');
    assert.equal(disabled.code, 1);
    assert.match(disabled.stderr, /no IDE/);
    const stopped = await lxr('stopped');
    assert.equal(stopped.code, 1);
    assert.match(stopped.stderr, /lxr start stopped/);
    const broken = await lxr('broken');
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /\(IDE_TIMEOUT\): no answer/);
  });

  it('--wait polls until it is ready; --format json has the state and both URLs', async () => {
    const run = await lxr('--wait', '--format', 'json', 'slow');
    assert.equal(run.code, 0, run.stderr);
    const json = JSON.parse(run.stdout);
    assert.equal(json.state, 'ready');
    assert.equal(json.url, `${url.replace(/\/$/, '')}/ide/slow/`);
    assert.equal(json.loginUrl, `${url.replace(/\/$/, '')}/login?next=%2Fide%2Fslow%2F`);
    assert.deepEqual(slow, [], 'it asked until ready');
  });

  it('refuses a bad --timeout', async () => {
    const run = await lxr('--wait', '--timeout', 'soon', 'ready');
    assert.equal(run.code, 125);
  });
});
