import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import type { Transform } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createDecompressor, FzstdDecompressStream, zstdCommand } from './decompress.js';

const tar = Buffer.concat([randomBytes(300_000), Buffer.alloc(700_000, 7)]);
const zstd = execFileSync('zstd', ['-q', '-c'], { input: tar, maxBuffer: 64 * 1024 * 1024 });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function run(stream: Transform, input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
    for (let i = 0; i < input.length; i += 16_384) stream.write(input.subarray(i, i + 16_384));
    stream.end();
  });
}

test('gzip, zstd (the zstd command and fzstd) and plain layers decompress to the same tar', async () => {
  assert.ok(zstdCommand(), 'the zstd command is installed (infra/setup.sh)');
  assert.equal(sha(await run(createDecompressor('gzip'), gzipSync(tar))), sha(tar));
  assert.equal(sha(await run(createDecompressor('zstd'), zstd)), sha(tar));
  assert.equal(sha(await run(new FzstdDecompressStream(), zstd)), sha(tar));
  assert.equal(sha(await run(createDecompressor('none'), tar)), sha(tar));
});

test('a corrupt or truncated zstd stream is an error, never a short tar', async () => {
  const corrupt = Buffer.from(zstd);
  corrupt[Math.floor(corrupt.length / 2)]! ^= 0xff;
  const truncated = zstd.subarray(0, zstd.length - 100);
  for (const input of [corrupt, truncated]) {
    await assert.rejects(run(createDecompressor('zstd'), input), /zstd stream is corrupt/);
  }
  // fzstd skips the frame checksum, so it notices truncation only: a corrupt blob is caught first
  // by its digest, before its diffID matters.
  await assert.rejects(run(new FzstdDecompressStream(), truncated), /zstd stream is corrupt/);
});
