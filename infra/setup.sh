#!/usr/bin/env bash
# Prepares a Debian 12 host (as root, Node.js >= 20 already installed) to build, test and run lxr:
# installs the missing Debian packages, the npm dependencies and the build. Idempotent and quiet: it
# prints only what it installed, and on failure the step that failed with the end of its output.
#
#   infra/setup.sh          # packages, npm dependencies, build (TypeScript, native/, the tools bundle)
#   infra/setup.sh --link   # the same, then /usr/local/bin/lxr -> libs/cli/bin/lxr.js
set -euo pipefail

# The one list of Debian packages lxr needs.
PACKAGES=(
  nats-server postgresql postgresql-client # the event bus and the event log
  docker-registry skopeo umoci             # OCI registry for tests, image tools
  podman zstd openssl                      # pull benchmark peer, zstd layers, the test token server's cert
  busybox-static runc attr                 # test rootfs contents, reference OCI runtime, getfattr (layer xattr tests)
  iproute2 iptables                        # bridges, veths, netns, NAT
  build-essential pkg-config libseccomp-dev libjson-c-dev # native/ (the C runtime)
  python3 libkrb5-dev libxkbfile-dev libsecret-1-dev patchelf # the tools bundle (code-server's native modules)
  chromium                                 # the web console's browser test (headless, loopback only)
)
NODE_MAJOR_MIN=20

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LINK=0
for arg in "$@"; do
  case "$arg" in
    --link) LINK=1 ;;
    -h | --help)
      sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "setup.sh: unknown option '$arg' (try --help)" >&2
      exit 64
      ;;
  esac
done

LOG="$(mktemp -t lxr-setup.XXXXXX)"
POLICY_CREATED=0
cleanup() {
  rm -f "$LOG"
  if [ "$POLICY_CREATED" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
}
trap cleanup EXIT

die() {
  echo "setup.sh: $*" >&2
  exit 1
}

# Runs a step with its output in $LOG; on failure shows the step and the end of its output.
step() {
  local what="$1"
  shift
  if ! "$@" >"$LOG" 2>&1; then
    echo "setup.sh: $what failed ($*):" >&2
    tail -n 40 "$LOG" | sed 's/^/  /' >&2
    exit 1
  fi
}

# --- Node.js -------------------------------------------------------------------------------------------
command -v node >/dev/null || die "Node.js >= $NODE_MAJOR_MIN is required (not found in PATH)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge "$NODE_MAJOR_MIN" ] || die "Node.js >= $NODE_MAJOR_MIN is required (found $(node --version))"

# --- Debian packages -----------------------------------------------------------------------------------
missing=()
installed="$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)"
for pkg in "${PACKAGES[@]}"; do
  grep -qx "$pkg installed" <<<"$installed" || missing+=("$pkg")
done

# Clusters as "<version>/<name> <status>", to tell which ones apt created or started.
pg_clusters() {
  if command -v pg_lsclusters >/dev/null; then pg_lsclusters --no-header 2>/dev/null | awk '{print $1 "/" $2, $4}'; fi
}

if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "run as root to install: ${missing[*]}"
  clusters_before="$(pg_clusters)"
  # apt must not start services (Debian's PostgreSQL on 5432, nats-server on 4222, a registry on 5000):
  # lxr runs its own. policy-rc.d exit 101 is Debian's "do not start"; keep an existing one as it is.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# Written by lxr infra/setup.sh while it runs apt-get.\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    POLICY_CREATED=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  step "apt-get update" apt-get update -q
  step "installing ${missing[*]}" apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"

  # A cluster apt created is stopped and kept from starting at boot; one that was there stays as it was.
  while read -r cluster status; do
    [ -n "$cluster" ] || continue
    if ! grep -q "^$cluster " <<<"$clusters_before"; then
      if [ "$status" = online ]; then
        step "stopping PostgreSQL cluster $cluster" pg_ctlcluster "${cluster%/*}" "${cluster#*/}" stop
      fi
      echo manual >"/etc/postgresql/$cluster/start.conf"
    elif [ "$status" = online ] && grep -q "^$cluster down" <<<"$clusters_before"; then
      step "stopping PostgreSQL cluster $cluster" pg_ctlcluster "${cluster%/*}" "${cluster#*/}" stop
    fi
  done <<<"$(pg_clusters)"
  # Under systemd, services of newly installed packages would start at the next boot.
  if [ -d /run/systemd/system ]; then
    for pkg in "${missing[@]}"; do
      case "$pkg" in
        postgresql | nats-server | docker-registry) systemctl disable --now "$pkg" >/dev/null 2>&1 || true ;;
      esac
    done
  fi
  echo "setup.sh: installed ${missing[*]}"
fi

# --- npm dependencies ----------------------------------------------------------------------------------
cd "$ROOT"
# npm ci wipes node_modules: only rerun it when the lockfile (or Node.js) changed since it last ran.
if [ -f package-lock.json ]; then
  stamp="$( (node --version && cat package-lock.json) | sha256sum | cut -d' ' -f1)"
  install=(npm ci --no-audit --no-fund --loglevel=error)
else
  stamp="$( (node --version && cat package.json ./*/package.json ./*/*/package.json 2>/dev/null) | sha256sum | cut -d' ' -f1)"
  install=(npm install --no-audit --no-fund --loglevel=error)
fi
if [ "$(cat node_modules/.lxr-setup-stamp 2>/dev/null || true)" != "$stamp" ]; then
  step "${install[*]}" "${install[@]}"
  echo "$stamp" >node_modules/.lxr-setup-stamp
fi

# --- build ---------------------------------------------------------------------------------------------
step "npm run build" npm run --silent build
if [ -f native/Makefile ]; then
  step "make -C native" make -C native
fi
# code-server and its Node.js for /opt/lxr in every container, into $LXR_HOME/tools (cached: a bundle
# that is there is kept; the first build takes a few minutes).
tools_home="${LXR_HOME:-/var/lib/lxr}"
if [ ! -f "$tools_home/tools/$(bash infra/tools/build-tools.sh --version)/.complete" ]; then
  step "building the tools bundle (infra/tools/build-tools.sh)" env LXR_HOME="$tools_home" bash infra/tools/build-tools.sh
  echo "setup.sh: built the tools bundle in $tools_home/tools"
else
  step "linking the tools bundle" env LXR_HOME="$tools_home" bash infra/tools/build-tools.sh
fi

if [ "$LINK" = 1 ]; then
  cli="$ROOT/libs/cli/bin/lxr.js"
  [ -f "$ROOT/libs/cli/dist/main.js" ] || die "the CLI was not built (libs/cli/dist/main.js is missing)"
  chmod +x "$cli"
  if [ "$(readlink /usr/local/bin/lxr 2>/dev/null || true)" != "$cli" ]; then
    ln -sfn "$cli" /usr/local/bin/lxr || die "cannot link /usr/local/bin/lxr (run as root)"
    echo "setup.sh: linked /usr/local/bin/lxr -> $cli"
  fi
fi
