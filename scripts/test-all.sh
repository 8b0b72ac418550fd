#!/usr/bin/env bash
# The README's test command: installs everything the tests need on a fresh
# Debian machine (Debian packages only when missing, npm packages), builds,
# and runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
npm ci --no-audit --no-fund
npm run build
bash scripts/run-tests.sh
