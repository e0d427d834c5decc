/** One dispatched Server-Sent Events block. */
export interface SseMessage {
  /** The `id:` of this block, when it had one (a block may carry only an id, to move the cursor). */
  readonly id?: string;
  /** `event:`; `message` when the block had data but no event name. */
  readonly event?: string;
  /** The `data:` lines joined with `\n`; absent when the block had no data (then nothing is dispatched). */
  readonly data?: string;
  /** `retry:` in milliseconds. */
  readonly retry?: number;
}

/**
 * Parses a text/event-stream as the WHATWG spec does: lines end with CRLF, LF or CR; `:` starts a
 * comment; a blank line ends a block. Yields a message for every block that set anything.
 */
export async function* parseEventStream(
  chunks: AsyncIterable<string> | Iterable<string>,
): AsyncGenerator<SseMessage> {
  let buffer = '';
  let block: { id?: string; event?: string; data?: string[]; retry?: number } = {};
  const flush = (): SseMessage | undefined => {
    const { id, event, data, retry } = block;
    block = {};
    if (id === undefined && data === undefined && retry === undefined) return undefined;
    return {
      ...(id === undefined ? {} : { id }),
      ...(data === undefined ? {} : { data: data.join('\n'), event: event ?? 'message' }),
      ...(retry === undefined ? {} : { retry }),
    };
  };
  for await (const chunk of chunks) {
    buffer += chunk;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(buffer);
      // A lone CR at the end may be the first half of a CRLF: wait for more.
      if (!match || (match[0] === '\r' && match.index === buffer.length - 1)) break;
      const line = buffer.slice(0, match.index);
      buffer = buffer.slice(match.index + match[0].length);
      if (line === '') {
        const message = flush();
        if (message) yield message;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') block.data = [...(block.data ?? []), value];
      else if (field === 'event') block.event = value;
      else if (field === 'id' && !value.includes('\0')) block.id = value;
      else if (field === 'retry' && /^\d+$/.test(value)) block.retry = Number(value);
    }
  }
}

/** Decodes a fetch body into text chunks. */
export async function* textChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
