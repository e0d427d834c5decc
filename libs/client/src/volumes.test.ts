import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { createClient } from './client.js';

test('volumes: each method asks its route with the query parameters that are set', async () => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${body}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end(req.method === 'POST' ? '{}' : '[]');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => server.close());
  const client = createClient({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token: 't',
  });
  await client.volumes.create({ name: 'data', labels: { a: 'b' } });
  await client.volumes.create();
  await client.volumes.list({ node: 'n1' });
  await client.volumes.inspect('data');
  await client.volumes.remove('data', { force: true, node: 'n1' });
  await client.volumes.remove('data', { force: false });
  await client.volumes.prune({ all: true });
  await client.volumes.prune();
  assert.deepEqual(seen, [
    'POST /v1/volumes {"name":"data","labels":{"a":"b"}}',
    'POST /v1/volumes {}',
    'GET /v1/volumes?node=n1 ',
    'GET /v1/volumes/data ',
    'DELETE /v1/volumes/data?node=n1&force=true ',
    'DELETE /v1/volumes/data ',
    'POST /v1/volumes/prune?all=true ',
    'POST /v1/volumes/prune ',
  ]);
});
