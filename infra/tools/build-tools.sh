#!/usr/bin/env bash
# Builds lxr's in-container tools bundle — code-server and the Node.js runtime it needs, with every
# shared library and the dynamic loader they use — into $LXR_HOME/tools/<version>, and points
# $LXR_HOME/tools/current at it. The rootfs-builder mounts tools/current read-only at /opt/lxr in every
# container, so the bundle only ever refers to itself by /opt/lxr paths.
#
#   infra/tools/build-tools.sh            # build (or keep) the pinned bundle; prints its directory
#   infra/tools/build-tools.sh --version  # print the bundle version and exit
#
# Cached: a bundle that is already complete is not rebuilt (a second run takes milliseconds).
# Needs only the npm registry: Node.js comes from the registry's node-linux-<arch> package, whose
# include/ gives node-gyp the headers (npm_config_nodedir), so nothing is downloaded from nodejs.org.
set -euo pipefail

CODE_SERVER_VERSION=4.139.1
NODE_VERSION=24.22.3
# Bump when the layout below changes, so nodes rebuild.
BUNDLE_FORMAT=2

case "$(uname -m)" in
  x86_64) NODE_ARCH=x64 LOADER=ld-linux-x86-64.so.2 ;;
  aarch64) NODE_ARCH=arm64 LOADER=ld-linux-aarch64.so.1 ;;
  *)
    echo "build-tools.sh: unsupported architecture $(uname -m)" >&2
    exit 1
    ;;
esac
VERSION="code-server-${CODE_SERVER_VERSION}-node-${NODE_VERSION}-${NODE_ARCH}-f${BUNDLE_FORMAT}"
if [ "${1:-}" = --version ]; then
  echo "$VERSION"
  exit 0
fi

LXR_HOME="${LXR_HOME:-/var/lib/lxr}"
TOOLS="$LXR_HOME/tools"
BUNDLE="$TOOLS/$VERSION"
# Inside containers the bundle lives here; the loader and rpaths name it.
MOUNT=/opt/lxr

# Points tools/current at the bundle atomically: a new symlink renamed over the old one.
link_current() {
  ln -sfn "$VERSION" "$TOOLS/.current.$$"
  mv -T "$TOOLS/.current.$$" "$TOOLS/current"
}

if [ -f "$BUNDLE/.complete" ]; then
  [ "$(readlink "$TOOLS/current" 2>/dev/null || true)" = "$VERSION" ] || link_current
  echo "$BUNDLE"
  exit 0
fi

for tool in npm patchelf ldd make g++ python3 pkg-config; do
  command -v "$tool" >/dev/null || {
    echo "build-tools.sh: $tool is missing (run infra/setup.sh)" >&2
    exit 1
  }
done

mkdir -p "$TOOLS"
WORK="$(mktemp -d "$TOOLS/.build-$VERSION.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
OUT="$WORK/bundle"
mkdir -p "$OUT/bin" "$OUT/lib" "$WORK/node" "$WORK/npm"

started=$SECONDS
# --- Node.js from the npm registry --------------------------------------------------------------------
(cd "$WORK" && npm pack --silent "node-linux-$NODE_ARCH@$NODE_VERSION" >/dev/null)
tar -xzf "$WORK/node-linux-$NODE_ARCH-$NODE_VERSION.tgz" -C "$WORK/node" --strip-components=1
NODE="$WORK/node/bin/node"
"$NODE" --version >/dev/null

# --- code-server and its native modules ---------------------------------------------------------------
# npm itself runs on Node 24, so code-server's postinstall sees node/v24 in npm_config_user_agent and
# node-gyp compiles for Node 24's ABI against the headers in $WORK/node/include.
NPM_CLI="$(readlink -f "$(command -v npm)")"
(
  cd "$WORK/npm"
  export PATH="$WORK/node/bin:$PATH"
  export npm_config_nodedir="$WORK/node"
  export npm_config_jobs="$(nproc)"
  export JOBS="$(nproc)"
  "$NODE" "$NPM_CLI" install --global --prefix "$WORK/npm" --unsafe-perm --no-audit --no-fund \
    --loglevel=error "code-server@$CODE_SERVER_VERSION"
)
mv "$WORK/npm/lib/node_modules/code-server" "$OUT/code-server"
cp "$NODE" "$OUT/bin/node"

