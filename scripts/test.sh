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

# One S3 server (Ceph RGW) for every test file that uses it, stopped when the run ends.
if grep -lq 'helpers/s3.ts' "${files[@]}"; then
  s3_dir=$(mktemp -d "${TMPDIR:-/tmp}/berth-s3-XXXXXX")
  trap 'bash scripts/s3-stop.sh "$s3_dir" --purge' EXIT
  s3_started=$(date +%s%N)
  if s3_env=$(bash scripts/s3-start.sh "$s3_dir"); then
    echo "test: S3 (Ceph RGW) ready in $((($(date +%s%N) - s3_started) / 1000000)) ms" >&2
    set -a
    eval "$s3_env"
    set +a
  elif [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; then
    echo "test: the S3 server did not start; CI=true forbids skipping its tests" >&2
    exit 1
  fi
fi

status=0
node --import tsx --test --test-concurrency=2 --test-timeout=900000 --test-reporter=spec "${files[@]}" || status=$?

# Second pass: the test files that run Berth in-process (and the job service's) again, on
# PostgreSQL: each Berth (and each test database from helpers/test-database.ts) gets a fresh
# database, dropped after. Listed explicitly: the others choose their backend themselves (SQLite
# or PostgreSQL tests) or use no metadata database.
postgres_files=(
  test/integration/api-artifacts.test.ts test/integration/api-audit-logs.test.ts
  test/integration/api-configurations.test.ts test/integration/api-cve-allowlists.test.ts
  test/integration/api-jobservice.test.ts test/integration/api-members.test.ts
  test/integration/api-openapi.test.ts test/integration/api-probing.test.ts
  test/integration/api-project-metadata.test.ts test/integration/api-projects.test.ts
  test/integration/api-robots.test.ts test/integration/api-users.test.ts
  test/integration/audit-log.test.ts
  test/integration/auth-refusals.test.ts test/integration/concurrency.test.ts
  test/integration/cosign-sign.test.ts test/integration/crash.test.ts
  test/integration/immutable-tags.test.ts
  test/integration/ldap.test.ts test/integration/oidc.test.ts
  test/integration/permission-matrix.test.ts test/integration/pull-gate.test.ts
  test/integration/quotas.test.ts test/integration/registry-blobs.test.ts
  test/integration/registry-listing.test.ts test/integration/registry-manifests.test.ts
  test/integration/registry-robustness.test.ts test/integration/registry-uploads.test.ts
  test/integration/sbom-api.test.ts test/integration/scan-all.test.ts
  test/integration/scan-api.test.ts test/integration/scan-debian.test.ts
  test/integration/scan-malformed.test.ts test/integration/scan-node-app.test.ts
  test/integration/scan-npm-match.test.ts test/integration/scanner-adapter.test.ts
  test/integration/tls.test.ts test/integration/upload-service.test.ts
  test/integration/vulndb.test.ts test/integration/vulndb-feeds.test.ts
  test/integration/vulndb-sync.test.ts test/integration/vulnerability-gate.test.ts
  test/integration/job-service.test.ts
  test/e2e/containerd.test.ts test/e2e/docker.test.ts test/e2e/https.test.ts
  test/e2e/podman-buildah.test.ts test/e2e/skopeo.test.ts test/e2e/s3-registry.test.ts
)
mapfile -t pg_selected < <(printf '%s\n' "${files[@]}" | grep -xF -f <(printf '%s\n' "${postgres_files[@]}") || true)
if [ ${#pg_selected[@]} -gt 0 ]; then
  echo "test: again on PostgreSQL (${#pg_selected[@]} files)" >&2
  BERTH_TEST_DATABASE=postgres node --import tsx --test --test-concurrency=2 --test-timeout=900000 \
    --test-reporter=spec "${pg_selected[@]}" || status=$?
fi
exit "$status"
