import type { RecordedEvent } from '@lxr/events';
import { shortId } from '@lxr/events/ids';
import { listFlag, type ParsedArgs, stringFlag } from '../argv.js';
import { ExitCode, UsageError } from '../errors.js';
import { type Command, FORMAT_FLAG } from './command.js';
import { outputFormat } from './format-flag.js';

/** Fields that identify rather than describe: the id is the subject already, the digest is noise. */
const HIDDEN = new Set(['containerId', 'requestDigest']);
/** The fields people look for first, in this order; the rest follow alphabetically. */
const FIRST = ['name', 'image', 'node', 'state', 'reason'];
const rank = (key: string) => (FIRST.includes(key) ? FIRST.indexOf(key) : FIRST.length);

/** One line per event, like `docker events`: time, type, the container, and the payload's plain fields. */
function formatEvent(event: RecordedEvent): string {
  const data = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as Record<
    string,
    unknown
  >;
  const subject =
    typeof data['containerId'] === 'string' ? shortId(data['containerId']) : event.metadata.stream;
  const attributes = Object.entries(data)
    .filter(([key, value]) => !HIDDEN.has(key) && ['string', 'number', 'boolean'].includes(typeof value))
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([key, value]) => `${key}=${value}`);
  return `${event.metadata.timestamp} ${event.type} ${subject}${attributes.length > 0 ? ` (${attributes.join(', ')})` : ''}\n`;
}

function filters(args: ParsedArgs): { container?: string; types: string[] } {
  const out: { container?: string; types: string[] } = { types: [] };
  for (const filter of listFlag(args, 'filter')) {
    const eq = filter.indexOf('=');
    const [key, value] = eq < 0 ? [filter, ''] : [filter.slice(0, eq), filter.slice(eq + 1)];
    if (value === '') throw new UsageError(`invalid filter "${filter}": use key=value, e.g. container=web`);
    if (key === 'container') {
      if (out.container !== undefined) throw new UsageError('only one container filter is supported');
      out.container = value;
    } else if (key === 'type' || key === 'event') {
      out.types.push(value);
    } else {
      throw new UsageError(`invalid filter "${key}": use container=NAME|ID or type=EVENT_TYPE`);
    }
  }
  return out;
}

/** `lxr events`. */
export const eventsCommand: Command = {
  name: 'events',
  summary: 'Follow the event log',
  usage: 'lxr events [OPTIONS]',
  description:
    'Prints events as they are recorded, until interrupted. With --since, starts after that log position\n' +
    '(0 = from the beginning; the position of each event is in its JSON, metadata.position).',
  flags: [
    { name: 'since', kind: 'string', value: 'POSITION', description: 'Show events after this log position' },
    {
      name: 'filter',
      short: 'f',
      kind: 'list',
      value: 'KEY=VALUE',
      description: 'Filter: container=NAME|ID, type=EVENT_TYPE',
    },
    FORMAT_FLAG,
  ],
  args: { min: 0, max: 0 },
  async run(ctx, args) {
    const format = outputFormat(args);
    const since = stringFlag(args, 'since');
    if (since !== undefined && !/^\d+$/.test(since)) {
      throw new UsageError(`invalid --since "${since}": a log position (a non-negative integer)`);
    }
    const { container, types } = filters(args);
    const client = await ctx.client();
    const stream = client.events.stream({
      ...(since === undefined ? { live: true } : { after: Number(since) }),
      ...(container === undefined ? {} : { container }),
      types,
      signal: ctx.signal,
    });
    for await (const event of stream) {
      ctx.stdout.write(format === 'json' ? `${JSON.stringify(event)}\n` : formatEvent(event));
    }
    return ExitCode.Ok;
  },
};
