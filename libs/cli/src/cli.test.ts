import assert from 'node:assert/strict';
import { type AddressInfo, createServer } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type Container, createClient } from '@lxr/client';
import type { ComposeStatus } from '@lxr/docker-free-compose';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { runCli } from './cli.js';
import type { CliContext } from './context.js';

// The CLI against a fastify server answering like the API gateway, and a fake compose.

const NOW = new Date('2026-11-29T12:00:00.000Z');
const ID = `3f2a${'0'.repeat(60)}`;
const container: Container = {
  id: ID,
  name: 'goCon',
  image: 'golang',
  node: 'node-1',
  state: 'requested',
  command: null,
  env: [],
  labels: {},
  ide: true,
  resources: {},
  createdAt: '2026-11-29T11:57:00.000Z',
  updatedAt: '2026-11-29T11:57:00.000Z',
  pid: 4242,
  exitCode: null,
  ports: [],
  ip: '10.88.0.2',
  netns: null,
  position: 2,
};
const event = (position: number, type: string, data: object) => ({
  type,
  schemaVersion: 1,
  data,
  metadata: {
    eventId: `e${position}`,
    stream: `container-${ID}`,
    streamVersion: position,
    position,
    correlationId: ID,
    causationId: null,
    timestamp: `2026-11-29T11:57:0${position}.000Z`,
  },
});
/** Answers a problem+json, as the gateway does. */
const sendProblem = (reply: FastifyReply, status: number, code: string, detail: string) =>
  reply
    .status(status)
    .type('application/problem+json')
    .send({ type: `urn:lxr:problem:${code.toLowerCase()}`, title: code, status, detail, code });
const notFound = (reply: FastifyReply, ref: string) =>
  sendProblem(reply, 404, 'CONTAINER_NOT_FOUND', `no such container: ${ref}`);

let server: FastifyInstance;
let url: string;
const requests: { method: string; url: string; body?: unknown; headers: Record<string, unknown> }[] = [];

before(async () => {
  server = Fastify();
  server.addHook('onRequest', async (req) => {
    requests.push({ method: req.method, url: req.url, headers: req.headers });
  });
  server.post('/v1/containers', async (req, reply) => {
    requests.at(-1)!.body = req.body;
    const body = req.body as { name?: string };
    if (body.name === 'taken') {
      return sendProblem(
        reply,
        409,
        'CONTAINER_NAME_TAKEN',
        'the container name "taken" is already in use by container abc; remove that container or choose another name',
      );
    }
    return reply.status(201).send({ ...container, name: body.name ?? 'focused_turing' });
  });
  server.get('/v1/containers', async () => [container]);
  server.get('/v1/containers/:ref', async (req, reply) => {
    const { ref } = req.params as { ref: string };
    if (ref !== 'goCon') return notFound(reply, ref);
    return { ...container, events: [event(1, 'ContainerRequested', { containerId: ID, name: 'goCon' })] };
  });
  server.delete('/v1/containers/:ref', async (req, reply) => {
    const { ref } = req.params as { ref: string };
    if (ref !== 'goCon') return notFound(reply, ref);
    return { id: ID, name: 'goCon' };
  });
  server.get('/v1/events', async (_req, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream' });
    reply.raw.write(': live\nid: 0\n\n');
    for (const [i, [type, data]] of (
      [
        ['ContainerNameReserved', { containerId: ID, name: 'goCon' }],
        [
          'ContainerRequested',
          { containerId: ID, ide: true, requestDigest: 'ab', image: 'golang', name: 'goCon', env: [] },
        ],
      ] as const
    ).entries()) {
      const e = event(i + 1, type, data);
      reply.raw.write(`id: ${i + 1}\nevent: ${type}\ndata: ${JSON.stringify(e)}\n\n`);
    }
  });
  await server.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
});
after(async () => {
  server.server.closeAllConnections();
  await server.close();
});
beforeEach(() => {
  requests.length = 0;
});

const composeStatus: ComposeStatus = {
  supervisorPid: 100,
  lxrHome: '/tmp/lxr',
  startedAt: '2026-11-29T11:00:00.000Z',
  services: [
    {
      name: 'nats',
      state: 'ready',
      pid: 101,
      restarts: 0,
      since: '2026-11-29T11:58:00.000Z',
      logFile: '/tmp/lxr/logs/nats.log',
    },
    {
      name: 'api-gateway',
      state: 'restarting',
      pid: null,
      restarts: 2,
      since: '2026-11-29T11:59:00.000Z',
      logFile: '/tmp/lxr/logs/api-gateway.log',
      lastError: 'exited with code 1',
    },
  ],
};

