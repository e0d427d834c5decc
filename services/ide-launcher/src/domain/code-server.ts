/** Where lxr's tools appear in every container (rootfs-builder's tools layer, read-only). */
export const TOOLS_MOUNT = '/opt/lxr';
/** The launcher of the tools bundle (infra/tools/build-tools.sh): no shell needed in the image. */
export const CODE_SERVER = `${TOOLS_MOUNT}/bin/code-server`;
/**
 * The IDE's directory at the container's root, made by the node (mode 1777, so any container user
 * can create the socket): outside every mount of the container, so the node reaches the socket
 * through the root filesystem and no other container on the bridge can.
 */
export const IDE_DIR = '.lxr-ide';
export const SOCKET_NAME = 'code-server.sock';
/** The workspace volume's place in development containers. */
export const WORKSPACE = '/workspace';

export interface CodeServerOptions {
  /** The container's name: the gateway serves the IDE on `/ide/<name>/`. */
  readonly name: string;
  /** Whether /workspace exists in the container: then the IDE opens it and keeps its state there. */
  readonly hasWorkspace: boolean;
}

/**
 * code-server's command line: listening on a unix socket only, no auth of its own (the gateway
 * authorises every request), its settings and extensions in the workspace volume (so they survive
 * the container) or in its own directory, no telemetry or update checks (nodes are offline).
 */
export function codeServerArgs(options: CodeServerOptions): string[] {
  const state = options.hasWorkspace ? `${WORKSPACE}/.lxr-ide` : `/${IDE_DIR}`;
  return [
    CODE_SERVER,
    '--socket',
    `/${IDE_DIR}/${SOCKET_NAME}`,
    '--socket-mode',
    '600',
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--abs-proxy-base-path',
    `/ide/${encodeURIComponent(options.name)}`,
    '--user-data-dir',
    `${state}/data`,
    '--extensions-dir',
    `${state}/extensions`,
    '--config',
    `${state}/config.yaml`,
    options.hasWorkspace ? WORKSPACE : '/',
  ];
}
