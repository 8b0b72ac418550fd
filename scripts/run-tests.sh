#!/usr/bin/env bash
# Runs the whole test suite with Node's test runner (its summary is what CI reads).
# Usage: scripts/run-tests.sh [file-or-dir ...]   (default: src and test)
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(src test)
mapfile -t files < <(find "${targets[@]}" -name '*.test.ts' -not -path '*/node_modules/*' | sort)
if [ ${#files[@]} -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
exec node --import tsx --test --test-timeout=300000 --test-concurrency="${TEST_CONCURRENCY:-2}" "${files[@]}"
