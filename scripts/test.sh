#!/usr/bin/env bash
# The whole test suite: unit, integration and end-to-end with real clients. Installs missing
# tools, starts services, then runs every test file. `npm test -- PATTERN` runs matching files.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm ci
npm run build --silent
bash scripts/ensure-tools.sh
bash scripts/ensure-services.sh

pattern="${1:-}"
mapfile -t files < <(find test -name '*.test.ts' | sort | grep -e "${pattern}")
[ ${#files[@]} -gt 0 ] || { echo "no test files match '${pattern}'" >&2; exit 1; }

exec node --import tsx --test --test-concurrency=2 --test-timeout=900000 --test-reporter=spec "${files[@]}"
