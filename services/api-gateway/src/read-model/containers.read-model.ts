import type { Container } from '@lxr/client';
import { ErrorCode, GatewayError } from '../errors.js';

/**
 * A row of the containers read model, as the API shows it: the client's `Container`, so the wire
 * type is written once.
 */
export type ContainerView = Container;

export interface ContainerFilter {
  /** Include containers in a final state (exited, failed, stopped), like `docker ps -a`. */
  readonly all?: boolean;
  /** Substring of the name. */
  readonly name?: string;
  readonly image?: string;
  readonly node?: string;
  readonly state?: string;
  /** Each label must be present, with this value when one is given. */
  readonly labels?: readonly { readonly key: string; readonly value?: string }[];
}

/** States `docker ps` without `-a` leaves out. */
export const FINAL_STATES: readonly string[] = ['exited', 'failed', 'stopped'];

/** The containers read model, kept by the `containers` projection. */
export interface ContainersReadModel {
  /** Applies everything appended so far, so a create just made is visible. */
  catchUp(): Promise<void>;
  /** Newest first. */
  list(filter?: ContainerFilter): Promise<ContainerView[]>;
  /**
   * The containers `ref` may mean, by docker's rules: the one with this exact id, else the one
   * with this exact name, else every container whose id starts with `ref`.
   */
  lookup(ref: string): Promise<ContainerView[]>;
}

/**
 * The container `ref` (id, name or unique id prefix) means once the read model has caught up, or
 * undefined when there is none; a 409 problem when `ref` is the prefix of several ids.
 */
export async function findContainer(
  readModel: ContainersReadModel,
  ref: string,
): Promise<ContainerView | undefined> {
  await readModel.catchUp();
  const found = await readModel.lookup(ref);
  if (found.length > 1) {
    throw new GatewayError(
      ErrorCode.ContainerAmbiguous,
      `the id prefix "${ref}" matches ${found.length} containers (${found.map((c) => c.name).join(', ')}); give more of the id`,
    );
  }
  return found[0];
}

/** {@link findContainer}, with a 404 problem when there is none. */
export async function resolveContainer(readModel: ContainersReadModel, ref: string): Promise<ContainerView> {
  const container = await findContainer(readModel, ref);
  if (container) return container;
  throw new GatewayError(
    ErrorCode.ContainerNotFound,
    `no such container: ${ref}; \`lxr ps -a\` (GET /v1/containers?all=true) lists the containers`,
  );
}
