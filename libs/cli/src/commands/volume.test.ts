import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError, type LxrClient, type NodeVolume } from '@lxr/client';
import { runCliCaptured } from '../testing.js';

const user = 'a'.repeat(64);
const volume = (name: string, extra: Partial<NodeVolume> = {}): NodeVolume => ({
  name,
  driver: 'local',
  mountpoint: `/var/lib/lxr/volumes/${name}/_data`,
  createdAt: '2026-11-29T08:00:00.000Z',
  labels: {},
  anonymous: false,
  containers: [],
  node: 'node-1',
  ...extra,
});
const inUse = new ApiError({
  type: 'urn:lxr:problem:volume-in-use',
  title: 'Volume in use',
  status: 409,
  code: 'VOLUME_IN_USE',
  detail: `volume "busy" is in use by container ${user.slice(0, 12)}: remove the container first (lxr rm)`,
});
const notFound = (name: string) =>
  new ApiError({
    type: 'urn:lxr:problem:volume-not-found',
    title: 'Volume not found',
    status: 404,
    code: 'VOLUME_NOT_FOUND',
    detail: `no node has a volume "${name}" (lxr volume ls lists them)`,
  });

/** `lxr ARGV` against a client whose volumes answer as a gateway with `data` and `busy` would. */
async function lxr(argv: string[]) {
  const calls: string[] = [];
  const volumes: LxrClient['volumes'] = {
    async create(request = {}) {
      calls.push(`create ${JSON.stringify(request)}`);
      return volume(request.name ?? 'f'.repeat(64), { labels: { ...request.labels } });
    },
    async list(options = {}) {
      calls.push(`list ${options.node ?? ''}`);
      return [volume('data'), volume('busy', { containers: [user] })];
    },
    async inspect(name) {
      if (name === 'nope') throw notFound(name);
      return [volume(name, { size: 1234 })];
    },
    async remove(name, options = {}) {
      calls.push(`remove ${name} force=${options.force}`);
      if (name === 'busy') throw inUse;
      if (name === 'nope') {
        if (options.force) return [{ removed: [], reclaimedBytes: 0, node: 'node-1' }];
        throw notFound(name);
      }
      return [{ removed: [name], reclaimedBytes: 10, node: 'node-1' }];
    },
    async prune(options = {}) {
      calls.push(`prune all=${options.all}`);
      return [
        {
          removed: options.all ? ['data', 'x'] : [],
          reclaimedBytes: options.all ? 2_000_000 : 0,
          node: 'node-1',
        },
      ];
    },
  };
  const run = await runCliCaptured(argv, {
    volumes,
    containers: {
      async remove(ref: string, options: { force?: boolean; volumes?: boolean } = {}) {
        calls.push(`rm ${ref} force=${options.force} volumes=${options.volumes}`);
        return { id: ref, name: ref };
      },
    },
  });
  return { ...run, calls };
}

describe('lxr volume', () => {
  it('creates a volume, named or not, with labels, and prints its name', async () => {
    const named = await lxr(['volume', 'create', '--label', 'team=a', '-l', 'x', 'data']);
    assert.equal(named.code, 0, named.stderr);
    assert.equal(named.stdout, 'data\n');
    assert.deepEqual(named.calls, ['create {"name":"data","labels":{"team":"a","x":""}}']);
    const random = await lxr(['volume', 'create']);
    assert.equal(random.stdout, `${'f'.repeat(64)}\n`);
  });

  it('lists volumes as docker does (DRIVER, VOLUME NAME), names only with -q', async () => {
    const ls = await lxr(['volume', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    const lines = ls.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^DRIVER\s+VOLUME NAME\s+NODE$/);
    assert.match(lines[1]!, /^local\s+data\s+node-1$/);
    assert.equal((await lxr(['volume', 'ls', '-q'])).stdout, 'data\nbusy\n');
    const json = await lxr(['volume', 'list', '--format', 'json']);
    assert.equal(JSON.parse(json.stdout.split('\n')[0]!).name, 'data');
  });

  it("inspects as docker's JSON with Mountpoint, CreatedAt and Labels, failing for a missing one", async () => {
    const r = await lxr(['volume', 'inspect', 'data', 'nope']);
    assert.equal(r.code, 1);
    const [v] = JSON.parse(r.stdout);
    assert.deepEqual(
      [v.Name, v.Driver, v.Mountpoint, v.CreatedAt, v.Labels, v.Scope, v.UsageData],
      [
        'data',
        'local',
        '/var/lib/lxr/volumes/data/_data',
        '2026-11-29T08:00:00.000Z',
        {},
        'local',
        { Size: 1234, RefCount: 0 },
      ],
    );
    assert.match(r.stderr, /Error: no node has a volume "nope"/);
  });

  it('refuses to remove a volume in use with a clear error, even with -f, and goes on', async () => {
    for (const force of [[], ['-f']]) {
      const r = await lxr(['volume', 'rm', ...force, 'busy', 'data']);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `Error: volume "busy" is in use by container ${user.slice(0, 12)}: remove the container first (lxr rm)\n`,
      );
      assert.equal(r.stdout, 'data\n');
    }
    const missing = await lxr(['volume', 'rm', '-f', 'nope']);
    assert.deepEqual([missing.code, missing.stdout, missing.stderr], [0, '', '']);
  });

  it('prunes anonymous volumes, every unused one with -a, and says what it reclaimed', async () => {
    const r = await lxr(['volume', 'prune', '-a', '-f']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Deleted Volumes:\ndata\nx\n\nTotal reclaimed space: 2MB\n');
    assert.deepEqual((await lxr(['volume', 'prune'])).calls, ['prune all=false']);
  });

  it('lxr rm -v removes the anonymous volumes with the container, as docker rm -v', async () => {
    assert.deepEqual((await lxr(['rm', '-v', 'web'])).calls, ['rm web force=false volumes=true']);
    assert.deepEqual((await lxr(['rm', 'web'])).calls, ['rm web force=false volumes=false']);
  });

  it('refuses unknown subcommands and wrong argument counts with a usage error', async () => {
    const unknown = await lxr(['volume', 'frob']);
    assert.equal(unknown.code, 125);
    assert.match(unknown.stderr, /unknown volume command "frob"/);
    const extra = await lxr(['volume', 'ls', 'x']);
    assert.equal(extra.code, 125);
    assert.match(extra.stderr, /"lxr volume ls" takes no arguments/);
    assert.equal((await lxr(['volume', 'rm'])).code, 125);
  });
});
