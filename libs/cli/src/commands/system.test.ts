import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SystemDiskUsage } from '@lxr/events';
import { runCliCaptured } from '../testing.js';

const usage: SystemDiskUsage = {
  images: { total: 5, active: 2, size: 16_430_000, reclaimable: 11_630_000 },
  containers: { total: 2, active: 0, size: 212, reclaimable: 212 },
  volumes: { total: 2, active: 1, size: 36_460_000, reclaimable: 0 },
  layers: { total: 7, active: 3, size: 40_000_000, reclaimable: 10_000_000 },
};

async function lxr(argv: string[], answer?: boolean) {
  const calls: string[] = [];
  const system = {
    async df() {
      calls.push('df');
      return usage;
    },
    async prune(options: { all?: boolean; volumes?: boolean }) {
      calls.push(`prune all=${options.all} volumes=${options.volumes}`);
      return {
        containersDeleted: ['c'.repeat(64)],
        imagesDeleted: [`sha256:${'d'.repeat(64)}`],
        layersDeleted: 2,
        volumesDeleted: options.volumes ? ['data'] : [],
        spaceReclaimed: 1_500_000,
      };
    },
  };
  const questions: string[] = [];
  const run = await runCliCaptured(
    argv,
    { system },
    answer === undefined
      ? {}
      : {
          confirm: async (q: string) => {
            questions.push(q);
            return answer;
          },
        },
  );
  return { ...run, calls, questions };
}

describe('lxr system', () => {
  it("df prints docker's table with the layer cache as a fourth row", async () => {
    const r = await lxr(['system', 'df']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
    assert.match(lines[1]!, /^Images\s+5\s+2\s+16\.4MB\s+11\.6MB \(71%\)$/);
    assert.match(lines[2]!, /^Containers\s+2\s+0\s+212B\s+212B \(100%\)$/);
    assert.match(lines[3]!, /^Local Volumes\s+2\s+1\s+36\.5MB\s+0B \(0%\)$/);
    assert.match(lines[4]!, /^Layer cache\s+7\s+3\s+40MB\s+10MB \(25%\)$/);
    assert.deepEqual(JSON.parse((await lxr(['system', 'df', '--format', 'json'])).stdout), usage);
  });

  it('prune asks first, and removes nothing on no', async () => {
    const no = await lxr(['system', 'prune', '-a', '--volumes'], false);
    assert.equal(no.code, 0);
    assert.deepEqual(no.calls, []);
    assert.match(no.questions[0]!, /all images without at least one container/);
    assert.match(no.questions[0]!, /all volumes not used/);
    const yes = await lxr(['system', 'prune'], true);
    assert.deepEqual(yes.calls, ['prune all=false volumes=false']);
    assert.match(yes.stdout, /Deleted Containers:\ncccc/);
    assert.match(yes.stdout, /Total reclaimed space: 1\.5MB\n$/);
  });

  it('prune -f does not ask; -a --volumes reach the API', async () => {
    const r = await lxr(['system', 'prune', '-af', '--volumes']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.questions, []);
    assert.deepEqual(r.calls, ['prune all=true volumes=true']);
    assert.match(r.stdout, /Deleted Volumes:\ndata\n/);
  });

  it('names the verbs it knows on a wrong one', async () => {
    const r = await lxr(['system', 'info']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /use "lxr system df" or "lxr system prune"/);
  });
});
