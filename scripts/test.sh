#!/usr/bin/env bash
# Installs whatever is missing (Debian packages, npm dependencies, the build) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/setup.sh
npm run --silent lint
node scripts/run-tests.mjs
