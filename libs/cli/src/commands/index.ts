import type { Command } from './command.js';
import { createCommand } from './create.js';
import { downCommand } from './down.js';
import { eventsCommand } from './events.js';
import { execCommand } from './exec.js';
import { ideCommand } from './ide.js';
import { imageCommand, imagesCommand } from './images.js';
import { inspectCommand } from './inspect.js';
import { killCommand } from './kill.js';
import { logsCommand } from './logs.js';
import { networkCommand } from './network.js';
import { psCommand } from './ps.js';
import { pullCommand } from './pull.js';
import { restartCommand } from './restart.js';
import { rmCommand } from './rm.js';
import { rmiCommand } from './rmi.js';
import { runCommand } from './run.js';
import { startCommand } from './start.js';
import { statsCommand } from './stats.js';
import { statusCommand } from './status.js';
import { stopCommand } from './stop.js';
import { systemCommand } from './system.js';
import { upCommand } from './up.js';
import { volumeCommand } from './volume.js';

/** Every verb, in the order `lxr --help` lists them. A new verb is a file here and a line below. */
export const commands: readonly Command[] = [
  upCommand,
  downCommand,
  statusCommand,
  createCommand,
  runCommand,
  startCommand,
  stopCommand,
  restartCommand,
  killCommand,
  execCommand,
  logsCommand,
  statsCommand,
  ideCommand,
  psCommand,
  inspectCommand,
  rmCommand,
  pullCommand,
  imagesCommand,
  rmiCommand,
  imageCommand,
  eventsCommand,
  networkCommand,
  systemCommand,
  volumeCommand,
];

export type { Command } from './command.js';
