import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FlagSpec, parseArgs } from './argv.js';
import { UsageError } from './errors.js';

const specs: FlagSpec[] = [
  { name: 'name', kind: 'string', description: '' },
  { name: 'env', short: 'e', kind: 'list', description: '' },
  { name: 'all', short: 'a', kind: 'boolean', description: '' },
  { name: 'quiet', short: 'q', kind: 'boolean', description: '' },
  { name: 'memory', short: 'm', kind: 'string', description: '' },
];

describe('parseArgs', () => {
  it('reads long, short, grouped and attached flags', () => {
    const args = parseArgs(
      ['--name', 'web', '-e', 'A=1', '--env=B=2', '-eC=3', '-aq', '-m512m', 'img'],
      specs,
    );
    assert.deepEqual(args.flags, {
      name: 'web',
      env: ['A=1', 'B=2', 'C=3'],
      all: true,
      quiet: true,
      memory: '512m',
    });
    assert.deepEqual(args.positionals, ['img']);
  });

  it('takes --flag=value for booleans and the last value for repeated strings', () => {
    assert.deepEqual(parseArgs(['--all=false', '--name', 'a', '--name=b'], specs).flags, {
      all: false,
      name: 'b',
    });
  });

  it('ends flags at -- and, when asked, at the first positional', () => {
    assert.deepEqual(parseArgs(['-a', '--', '-q', 'x'], specs).positionals, ['-q', 'x']);
    const create = parseArgs(['-e', 'A=1', 'busybox', 'ls', '-l', '--name', 'x'], specs, {
      stopAtFirstPositional: true,
    });
    assert.deepEqual(create.positionals, ['busybox', 'ls', '-l', '--name', 'x']);
    assert.deepEqual(create.flags, { env: ['A=1'] });
    assert.deepEqual(parseArgs(['-'], specs).positionals, ['-']);
  });

  it('accepts --help and -h everywhere', () => {
    assert.equal(parseArgs(['-h'], specs).flags['help'], true);
    assert.equal(parseArgs(['--help'], []).flags['help'], true);
  });

  for (const [argv, message] of [
    [['--bogus'], 'unknown flag: --bogus'],
    [['-x'], "unknown shorthand flag: 'x' in -x"],
    [['-ax'], "unknown shorthand flag: 'x' in -ax"],
    [['--name'], 'flag needs an argument: --name'],
    [['-e'], "flag needs an argument: 'e' in -e"],
    [['--all=yes'], 'invalid argument "yes" for "--all" flag: expected true or false'],
  ] as const) {
    it(`refuses ${argv.join(' ')} as a usage error`, () => {
      assert.throws(
        () => parseArgs(argv, specs),
        (e: unknown) => e instanceof UsageError && e.exitCode === 125 && e.message === message,
      );
    });
  }
});
