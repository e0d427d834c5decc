import { EventEmitter } from 'node:events';
import type { RecordedEvent } from '@lxr/events';
import type { FastifyBaseLogger, FastifyReply } from 'fastify';

/**
 * One Server-Sent Events response. Takes the socket over from fastify (`hijack`), writes events
 * with backpressure, and emits `close` once, when the client goes away or `end` is called.
 */
export class SseWriter extends EventEmitter<{ close: [] }> {
  #closed = false;
  #lastId = -1;
  readonly #reply: FastifyReply;
  readonly #log: FastifyBaseLogger;

  constructor(reply: FastifyReply, log: FastifyBaseLogger) {
    super();
    this.#reply = reply;
    this.#log = log;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async open(): Promise<void> {
    const raw = this.#reply.raw;
    this.#reply.hijack();
    raw.on('close', () => this.#markClosed());
    raw.on('error', (error) => {
      this.#log.debug({ err: error }, 'event stream socket error');
      this.#markClosed();
    });
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // Tells EventSource how long to wait before reconnecting.
    await this.#write('retry: 2000\n\n');
  }

  async event(event: RecordedEvent): Promise<void> {
    this.#lastId = event.metadata.position;
    await this.#write(
      `id: ${event.metadata.position}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`,
    );
  }

  /**
   * A comment line. When the stream has read past its last sent event (filtered events), an
   * `id:` line without data moves the client's Last-Event-ID forward without dispatching anything,
   * so a reconnect does not re-read what was skipped. Positions are compared for equality only:
   * the log is read in commit order, which is not always numeric order.
   */
  comment(text: string, cursor?: number): void {
    if (this.#closed) return;
    const id = cursor !== undefined && cursor !== this.#lastId ? `id: ${cursor}\n` : '';
    if (id) this.#lastId = cursor!;
    this.#reply.raw.write(`: ${text}\n${id}\n`);
  }

  end(): void {
    if (!this.#reply.raw.writableEnded) this.#reply.raw.end();
    this.#markClosed();
  }

  async #write(chunk: string): Promise<void> {
    if (this.#closed) return;
    if (!this.#reply.raw.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#reply.raw.off('drain', done);
          this.off('close', done);
          resolve();
        };
        this.#reply.raw.once('drain', done);
        this.once('close', done);
      });
    }
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.emit('close');
  }
}
