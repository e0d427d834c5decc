import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PullMessage } from '@lxr/client';
import { humanSize } from '../format/units.js';
import { repositoryAndTag } from './images.js';
import { layerLine, PullRenderer } from './pull.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const subject = { pullId: 'p1', reference: 'docker.io/library/busybox:latest', node: 'n1' };
const progress = (a: number, b: number): PullMessage => ({
  type: 'ImagePullProgress',
  data: {
    ...subject,
    layers: [
      { digest: d('a'), size: 1000, done: a },
      { digest: d('b'), size: 2_000_000, done: b },
    ],
  },
});
const pulled: PullMessage = {
  type: 'ImagePulled',
  data: {
    ...subject,
    digest: d('f'),
    configDigest: d('c'),
    platform: { os: 'linux', architecture: 'amd64' },
    layers: [
      { digest: d('a'), diffId: d('1'), size: 1000, mediaType: 'x' },
      { digest: d('b'), diffId: d('2'), size: 2_000_000, mediaType: 'x' },
    ],
    config: {},
    size: 2_001_000,
    cached: false,
  },
};

test('sizes and layer bars look like docker’s', () => {
  assert.equal(humanSize(999), '999B');
  assert.equal(humanSize(1_234_567), '1.23MB');
  assert.equal(humanSize(2_000_000), '2MB');
  assert.equal(humanSize(600_000), '600kB');
  assert.equal(humanSize(1_500_000_000), '1.5GB');
  assert.equal(
    layerLine(d('a'), 500, 1000, 'downloading', 10),
    'aaaaaaaaaaaa: Downloading [====>     ]  500B/1kB',
  );
  assert.equal(layerLine(d('a'), 0, 1000, 'waiting'), 'aaaaaaaaaaaa: Waiting');
  assert.equal(layerLine(d('a'), 1000, 1000, 'complete'), 'aaaaaaaaaaaa: Pull complete');
});

test('on a terminal the layer lines are redrawn in place', () => {
  let out = '';
  const r = new PullRenderer({ write: (s: string) => (out += s) }, true);
  r.render(progress(0, 0));
  r.render(progress(1000, 1_000_000));
  r.render(pulled);
  assert.equal(out.split('\x1b[2A').length - 1, 2, 'moved up over the two layer lines twice');
  assert.match(out, /aaaaaaaaaaaa: Pull complete\n/);
  assert.match(out, /bbbbbbbbbbbb: Downloading \[=+> +\] {2}1MB\/2MB/);
  assert.match(
    out,
    /Status: Downloaded newer image for docker.io\/library\/busybox:latest\ndocker.io\/library\/busybox:latest\n$/,
  );
});

test('without a terminal it is a plain log: start, quarters and end of each layer, once each', () => {
  let out = '';
  const r = new PullRenderer({ write: (s: string) => (out += s) }, false);
  r.render(progress(0, 0));
  r.render(progress(0, 600_000));
  r.render(progress(0, 600_000));
  r.render(pulled);
  assert.ok(!out.includes('\x1b'), 'no escape sequences');
  assert.deepEqual(
    out.split('\n').filter((l) => l.startsWith('bbbbbbbbbbbb')),
    [
      'bbbbbbbbbbbb: Downloading (2MB)',
      'bbbbbbbbbbbb: Downloading 25% (600kB/2MB)',
      'bbbbbbbbbbbb: Pull complete (2MB)',
    ],
  );
});

test('images shows familiar repository names and tags', () => {
  assert.deepEqual(repositoryAndTag('docker.io/library/busybox:1.36'), ['busybox', '1.36']);
  assert.deepEqual(repositoryAndTag('docker.io/user/app:latest'), ['user/app', 'latest']);
  assert.deepEqual(repositoryAndTag('localhost:5000/a/b:tag'), ['localhost:5000/a/b', 'tag']);
  assert.deepEqual(repositoryAndTag(`localhost:5000/a@${d('e')}`), ['localhost:5000/a', '<none>']);
});
