import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEventStream } from './sse.js';

async function parse(...chunks: string[]) {
  const out = [];
  for await (const m of parseEventStream(chunks)) out.push(m);
  return out;
}

describe('parseEventStream', () => {
  it('parses events, ids and multi-line data, across chunk boundaries', async () => {
    assert.deepEqual(await parse('id: 1\nevent: A\nda', 'ta: {"x":1}\n\n', 'data: a\ndata: b\n\n'), [
      { id: '1', event: 'A', data: '{"x":1}' },
      { event: 'message', data: 'a\nb' },
    ]);
  });

  it('skips comments, keeps id-only blocks and retry, and handles CRLF and CR', async () => {
    assert.deepEqual(
      await parse(': keep-alive\r\n\r\n', ': hb\nid: 9\n\n', 'retry: 2000\r', '\r', 'data:x\r\rdata'),
      [{ id: '9' }, { retry: 2000 }, { event: 'message', data: 'x' }],
    );
  });

  it('ignores an unterminated last block and unknown fields', async () => {
    assert.deepEqual(await parse('foo: bar\ndata: 1\n\ndata: 2'), [{ event: 'message', data: '1' }]);
  });
});
