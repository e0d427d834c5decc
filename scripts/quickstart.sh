#!/usr/bin/env bash
# Installs whatever is missing, brings lxr up and creates a development container.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/setup.sh --link
lxr up
image="${LXR_QUICKSTART_IMAGE:-golang}"
if lxr inspect demo >/dev/null 2>&1; then
  echo "container demo already exists"
else
  lxr create --name demo "$image"
fi
lxr ps
cat <<EOT

lxr is up and demo is on its way: its image is pulled (from Docker Hub unless the image names another
registry) and it has an address and a network namespace; it starts once the rootfs-builder, the next
part, builds its root filesystem. Try:
  lxr ps                     # containers with their PID, IP and namespace
  lxr inspect demo           # everything recorded about demo (a failed pull says why)
  lxr network inspect        # the address pool and the containers' addresses
  lxr events                 # follow the event log live
  lxr status                 # the services and their health
  API: http://127.0.0.1:${LXR_API_PORT:-7420}/docs  (token: ${LXR_HOME:-/var/lib/lxr}/api-token)
  lxr down                   # stop everything
EOT
