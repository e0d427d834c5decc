import type { PullMessage } from '@lxr/client';
import { booleanFlag, stringFlag } from '../argv.js';
import type { Output } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { humanSize } from '../format/units.js';
import type { Command } from './command.js';

/** One layer's line while pulling, as docker draws it: `a1b2c3d4e5f6: Downloading [====>     ] 1.2MB/3.4MB`. */
export function layerLine(
  digest: string,
  done: number,
  size: number,
  state: 'waiting' | 'downloading' | 'complete' | 'exists',
  width = 50,
): string {
  const id = digest.replace(/^sha256:/, '').slice(0, 12);
  if (state === 'exists') return `${id}: Already exists`;
  if (state === 'complete') return `${id}: Pull complete`;
  if (state === 'waiting' || done === 0) return `${id}: Waiting`;
  const filled = size > 0 ? Math.min(width, Math.floor((done / size) * width)) : width;
  const bar = `${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(width - filled)}`;
  return `${id}: Downloading [${bar}]  ${humanSize(done)}/${humanSize(size)}`;
}

interface LayerState {
  readonly digest: string;
  size: number;
  done: number;
  state: 'waiting' | 'downloading' | 'complete' | 'exists';
}

/**
 * Draws a pull's messages: on a terminal, one line per layer redrawn in place (docker's bars);
 * otherwise a plain log that says each layer's start, every quarter of its bytes, and its end.
 */
export class PullRenderer {
  readonly #layers = new Map<string, LayerState>();
  readonly #logged = new Map<string, number>();
  #drawn = 0;

  constructor(
    private readonly out: Output,
    private readonly tty: boolean,
    /** Terminal width: the bars shrink to fit it. */
    private readonly columns = 120,
  ) {}

  /** Draws one message of the pull's stream. */
  render(message: PullMessage): void {
    switch (message.type) {
      case 'ImagePullRequested':
        this.out.write(
          `Pulling ${message.data.reference} on ${message.data.node}${message.data.platform ? ` (${message.data.platform})` : ''}\n`,
        );
        return;
      case 'ImagePullProgress':
        for (const l of message.data.layers) {
          const layer = this.#layers.get(l.digest) ?? {
            digest: l.digest,
            size: l.size,
            done: 0,
            state: 'waiting' as const,
          };
          layer.size = l.size;
          layer.done = l.done;
          if (layer.state === 'waiting' && l.done > 0) layer.state = 'downloading';
          if (l.done >= l.size && l.size > 0) layer.state = 'complete';
          this.#layers.set(l.digest, layer);
        }
        this.#draw();
        return;
      case 'ImagePulled': {
        const { data } = message;
        for (const l of data.layers) {
          const layer = this.#layers.get(l.digest);
          if (layer) {
            layer.done = layer.size;
            if (layer.state !== 'exists') layer.state = 'complete';
          } else {
            this.#layers.set(l.digest, {
              digest: l.digest,
              size: l.size,
              done: l.size,
              state: data.cached ? 'exists' : 'complete',
            });
          }
        }
        this.#draw();
        this.out.write(`Digest: ${data.digest}\n`);
        this.out.write(
          data.cached
            ? `Status: Image is up to date for ${data.reference}\n`
            : `Status: Downloaded newer image for ${data.reference}\n`,
        );
        this.out.write(`${data.reference}\n`);
        return;
      }
      case 'ImagePullFailed':
        this.#draw();
        return;
      default: {
        // A newer gateway may send more kinds of lines; they are not ours to draw.
        const _never: never = message;
        void _never;
      }
    }
  }

  #draw(): void {
    const layers = [...this.#layers.values()];
    if (this.tty) {
      // Move up over what was drawn, then redraw every line (new layers add lines).
      let text = this.#drawn > 0 ? `\x1b[${this.#drawn}A` : '';
      // id, label, sizes and brackets take about 50 columns; the bar gets the rest, 10 to 50.
      const width = Math.max(10, Math.min(50, this.columns - 50));
      for (const l of layers) text += `\x1b[2K${layerLine(l.digest, l.done, l.size, l.state, width)}\n`;
      this.out.write(text);
      this.#drawn = layers.length;
      return;
    }
    for (const l of layers) {
      // Log 0 (start), each quarter, and the end, once each.
      const step =
        l.state === 'complete' || l.state === 'exists'
          ? 4
          : l.size > 0
            ? Math.floor((l.done / l.size) * 4)
            : 0;
      if ((this.#logged.get(l.digest) ?? -1) >= step) continue;
      this.#logged.set(l.digest, step);
      const id = l.digest.slice(7, 19);
      if (l.state === 'exists') this.out.write(`${id}: Already exists\n`);
      else if (step === 4) this.out.write(`${id}: Pull complete (${humanSize(l.size)})\n`);
      else if (step === 0) this.out.write(`${id}: Downloading (${humanSize(l.size)})\n`);
      else this.out.write(`${id}: Downloading ${step * 25}% (${humanSize(l.done)}/${humanSize(l.size)})\n`);
    }
  }
}

/** `lxr pull`. */
export const pullCommand: Command = {
  name: 'pull',
  summary: 'Download an image from a registry',
  usage: 'lxr pull [OPTIONS] NAME[:TAG|@DIGEST]',
  description:
    'Pulls the image on a node (the first alive one unless --node says) into its content-addressed\n' +
    'store, verifying every digest. Shows one progress bar per layer on a terminal, a progress log\n' +
    "otherwise. Registry logins come from the node's ~/.docker/config.json.",
  flags: [
    {
      name: 'platform',
      kind: 'string',
      value: 'string',
      description: 'Set platform if server is multi-platform capable (os/arch[/variant])',
    },
    { name: 'node', kind: 'string', value: 'NODE', description: 'Pull on this node' },
    { name: 'quiet', short: 'q', kind: 'boolean', description: 'Suppress verbose output' },
  ],
  args: { min: 1, max: 1 },
  async run(ctx, args) {
    const client = await ctx.client();
    const reference = args.positionals[0]!;
    const platform = stringFlag(args, 'platform');
    const node = stringFlag(args, 'node');
    const quiet = booleanFlag(args, 'quiet');
    const terminal = ctx.stdout as { isTTY?: boolean; columns?: number };
    const renderer = new PullRenderer(ctx.stdout, terminal.isTTY === true, terminal.columns ?? 120);
    for await (const message of client.images.pull(
      { reference, ...(platform ? { platform } : {}), ...(node ? { node } : {}) },
      { signal: ctx.signal },
    )) {
      if (message.type === 'ImagePullFailed') {
        if (!quiet) renderer.render(message);
        throw new CliError(`pull of ${reference} failed (${message.data.reason}): ${message.data.message}`);
      }
      if (!quiet) renderer.render(message);
      else if (message.type === 'ImagePulled') ctx.stdout.write(`${message.data.reference}\n`);
    }
    return ExitCode.Ok;
  },
};
