import type { EventStoreDatabase } from '@lxr/event-store';
import type { PortBinding, ResourceLimits } from '@lxr/events';
import type { ColumnType, JSONColumnType } from 'kysely';

/** The gateway's own PostgreSQL schema: its read models and its migration bookkeeping. */
export const GATEWAY_SCHEMA = 'api_gateway';

/** `api_gateway.containers`: one row per container that exists (removed ones are deleted). */
export interface ContainersTable {
  id: string;
  name: string;
  image: string;
  node: string;
  state: string;
  command: JSONColumnType<string[] | null>;
  env: JSONColumnType<string[]>;
  labels: JSONColumnType<Record<string, string>>;
  ide: boolean;
  resources: JSONColumnType<ResourceLimits>;
  created_at: ColumnType<Date, string, string>;
  updated_at: ColumnType<Date, string, string>;
  /** Filled by later services (the executor): the container's init PID, IP and network namespace. */
  pid: number | null;
  /** The main process's exit status once it exited (ContainerExited). */
  exit_code: number | null;
  /** Published ports: as requested, then as the node resolved them (NetworkReady). */
  ports: JSONColumnType<PortBinding[]>;
  ip: string | null;
  netns: string | null;
  /** pg returns bigint as a string. */
  last_position: ColumnType<string, number, number>;
}

/** The tables the gateway owns, as kysely sees them (schema-qualified). */
export type GatewayTables = {
  'api_gateway.containers': ContainersTable;
};

/** The database the gateway's projections run on: the event log's tables and its own. */
export type GatewayDatabase = EventStoreDatabase & GatewayTables;
