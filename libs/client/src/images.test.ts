import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { createClient } from './client.js';

test('images: pull streams NDJSON lines split across chunks; remove keeps the reference path', async () => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${body}`);
      if (req.url === '/v1/images/pull') {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        const lines = `${JSON.stringify({ type: 'ImagePullRequested', data: { pullId: 'p1' } })}\n${JSON.stringify({ type: 'ImagePulled', data: { digest: 'sha256:x' } })}\n`;
        res.write(lines.slice(0, 17));
        setTimeout(() => res.end(lines.slice(17)), 10);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => server.close());
  const client = createClient({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token: 't',
  });
  const messages = [];
  for await (const m of client.images.pull({ reference: 'busybox', platform: 'linux/arm64' }))
    messages.push(m.type);
  assert.deepEqual(messages, ['ImagePullRequested', 'ImagePulled']);
  await client.images.remove('localhost:5000/a/b:1', { force: true, node: 'n1' });
  await client.images.list({ node: 'n1' });
  await client.images.prune();
  assert.deepEqual(seen, [
    'POST /v1/images/pull {"reference":"busybox","platform":"linux/arm64"}',
    'DELETE /v1/images/localhost%3A5000%2Fa%2Fb%3A1?node=n1&force=true ',
    'GET /v1/images?node=n1 ',
    'POST /v1/images/prune ',
  ]);
});