/** A compose that answers `composeStatus`, with some of its functions replaced. */
const fakeCompose = (overrides: Partial<CliContext['compose']> = {}): CliContext['compose'] => ({
  up: async () => composeStatus,
  down: async () => {},
  status: async () => composeStatus,
  ...overrides,
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function lxr(
  argv: string[],
  overrides: Partial<CliContext> = {},
  signal = new AbortController().signal,
): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const ctx: CliContext = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { LXR_HOME: '/tmp/lxr', HOME_DIR: '/home/me' },
    signal,
    version: '9.9.9',
    now: () => NOW,
    client: async () => createClient({ url, token: 't' }),
    compose: fakeCompose(),
    ...overrides,
  };
  const code = await runCli(argv, ctx);
  return { code, stdout, stderr };
}

describe('lxr', () => {
  it('prints help and its version', async () => {
    const help = await lxr(['--help']);
    assert.equal(help.code, 0);
    for (const verb of ['up', 'down', 'status', 'create', 'ps', 'inspect', 'rm', 'events'])
      assert.match(help.stdout, new RegExp(`\\n  ${verb} `));
    assert.deepEqual(await lxr(['--version']), { code: 0, stdout: 'lxr version 9.9.9\n', stderr: '' });
    const createHelp = await lxr(['create', '--help']);
    assert.match(createHelp.stdout, /Usage: {2}lxr create \[OPTIONS\] IMAGE \[COMMAND\] \[ARG\.\.\.\]/);
    assert.match(createHelp.stdout, / {2}-e, --env KEY=VALUE\.\.\. +Set environment variables/);
    assert.equal((await lxr(['help', 'ps'])).stdout, (await lxr(['ps', '-h'])).stdout);
  });

  it('exits 125 on usage errors, pointing at --help', async () => {
    for (const argv of [
      ['bogus'],
      ['ps', '--bogus'],
      ['create'],
      ['rm'],
      ['ps', 'extra'],
      ['create', '--memory', 'lots', 'x'],
      ['ps', '--format', 'yaml'],
    ]) {
      const run = await lxr(argv);
      assert.equal(run.code, 125, argv.join(' '));
      assert.match(run.stderr, /See 'lxr( \w+)? --help'\./);
    }
    assert.equal(requests.length, 0, 'nothing was sent');
  });

  it('create sends docker-style flags and prints the full id', async () => {
    const run = await lxr([
      'create',
      '--name',
      'goCon',
      '-e',
      'A=1',
      '-e',
      'HOME_DIR',
      '-e',
      'UNSET',
      '--label',
      'team=x',
      '--memory',
      '512m',
      '--cpus',
      '1.5',
      '--pids-limit',
      '100',
      '--no-ide',
      '--node',
      'node-1',
      'golang',
      'sleep',
      '-x',
      'inf',
    ]);
    assert.deepEqual(run, { code: 0, stdout: `${ID}\n`, stderr: '' });
    const req = requests[0]!;
    assert.deepEqual(req.body, {
      image: 'golang',
      name: 'goCon',
      command: ['sleep', '-x', 'inf'],
      env: ['A=1', 'HOME_DIR=/home/me'],
      labels: { team: 'x' },
      ide: false,
      resources: { memoryBytes: 512 * 1024 * 1024, cpus: 1.5, pidsLimit: 100 },
      node: 'node-1',
    });
    assert.match(String(req.headers['idempotency-key']), /^[0-9a-f-]{36}$/);
    assert.equal(req.headers['authorization'], 'Bearer t');
  });

  it('create reports the API problem on stderr and exits 1', async () => {
    const run = await lxr(['create', '--name', 'taken', 'golang']);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(
      run.stderr,
      /^Error: the container name "taken" is already in use .* choose another name\n$/,
    );
  });

  it('ps prints docker-like columns, ids, or JSON lines', async () => {
    const table = await lxr(['ps']);
    assert.equal(
      table.stdout,
      'CONTAINER ID   NAME    IMAGE    STATUS    PID    IP          NETNS   PORTS   CREATED\n' +
        '3f2a00000000   goCon   golang   Created   4242   10.88.0.2   -       -       3 minutes ago\n',
    );
    assert.equal((await lxr(['ps', '-aq'])).stdout, '3f2a00000000\n');
    assert.equal(requests.at(-1)?.url, '/v1/containers?all=true');
    assert.equal((await lxr(['ps', '-q', '--no-trunc'])).stdout, `${ID}\n`);
    const json = await lxr(['ps', '--format', 'json']);
    assert.deepEqual(JSON.parse(json.stdout.trim()), container);
  });

  it('inspect prints a JSON array and exits 1 for the missing ones', async () => {
    const run = await lxr(['inspect', 'goCon', 'nope']);
    assert.equal(run.code, 1);
    const parsed = JSON.parse(run.stdout);
    assert.equal(parsed.length, 1);
    assert.equal(parsed[0].events[0].type, 'ContainerRequested');
    assert.equal(run.stderr, 'Error: no such container: nope\n');
  });

  it('rm prints what it removed and reports the rest', async () => {
    const run = await lxr(['rm', 'goCon', 'nope']);
    assert.deepEqual(run, { code: 1, stdout: 'goCon\n', stderr: 'Error: no such container: nope\n' });
  });

  it('events follows the log until interrupted, as text or JSON', async () => {
    for (const [argv, check] of [
      [
        ['events', '--filter', 'container=goCon'],
        (out: string) =>
          assert.match(
            out,
            /^2026-11-29T11:57:02.000Z ContainerRequested 3f2a00000000 \(name=goCon, image=golang, ide=true\)$/m,
          ),
      ],
      [
        ['events', '--since', '0', '--format', 'json'],
        (out: string) => assert.equal(JSON.parse(out.split('\n')[1]!).type, 'ContainerRequested'),
      ],
    ] as const) {
      const abort = new AbortController();
      let out = '';
      const running = lxr(
        argv as unknown as string[],
        {
          stdout: {
            write: (s: string) => {
              out += s;
              if (out.split('\n').length > 2) abort.abort();
            },
          },
        },
        abort.signal,
      );
      const run = await running;
      assert.equal(run.code, 0);
      assert.equal(out.trim().split('\n').length, 2);
      check(out);
    }
    assert.match(requests[0]!.url, /live=true/);
    assert.match(requests[0]!.url, /container=goCon/);
    assert.match(requests.at(-1)!.url, /after=0/);
  });

  it('says how to start lxr when the API is down', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const run = await lxr(['ps'], { client: async () => createClient({ url: `http://127.0.0.1:${port}` }) });
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^Error: cannot reach the lxr API at http:\/\/127\.0\.0\.1:\d+ \(connection refused\); .*`lxr up`/,
    );
  });

  it('status prints the services and exits 1 when one is not ready or lxr is down', async () => {
    const run = await lxr(['status']);
    assert.equal(run.code, 1);
    assert.equal(
      run.stdout,
      'SERVICE       STATE        PID   RESTARTS   UPTIME\n' +
        'nats          ready        101   0          2 minutes\n' +
        'api-gateway   restarting   -     2          -\n',
    );
    assert.match(
      run.stderr,
      /not ready: api-gateway \(restarting: exited with code 1; log \/tmp\/lxr\/logs\/api-gateway\.log\)/,
    );
    const down = await lxr(['status'], { compose: fakeCompose({ status: async () => null }) });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /lxr is not running .*`lxr up`/);
  });

  it('up prints each service as it becomes ready; down passes --purge', async () => {
    const run = await lxr(['up'], {
      compose: fakeCompose({
        async up(options) {
          options.onProgress?.({
            ...composeStatus,
            services: composeStatus.services.map((s) => ({ ...s, state: 'starting' })),
          });
          const ready = {
            ...composeStatus,
            services: composeStatus.services.map((s) => ({ ...s, state: 'ready' as const })),
          };
          options.onProgress?.(ready);
          return ready;
        },
      }),
    });
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^ ✔ nats {9}ready {6}0\.0s\n ✔ api-gateway {2}ready {6}0\.0s\nlxr is up/);
    let downOptions: unknown;
    const compose = fakeCompose({
      async down(options) {
        downOptions = options;
      },
    });
    const down = await lxr(['down', '--purge'], { compose });
    assert.deepEqual([down.code, down.stdout], [0, 'lxr is down; removed its data under /tmp/lxr\n']);
    assert.deepEqual(downOptions, { lxrHome: '/tmp/lxr', purge: true });
  });
});