# Build leftovers are not needed at run time.
find "$OUT/code-server" -type d \( -name obj.target -o -name .deps -o -name .github \) -prune -exec rm -rf {} +
find "$OUT/code-server" -type f \( -name '*.o' -o -name '*.a' -o -name '*.tlog' -o -name '*.pdb' \) -delete

# --- shared libraries and the loader ------------------------------------------------------------------
# Every library node and the .node modules load, resolved on this host, is copied to lib/. The node
# binary's interpreter becomes /opt/lxr/lib/<loader> and every ELF file gets rpath /opt/lxr/lib, so
# the bundle never uses the image's libc — and nothing is put in LD_LIBRARY_PATH, so the shells and
# programs code-server starts run the image's own binaries with the image's own libc.
# Only modules this host's loader can load: packages also ship prebuilt binaries for other
# platforms (musl, other architectures), which ldd refuses and the bundle never loads.
modules=()
while read -r module; do
  ldd "$module" >/dev/null 2>&1 && modules+=("$module")
done < <(find "$OUT/code-server" -type f -name '*.node')
for elf in "$NODE" "${modules[@]}"; do
  ldd "$elf" | awk '/=>/ && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
done | sort -u >"$WORK/libs"
while read -r lib; do
  cp -L "$lib" "$OUT/lib/$(basename "$lib")"
done <"$WORK/libs"
cp -L "$(awk -v l="$LOADER" '$0 ~ l' "$WORK/libs" | head -n 1)" "$OUT/lib/$LOADER"
chmod 755 "$OUT/lib"/*

patchelf --set-interpreter "$MOUNT/lib/$LOADER" --force-rpath --set-rpath "$MOUNT/lib" "$OUT/bin/node"
for module in "${modules[@]}"; do
  patchelf --force-rpath --set-rpath "$MOUNT/lib" "$OUT/${module#"$OUT/"}"
done
for lib in "$OUT/lib"/*; do
  [ "$(basename "$lib")" = "$LOADER" ] || patchelf --force-rpath --set-rpath "$MOUNT/lib" "$lib"
done

# --- the launcher -------------------------------------------------------------------------------------
# A script run by the kernel through its #! line, so it needs no shell in the image. It runs
# code-server's server in its own process: code-server's entry would start a second Node.js as a
# child (its wrapper, there to restart the server after an in-app update, which lxr turns off) and
# pay that start again; the ide-launcher restarts code-server itself. --help, --version and the
# VS Code CLI verbs go through code-server's entry as usual.
cat >"$OUT/bin/code-server" <<EOF
#!$MOUNT/bin/node
// lxr's code-server launcher (bundle $VERSION).
const out = '$MOUNT/code-server/out/node';
const cli = require(out + '/cli.js');
const main = require(out + '/main.js');
(async () => {
  const cliArgs = cli.parse(process.argv.slice(2));
  const args = await cli.setDefaults(cliArgs, await cli.readConfigFile(cliArgs.config));
  if (args.help || args.version || main.shouldSpawnCliProcess(args)) return require(out + '/entry.js');
  await main.runCodeServer(args);
})().catch((error) => {
  console.error('code-server:', error);
  process.exit(1);
});
EOF
chmod 755 "$OUT/bin/code-server"

cat >"$OUT/VERSION" <<EOF
version=$VERSION
code_server=$CODE_SERVER_VERSION
node=$NODE_VERSION
format=$BUNDLE_FORMAT
build_seconds=$((SECONDS - started))
EOF
touch "$OUT/.complete"
chmod -R a+rX,go-w "$OUT"

rm -rf "$BUNDLE"
mv -T "$OUT" "$BUNDLE"
link_current
echo "$BUNDLE"
