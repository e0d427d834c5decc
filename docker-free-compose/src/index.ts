/**
 * docker-free-compose: a small supervisor that runs lxr's processes (nats-server, PostgreSQL and the
 * services) from `compose.yaml`, without Docker. The `lxr` CLI drives it through these functions; the
 * daemon itself is `dist/main.js`.
 *
 * @example
 * import { composeDown, composeStatus, composeUp } from '@lxr/docker-free-compose';
 * await composeUp({ lxrHome: '/var/lib/lxr', onProgress: (s) => console.log(s.services) });
 * console.log(await composeStatus({ lxrHome: '/var/lib/lxr' }));
 * await composeDown({ lxrHome: '/var/lib/lxr' });
 */
export { composeDown, composeStatus, composeUp } from './client/compose-api.js';
export { ComposeError, ComposeErrorCode, errorCodes } from './errors.js';
export { COMPOSE_PORT_VARIABLES } from './ports.js';
export type { ComposeOptions, ComposeStatus, ServiceState, ServiceStatus } from './status.js';
