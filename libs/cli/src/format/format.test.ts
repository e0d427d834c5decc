import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../errors.js';
import { humanDuration, timeAgo } from './duration.js';
import { cell, formatTable } from './table.js';
import { parseBytes } from './units.js';

describe('humanDuration (docker go-units)', () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const d = 24 * h;
  for (const [ms, text] of [
    [0, 'Less than a second'],
    [999, 'Less than a second'],
    [s, '1 second'],
    [59 * s, '59 seconds'],
    [m, 'About a minute'],
    [119 * s, 'About a minute'],
    [2 * m, '2 minutes'],
    [59 * m, '59 minutes'],
    [h, 'About an hour'],
    [89 * m, 'About an hour'],
    [2 * h, '2 hours'],
    [47 * h, '47 hours'],
    [2 * d, '2 days'],
    [13 * d, '13 days'],
    [14 * d, '2 weeks'],
    [60 * d, '2 months'],
    [730 * d, '2 years'],
  ] as const) {
    it(`${ms} ms is "${text}"`, () => assert.equal(humanDuration(ms), text));
  }

  it('writes CREATED as "… ago", clamping clock skew', () => {
    const now = new Date('2026-01-01T00:10:00Z');
    assert.equal(timeAgo('2026-01-01T00:07:00Z', now), '3 minutes ago');
    assert.equal(timeAgo('2026-01-01T00:11:00Z', now), 'Less than a second ago');
  });
});

describe('formatTable', () => {
  it('pads columns by three spaces with no trailing space', () => {
    assert.equal(
      formatTable(
        ['A', 'LONGER'],
        [
          ['xx', 'y'],
          ['z', ''],
        ],
      ),
      'A    LONGER\nxx   y\nz\n',
    );
  });

  it('shows missing values as -', () => {
    assert.deepEqual([cell(null), cell(undefined), cell(''), cell(0), cell('x')], ['-', '-', '-', '0', 'x']);
  });
});

describe('parseBytes (docker --memory)', () => {
  for (const [text, bytes] of [
    ['512m', 512 * 1024 ** 2],
    ['512MB', 512 * 1024 ** 2],
    ['1.5g', 1.5 * 1024 ** 3],
    ['100', 100],
    ['64k', 65536],
  ] as const) {
    it(`${text} is ${bytes} bytes`, () => assert.equal(parseBytes(text, '--memory'), bytes));
  }
  it('refuses other text as a usage error', () => {
    assert.throws(() => parseBytes('lots', '-m, --memory'), UsageError);
    assert.throws(() => parseBytes('5x', '-m, --memory'), /invalid size: '5x'/);
  });
});
