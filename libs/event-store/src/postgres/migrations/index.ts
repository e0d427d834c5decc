import type { Migration } from 'kysely';
import * as createEvents from './20261129100000-create-events.js';
import * as createCheckpoints from './20261129100100-create-checkpoints.js';

/**
 * Every migration of the event store, by name. Listed statically (no directory scan), so bundling
 * and `dist/` layouts cannot lose one. Names are timestamps: append new ones with a later stamp.
 */
export const migrations: Readonly<Record<string, Migration>> = {
  '20261129100000-create-events': createEvents,
  '20261129100100-create-checkpoints': createCheckpoints,
};
