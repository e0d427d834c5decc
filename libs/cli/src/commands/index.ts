import type { Command } from './command.js';
import { createCommand } from './create.js';
import { downCommand } from './down.js';
import { eventsCommand } from './events.js';
import { inspectCommand } from './inspect.js';
import { networkCommand } from './network.js';
import { psCommand } from './ps.js';
import { rmCommand } from './rm.js';
import { statusCommand } from './status.js';
import { upCommand } from './up.js';

/** Every verb, in the order `lxr --help` lists them. A new verb is a file here and a line below. */
export const commands: readonly Command[] = [
  upCommand,
  downCommand,
  statusCommand,
  createCommand,
  psCommand,
  inspectCommand,
  rmCommand,
  eventsCommand,
  networkCommand,
];

export type { Command } from './command.js';
